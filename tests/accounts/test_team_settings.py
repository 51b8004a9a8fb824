"""The Team page: the hub to the team's other pages, its name and default mode, and the
Turbo and concurrency form (billing's own, included)."""

from typing import Any

import pytest
from django.test import Client

from studio.accounts.models import AuditEntry, Team
from tests.billing.admin_helpers import hx
from tests.factories import make_team


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


def save(client: Client, team: Any, *, name: str, mode: str = "fast") -> Any:
    return hx(
        client,
        f"/accounts/teams/{team.pk}/settings/",
        {"team-name": name, "team-default_mode": mode},
    )


def test_the_team_page_links_to_members_keys_audit_and_money(
    alice_client: Client, acme: Any
) -> None:
    html = alice_client.get(f"/accounts/teams/{acme.pk}/").content.decode()

    for url in ["members/", "keys/", "audit/"]:
        assert f'href="/accounts/teams/{acme.pk}/{url}"' in html
    assert f'href="/teams/{acme.pk}/money/"' in html
    # The default key, as its label and last four characters.
    assert 'default <span class="nowrap">Default …-key</span>' in html


def test_the_team_page_warns_when_no_key_can_run_jobs(alice_client: Client, acme: Any) -> None:
    acme.provider_keys.update(is_active=False)

    html = alice_client.get(f"/accounts/teams/{acme.pk}/").content.decode()

    assert "No active key: jobs cannot run" in html


def test_an_admin_renames_the_team(alice_client: Client, acme: Any) -> None:
    response = save(alice_client, acme, name="  Acme Studio  ")

    assert response.status_code == 200
    assert "Saved" in response.content.decode()
    acme.refresh_from_db()
    assert acme.name == "Acme Studio"
    # The page's heading follows without a reload.
    assert 'id="team-subtitle" hx-swap-oob="true">Acme Studio' in response.content.decode()


def test_a_name_another_team_has_is_refused(alice_client: Client, acme: Any) -> None:
    make_team(name="Globex")

    response = save(alice_client, acme, name="Globex")

    assert response.status_code == 422
    assert "Another team has this name." in response.content.decode()
    acme.refresh_from_db()
    assert acme.name == "Acme"


def test_a_blank_name_is_refused(alice_client: Client, acme: Any) -> None:
    response = save(alice_client, acme, name="   ")

    assert response.status_code == 422
    assert "Give the team a name." in response.content.decode()


def test_the_default_mode_is_fast_until_an_admin_changes_it(
    alice_client: Client, acme: Any
) -> None:
    assert Team.objects.get(pk=acme.pk).default_mode == "fast"

    save(alice_client, acme, name="Acme", mode="relax")

    acme.refresh_from_db()
    assert acme.default_mode == "relax"
    assert AuditEntry.objects.get().action == "team.settings_changed"


def test_an_unknown_mode_is_refused(alice_client: Client, acme: Any) -> None:
    response = save(alice_client, acme, name="Acme", mode="warp")

    assert response.status_code == 422
    acme.refresh_from_db()
    assert acme.default_mode == "fast"


def test_without_javascript_a_saved_form_goes_back_to_the_team_page(
    alice_client: Client, acme: Any
) -> None:
    response = alice_client.post(
        f"/accounts/teams/{acme.pk}/settings/",
        {"team-name": "Acme Two", "team-default_mode": "fast"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/teams/{acme.pk}/"


def test_the_turbo_and_concurrency_form_is_billings_own(alice_client: Client, acme: Any) -> None:
    html = alice_client.get(f"/accounts/teams/{acme.pk}/").content.decode()

    assert f'hx-post="/teams/{acme.pk}/money/limits/"' in html
    assert 'name="concurrency_limit"' in html and 'value="3"' in html

    response = hx(
        alice_client,
        f"/teams/{acme.pk}/money/limits/",
        {"turbo_roles": ["admin", "member"], "concurrency_limit": "10"},
    )

    assert response.status_code == 200
    acme.refresh_from_db()
    assert (acme.concurrency_limit, acme.turbo_roles) == (10, "admin,member")
