"""The audit log: every admin action writes one entry (who, what, on what, and the
fields it changed as before → after), the money pages' saves too; a key appears only
as its label and last four characters."""

import datetime
import json
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from studio.accounts import audit
from studio.accounts.models import AuditEntry, Invite, Membership, ProviderKey
from studio.accounts.tasks import check_provider_key
from studio.providers.piapi import AccountInfo, PiAPI
from tests.billing.admin_helpers import at, hx

SECRET = "pk-live-7f3c2b1a9e8d9a1f"
ROTATED = "pk-live-0c0ffee0b2c3"


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    alice.first_name, alice.last_name = "Alice", "Martin"
    alice.save()
    return client


def only_entry(action: str) -> AuditEntry:
    return AuditEntry.objects.get(action=action)


def everything_logged() -> str:
    return json.dumps(list(AuditEntry.objects.values("action", "target", "changes", "actor_name")))


def test_each_key_action_is_logged_without_the_key(
    alice_client: Client, alice: Any, acme: Any
) -> None:
    base = f"/accounts/teams/{acme.pk}/keys"
    hx(alice_client, f"{base}/add/", {"label": "Production", "key": SECRET})
    key = ProviderKey.objects.get(label="Production")
    hx(alice_client, f"{base}/{key.pk}/rotate/", {"key": ROTATED})
    hx(alice_client, f"{base}/{key.pk}/move/", {"direction": "first"})
    hx(alice_client, f"{base}/{key.pk}/disable/")
    hx(alice_client, f"{base}/{key.pk}/enable/")
    info = AccountInfo(available_credits=5, used_credits=0, equivalent_in_usd=0.0, plan="free")
    with mock.patch.object(PiAPI, "account_info", autospec=True, return_value=info):
        check_provider_key.call(key.pk, alice.pk)
    hx(alice_client, f"{base}/{key.pk}/delete/")

    assert list(AuditEntry.objects.order_by("pk").values_list("action", "target", "changes")) == [
        (
            "key.added",
            "Production …9a1f",
            {"label": [None, "Production"], "provider": [None, "PiAPI"]},
        ),
        ("key.rotated", "Production …9a1f", {"last4": ["9a1f", "b2c3"]}),
        ("key.reordered", "Production …b2c3", {"position": [2, 1]}),
        ("key.disabled", "Production …b2c3", {"is_active": [True, False]}),
        ("key.enabled", "Production …b2c3", {"is_active": [False, True]}),
        ("key.tested", "Production …b2c3", {"result": [None, "Plan free · 5 credits ≈ $0.00"]}),
        ("key.deleted", "Production …b2c3", {"label": ["Production", None]}),
    ]
    assert set(AuditEntry.objects.values_list("actor_name", flat=True)) == {"Alice Martin"}
    logged = everything_logged()
    for secret in (SECRET, ROTATED, "7f3c2b1a", "0c0ffee0"):
        assert secret not in logged


def test_member_actions_are_logged(alice_client: Client, acme: Any, bob: Any, vera: Any) -> None:
    base = f"/accounts/teams/{acme.pk}/members"
    bob_membership = Membership.objects.get(user=bob)
    hx(alice_client, f"{base}/{bob_membership.pk}/role/", {"role": "admin"})
    hx(alice_client, f"{base}/{Membership.objects.get(user=vera).pk}/remove/")
    hx(
        alice_client,
        f"{base}/add/",
        {"username": "dana", "password": "a-long-and-unusual-passphrase", "role": "member"},
    )

    assert only_entry("member.role_changed").changes == {"role": ["member", "admin"]}
    assert only_entry("member.role_changed").target == "bob"
    assert only_entry("member.removed").changes == {"role": ["viewer", None]}
    created = only_entry("member.created")
    assert (created.target, created.changes) == (
        "dana",
        {"username": [None, "dana"], "role": [None, "member"]},
    )
    assert "a-long-and-unusual-passphrase" not in everything_logged()


