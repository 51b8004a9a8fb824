"""Only the team's admins reach its money pages: outsiders get a 404 (the team's
existence stays private), members and viewers a 403, strangers the login page."""

from typing import Any

import pytest
from django.test import Client

from studio.accounts.models import Membership
from studio.billing.models import Price

PAGES = ["money/", "spend/", "ledger/", "ledger.csv"]
POSTS = [
    "money/prices/piapi/",
    "money/prices/legnext/",
    "money/budget/",
    "money/members/{bob_membership}/budget/",
    "money/limits/",
]
STATUS_BY_PERSONA = {"alice": 200, "bob": 403, "vera": 403, "charlie": 404}


@pytest.fixture
def urls(acme: Any, alice: Any, bob: Any, vera: Any, charlie: Any) -> dict[str, Any]:
    price = Price.objects.create(
        team=acme, provider="legnext", mode="fast", operation="upscale", amount="0.02"
    )
    ids = {"bob_membership": Membership.objects.get(team=acme, user=bob).pk}
    return {"team": acme.pk, "ids": ids, "price": price}


def as_persona(client: Client, request: Any, persona: str) -> Client:
    client.force_login(request.getfixturevalue(persona))
    return client


@pytest.mark.parametrize("persona", STATUS_BY_PERSONA)
@pytest.mark.parametrize("page", PAGES)
def test_each_money_page_is_for_the_teams_admins_only(
    client: Client, request: Any, urls: dict[str, Any], persona: str, page: str
) -> None:
    response = as_persona(client, request, persona).get(f"/teams/{urls['team']}/{page}")

    assert response.status_code == STATUS_BY_PERSONA[persona]


@pytest.mark.parametrize("persona", ["bob", "vera", "charlie"])
@pytest.mark.parametrize("action", POSTS)
def test_no_one_but_an_admin_can_change_the_money_settings(
    client: Client, request: Any, urls: dict[str, Any], persona: str, action: str, acme: Any
) -> None:
    prices_before = list(Price.objects.values_list("provider", "mode", "operation", "amount"))
    url = f"/teams/{urls['team']}/" + action.format(**urls["ids"])

    response = as_persona(client, request, persona).post(
        url,
        {"relax": "9", "fast": "9", "turbo": "9", "total": "1", "concurrency_limit": "30"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == STATUS_BY_PERSONA[persona]
    assert (
        list(Price.objects.values_list("provider", "mode", "operation", "amount")) == prices_before
    )
    acme.refresh_from_db()
    assert acme.concurrency_limit == 3


@pytest.mark.parametrize("action", POSTS)
def test_an_admin_can_post_to_every_settings_form(
    client: Client, request: Any, urls: dict[str, Any], action: str
) -> None:
    url = f"/teams/{urls['team']}/" + action.format(**urls["ids"])

    response = as_persona(client, request, "alice").post(
        url,
        {
            "relax": "0.015",
            "fast": "0.045",
            "turbo": "0.1",
            "fast.pan": "0.03",
            "total": "10",
            "concurrency_limit": "3",
            "turbo_roles": ["admin"],
        },
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_a_stranger_is_sent_to_log_in(client: Client, urls: dict[str, Any], page: str) -> None:
    response = client.get(f"/teams/{urls['team']}/{page}")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("action", POSTS)
def test_a_stranger_cannot_post_and_is_sent_to_log_in(
    client: Client, urls: dict[str, Any], action: str
) -> None:
    url = f"/teams/{urls['team']}/" + action.format(**urls["ids"])

    response = client.post(url, {"total": "1"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Price.objects.count() == 1


def test_a_team_that_does_not_exist_is_a_404(client: Client, alice: Any) -> None:
    client.force_login(alice)

    assert client.get("/teams/999999/money/").status_code == 404


def test_the_settings_forms_refuse_a_get(client: Client, alice: Any, acme: Any) -> None:
    client.force_login(alice)

    assert client.get(f"/teams/{acme.pk}/money/prices/piapi/").status_code == 405


def test_prices_of_a_provider_studio_does_not_know_are_a_404(client: Client, alice: Any) -> None:
    client.force_login(alice)
    team = alice.memberships.get().team_id

    response = client.post(f"/teams/{team}/money/prices/midjourney/", {"fast": "1"})

    assert response.status_code == 404
