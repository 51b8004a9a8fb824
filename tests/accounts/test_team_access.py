"""Only the team's admins reach its administration: outsiders get a 404 (the team's
existence stays private), members and viewers a 403, strangers the login page."""

from typing import Any

import pytest
from django.test import Client

from studio.accounts.models import AuditEntry, Invite, Membership, ProviderKey, Team

PAGES = ["", "keys/", "keys/{key}/", "members/", "audit/"]
POSTS = [
    "settings/",
    "keys/add/",
    "keys/{key}/test/",
    "keys/{key}/rotate/",
    "keys/{key}/disable/",
    "keys/{key}/enable/",
    "keys/{key}/delete/",
    "keys/{key}/move/",
    "members/add/",
    "members/{bob_membership}/role/",
    "members/{bob_membership}/remove/",
    "invites/",
    "invites/{invite}/revoke/",
]
STATUS_BY_PERSONA = {"alice": 200, "bob": 403, "vera": 403, "charlie": 404}
FORM = {
    "team-name": "Renamed",
    "team-default_mode": "turbo",
    "label": "Spare",
    "key": "pk-live-spare-0001",
    "direction": "first",
    "username": "dana",
    "password": "a-long-and-unusual-passphrase",
    "role": "viewer",
    "days": "7",
}


@pytest.fixture
def urls(acme: Any, alice: Any, bob: Any, vera: Any, charlie: Any) -> dict[str, Any]:
    key = ProviderKey.objects.get(team=acme)
    invite = Invite.objects.create(team=acme, role="member", created_by=alice)
    ids = {
        "key": key.pk,
        "bob_membership": Membership.objects.get(team=acme, user=bob).pk,
        "invite": invite.pk,
    }
    return {"team": acme.pk, "ids": ids}


def as_persona(client: Client, request: Any, persona: str) -> Client:
    client.force_login(request.getfixturevalue(persona))
    return client


def state(team: Team) -> list[Any]:
    """Everything a team admin's action could change."""
    team.refresh_from_db()
    return [
        (team.name, team.default_mode),
        list(ProviderKey.objects.values_list("label", "encrypted_key", "is_active", "position")),
        list(Membership.objects.values_list("user__username", "role")),
        list(Invite.objects.values_list("role", "revoked_at")),
        AuditEntry.objects.count(),
    ]


@pytest.mark.parametrize("persona", STATUS_BY_PERSONA)
@pytest.mark.parametrize("page", PAGES)
def test_each_team_page_is_for_the_teams_admins_only(
    client: Client, request: Any, urls: dict[str, Any], persona: str, page: str
) -> None:
    url = f"/accounts/teams/{urls['team']}/" + page.format(**urls["ids"])

    response = as_persona(client, request, persona).get(url, headers={"HX-Request": "true"})

    assert response.status_code == STATUS_BY_PERSONA[persona]


@pytest.mark.parametrize("page", PAGES)
def test_a_stranger_is_sent_to_log_in(client: Client, urls: dict[str, Any], page: str) -> None:
    url = f"/accounts/teams/{urls['team']}/" + page.format(**urls["ids"])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("persona", ["bob", "vera", "charlie", None])
@pytest.mark.parametrize("action", POSTS)
def test_no_one_but_an_admin_can_change_the_team(
    client: Client, request: Any, urls: dict[str, Any], persona: str | None, action: str, acme: Any
) -> None:
    before = state(acme)
    if persona:
        as_persona(client, request, persona)
    url = f"/accounts/teams/{urls['team']}/" + action.format(**urls["ids"])

    response = client.post(url, FORM, headers={"HX-Request": "true"})

    assert response.status_code == (STATUS_BY_PERSONA[persona] if persona else 302)
    assert state(acme) == before


@pytest.mark.parametrize("action", POSTS)
def test_an_admin_can_post_to_every_team_form(
    client: Client, request: Any, urls: dict[str, Any], action: str
) -> None:
    url = f"/accounts/teams/{urls['team']}/" + action.format(**urls["ids"])

    response = as_persona(client, request, "alice").post(url, FORM, headers={"HX-Request": "true"})

    assert response.status_code == 200


@pytest.mark.parametrize("action", [p for p in POSTS if "{" in p] + ["keys/{key}/"])
def test_an_admin_of_another_team_cannot_reach_acmes_things_through_their_own_team(
    client: Client, request: Any, urls: dict[str, Any], globex: Any, action: str, acme: Any
) -> None:
    before = state(acme)
    url = f"/accounts/teams/{globex.pk}/" + action.format(**urls["ids"])
    charlie_client = as_persona(client, request, "charlie")

    if action.endswith("keys/{key}/"):
        # The polled row of a key that is not the team's (or no longer exists): 286
        # stops the polling and the empty body removes the row. Nothing of Acme's shows.
        response = charlie_client.get(url, headers={"HX-Request": "true"})
        assert (response.status_code, response.content) == (286, b"")
    else:
        response = charlie_client.post(url, FORM, headers={"HX-Request": "true"})
        assert response.status_code == 404
    assert state(acme) == before