def test_invite_actions_are_logged_without_the_token(
    alice_client: Client, acme: Any, client: Client
) -> None:
    hx(alice_client, f"/accounts/teams/{acme.pk}/invites/", {"role": "viewer", "days": "1"})
    first = Invite.objects.get()
    hx(alice_client, f"/accounts/teams/{acme.pk}/invites/{first.pk}/revoke/")

    created = only_entry("invite.created")
    assert created.target == "a new viewer"
    assert created.changes["role"] == [None, "viewer"]
    assert only_entry("invite.revoked").changes == {"role": ["viewer", None]}
    assert first.token not in everything_logged()


def test_team_settings_are_logged_with_before_and_after(alice_client: Client, acme: Any) -> None:
    hx(
        alice_client,
        f"/accounts/teams/{acme.pk}/settings/",
        {"team-name": "Acme Studio", "team-default_mode": "turbo"},
    )

    assert only_entry("team.renamed").changes == {"name": ["Acme", "Acme Studio"]}
    assert only_entry("team.settings_changed").changes == {"default_mode": ["fast", "turbo"]}


def test_saving_without_changing_anything_writes_nothing(alice_client: Client, acme: Any) -> None:
    hx(
        alice_client,
        f"/accounts/teams/{acme.pk}/settings/",
        {"team-name": "Acme", "team-default_mode": "fast"},
    )
    hx(
        alice_client,
        f"/teams/{acme.pk}/money/limits/",
        {"turbo_roles": ["admin"], "concurrency_limit": "3"},
    )

    assert not AuditEntry.objects.exists()


def test_the_money_pages_saves_are_logged(alice_client: Client, acme: Any, bob: Any) -> None:
    money = f"/teams/{acme.pk}/money"
    hx(
        alice_client,
        f"{money}/prices/piapi/",
        {"relax": "", "fast": "0.05", "fast.upscale": "0.02"},
    )
    hx(alice_client, f"{money}/prices/piapi/", {"fast": "0.05", "fast.upscale": ""})
    hx(alice_client, f"{money}/prices/legnext/", {"turbo.upscale_creative": "0.3"})
    hx(alice_client, f"{money}/budget/", {"total": "250", "relax": "", "fast": "", "turbo": "0"})
    bob_membership = Membership.objects.get(user=bob)
    hx(
        alice_client,
        f"{money}/members/{bob_membership.pk}/budget/",
        {"total": "15", "relax": "", "fast": "", "turbo": ""},
    )
    hx(
        alice_client,
        f"{money}/limits/",
        {"turbo_roles": ["admin", "member"], "concurrency_limit": "10"},
    )

    set_prices, cleared, legnext = AuditEntry.objects.filter(action="prices.changed").order_by("pk")
    assert (set_prices.target, set_prices.changes) == (
        "PiAPI",
        {"fast": [None, "$0.05"], "Upscale in Fast": [None, "$0.02"]},
    )
    assert (cleared.target, cleared.changes) == ("PiAPI", {"Upscale in Fast": ["$0.02", None]})
    assert (legnext.target, legnext.changes) == (
        "LegNext",
        {"Upscale (Creative) in Turbo": [None, "$0.30"]},
    )
    team_budget, bob_budget = AuditEntry.objects.filter(action="budget.changed").order_by("pk")
    assert (team_budget.target, team_budget.changes) == (
        "the whole team",
        {"total": ["$100.00", "$250.00"], "turbo": [None, "$0.00"]},
    )
    assert (bob_budget.target, bob_budget.changes) == ("bob", {"total": [None, "$15.00"]})
    assert only_entry("limits.changed").changes == {
        "turbo_roles": ["Admins", "Admins, Members"],
        "concurrency_limit": [3, 10],
    }


def test_a_refused_save_is_not_logged(alice_client: Client, acme: Any) -> None:
    hx(alice_client, f"/teams/{acme.pk}/money/prices/piapi/", {"relax": "x", "fast": "1"})
    hx(alice_client, f"/accounts/teams/{acme.pk}/keys/add/", {"label": "", "key": SECRET})

    assert not AuditEntry.objects.exists()


# --- the page ---------------------------------------------------------------------------


def entry(team: Any, actor: Any, action: str, when: datetime.datetime, **fields: Any) -> Any:
    made = audit.record(
        team=team,
        actor=actor,
        action=action,
        target=fields.pop("target", "Production …9a1f"),
        changes=fields.pop("changes", None),
    )
    AuditEntry.objects.filter(pk=made.pk).update(created_at=when)
    return made


