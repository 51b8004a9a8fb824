from typing import Any

from django.test import Client

from tests.security.routes import routes

# The provider's webhook cannot carry a CSRF token; its per-job secret stands in for it.
# The sandbox emulates the provider's own API (off in production) and is exempt like it.
# Studio's API is called by scripts with a token in x-api-key, never with a session cookie.
EXEMPT = {
    "generation:webhook",
    "generation:webhook-token",
    "api:task-create",
    "api:task",
    "api:account-info",
}


def test_the_webhooks_and_the_token_api_are_the_only_csrf_exempt_views_of_studio() -> None:
    exempt = {
        route.name
        for route in routes()
        if getattr(route.callback, "csrf_exempt", False)
        and not route.name.startswith("sandbox:")
        and not route.route.startswith("sandbox/")
    }

    assert exempt == EXEMPT


def test_every_change_without_a_csrf_token_is_refused(
    acme_things: dict[str, Any], alice: Any
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    for route in routes():
        if route.name in EXEMPT or route.route.startswith(("sandbox/", "static/")):
            continue
        try:
            path = route.path(acme_things)
        except KeyError:
            path = None
        if path is None:
            continue
        response = client.post(path, {"prompt": "x"}, headers={"HX-Request": "true"})
        assert response.status_code == 403, (path, response.status_code)
        assert b"CSRF" in response.content, path


def test_htmx_requests_carry_the_token_and_pass(client: Client, alice: Any, project: Any) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    page = strict.get(f"/projects/{project.pk}/")
    token = page.context["csrf_token"]
    assert f'"X-CSRFToken": "{token}"' in page.content.decode()  # hx-headers on <body>

    response = strict.post(
        f"/projects/{project.pk}/jobs/",
        {"prompt": "a fox", "aspect_ratio": "1:1", "mode": "fast"},
        headers={"HX-Request": "true", "X-CSRFToken": str(token)},
    )

    assert response.status_code == 201
