"""Object-level permissions everywhere: every URL of the project, requested by someone
from another team, by a viewer (for changes) and by a visitor who is not logged in,
answers 404/403 or sends them to log in — and changes nothing."""

from typing import Any

import pytest
from django.test import Client

from studio.billing.models import Budget, LedgerEntry, Price
from studio.generation.models import Job
from tests.security.routes import Route, routes

# Public by design, each guarded another way (tested where they live).
PUBLIC = {
    "accounts:login",  # the way in
    "accounts:logout",
    "generation:webhook",  # the provider's: a per-job secret (tests/generation/test_webhook.py)
    "generation:webhook-token",  # the same, the secret in the URL (tests/generation)
    "generation:mask",  # a drawn mask for the provider: a token (tests/generation)
    "inputs:public",  # input images for the provider: an unguessable token (tests/inputs)
    "accounts:invite",  # an invite link: its token (tests/accounts)
    "accounts:password-reset",  # a forgotten password: the mailed token (tests/accounts)
    "accounts:password-reset-sent",
    "accounts:password-reset-confirm",
    "accounts:password-reset-complete",
    # One's own account: anyone logged in has one, and it holds no team's things
    # (tests/accounts/test_account.py); a visitor is sent to log in like everywhere.
    "accounts:account",
    "accounts:account-profile",
    "accounts:account-theme",
    "accounts:password-change",
    "accounts:password-change-done",
    # One's own API tokens: made in a project of one's own teams (tests/api/test_token_pages.py).
    "api:token-create",
    # The API's docs: for anyone logged in, and about no team's things.
    "api:docs",
    # The API itself: a personal access token in x-api-key, no session (tests/api).
    "api:task-create",
    "api:task",
    "api:account-info",
    "api:file",  # a result behind a signed, expiring link (tests/api)
    "api:openapi",  # the API's description: documentation, no team's things (tests/api)
    "sharing:public",  # public share links: their token, live or not (tests/sharing)
    "sharing:public-image",
    "sharing:image",
}
OUTSIDER_OK = {403, 404, 405}
LOGIN = "/accounts/login/"


def guarded_routes() -> list[Route]:
    return [
        route
        for route in routes()
        if route.name not in PUBLIC
        and not route.name.startswith(("sandbox:", "admin:"))
        and not route.route.startswith(("sandbox/", "admin/", "static/"))
    ]


def state(acme: Any) -> tuple[int, ...]:
    return (
        Job.objects.count(),
        LedgerEntry.objects.count(),
        Price.objects.count(),
        Budget.objects.count(),
        acme.memberships.count(),
        acme.provider_keys.count(),
    )


def test_the_walk_covers_the_pages_that_matter() -> None:
    names = {route.name for route in guarded_routes()}

    assert {"generation:project", "generation:job", "generation:image", "billing:settings"} <= names


@pytest.mark.parametrize("method", ["get", "post"])
def test_someone_from_another_team_gets_nothing(
    client: Client, acme_things: dict[str, Any], charlie: Any, acme: Any, method: str
) -> None:
    client.force_login(charlie)
    before = state(acme)

    for route in guarded_routes():
        path = route.path(acme_things)
        response = getattr(client, method)(path)
        if route.name == "projects:home":
            assert response.status_code in (200, 302, 405)  # their own projects only
            assert "Launch" not in response.content.decode()
            continue
        assert response.status_code in OUTSIDER_OK, (method, path, response.status_code)

    assert state(acme) == before


def test_a_viewer_can_look_but_not_change(
    client: Client, acme_things: dict[str, Any], vera: Any, acme: Any
) -> None:
    client.force_login(vera)
    before = state(acme)

    for route in guarded_routes():
        path = route.path(acme_things)
        response = client.post(path, {"prompt": "x", "action": "upscale1", "name": "x"})
        assert response.status_code in OUTSIDER_OK | {400}, (path, response.status_code)

    assert state(acme) == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in(
    client: Client, acme_things: dict[str, Any], acme: Any, method: str
) -> None:
    before = state(acme)

    for route in guarded_routes():
        path = route.path(acme_things)
        response = getattr(client, method)(path)
        if response.status_code == 302:
            assert response["Location"].startswith(LOGIN), (path, response["Location"])
        else:
            assert response.status_code in OUTSIDER_OK, (method, path, response.status_code)

    assert state(acme) == before