def test_the_log_reads_as_sentences_newest_first(
    alice_client: Client, acme: Any, alice: Any, bob: Any
) -> None:
    entry(acme, alice, "key.added", at("2026-03-01"))
    entry(acme, alice, "key.rotated", at("2026-03-02"), changes={"last4": ("9a1f", "b2c3")})

    html = alice_client.get(f"/accounts/teams/{acme.pk}/audit/").content.decode()

    assert "<strong>Alice Martin</strong> rotated key <strong" in html
    assert "Production …9a1f</strong>" in html
    assert html.index("rotated key") < html.index("added key")
    assert 'class="change-field">Key ending</span>' in html
    assert '<span class="change-before">9a1f</span>' in html
    assert '<span class="change-after">b2c3</span>' in html


def test_the_log_keeps_the_name_of_someone_who_left(
    alice_client: Client, acme: Any, alice: Any, bob: Any
) -> None:
    bob_membership = Membership.objects.get(user=bob)
    bob_membership.role = "admin"
    bob_membership.save()
    entry(acme, bob, "key.deleted", at("2026-03-01"))
    bob.delete()

    html = alice_client.get(f"/accounts/teams/{acme.pk}/audit/").content.decode()

    assert "<strong>bob</strong> deleted key" in html


def test_the_log_is_filtered_by_who_what_and_when(
    alice_client: Client, acme: Any, alice: Any, bob: Any, globex: Any
) -> None:
    entry(acme, alice, "key.added", at("2026-03-01"), target="A …0001")
    entry(acme, alice, "member.removed", at("2026-03-05"), target="someone")
    entry(acme, bob, "key.rotated", at("2026-03-05"), target="B …0002")
    entry(acme, alice, "key.deleted", at("2026-03-09"), target="C …0003")
    entry(globex, None, "key.added", at("2026-03-05"), target="Globex …9999")
    url = f"/accounts/teams/{acme.pk}/audit/"

    def targets(**query: Any) -> list[str]:
        response = alice_client.get(url, query)
        return [row.entry.target for row in response.context["rows"]]

    assert targets() == ["C …0003", "B …0002", "someone", "A …0001"]
    assert targets(actor=bob.pk) == ["B …0002"]
    assert targets(action="key") == ["C …0003", "B …0002", "A …0001"]
    assert targets(date_from="2026-03-05", date_to="2026-03-05") == ["B …0002", "someone"]
    assert targets(actor=alice.pk, action="key", date_from="2026-03-02") == ["C …0003"]
    # A filter that does not read is shown with its error and ignored.
    response = alice_client.get(url, {"date_from": "yesterday", "action": "member"})
    assert "Enter a date like 2026-01-31." in response.content.decode()
    assert [row.entry.target for row in response.context["rows"]] == ["someone"]


def test_the_log_comes_fifty_entries_at_a_time(alice_client: Client, acme: Any, alice: Any) -> None:
    start = at("2026-03-01")
    for minute in range(120):
        entry(
            acme,
            alice,
            "key.tested",
            start + datetime.timedelta(minutes=minute),
            target=f"K{minute:03}",
        )
    url = f"/accounts/teams/{acme.pk}/audit/"

    first = alice_client.get(url, {"action": "key"})
    more = alice_client.get(url, {"action": "key", "page": "3"}, headers={"HX-Request": "true"})

    rows = first.context["rows"]
    assert (len(rows), rows[0].entry.target, rows[-1].entry.target) == (50, "K119", "K070")
    html = first.content.decode()
    assert "120 entries match the filters · page 1 of 3" in html
    assert 'hx-get="?action=key&amp;page=2"' in html
    assert [row.entry.target for row in more.context["rows"]][:2] == ["K019", "K018"]
    assert "<html" not in more.content.decode()  # only the rows, to append
    assert "Load more" not in more.content.decode()  # the last page


def test_another_teams_log_is_not_shown(
    alice_client: Client, acme: Any, globex: Any, charlie: Any
) -> None:
    entry(globex, charlie, "key.added", at("2026-03-01"), target="Globex …9999")

    html = alice_client.get(f"/accounts/teams/{acme.pk}/audit/").content.decode()

    assert "Globex …9999" not in html and "charlie" not in html
    assert "No entries yet" in html
