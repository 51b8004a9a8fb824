"""The pages people use for API tokens: the account page's section (made, shown once,
listed, revoked), each token's page, the team's tab for its admins, and the API docs."""

import datetime
import html
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from studio.accounts.models import AuditEntry
from studio.api.models import (
    ApiTask,
    ApiToken,
    ApiTokenAddress,
    DeliveryStatus,
    OutgoingWebhook,
    token_hash,
)
from studio.api.services import NewToken, token_create
from tests.factories import make_job, make_membership, make_project, make_user

HTMX = {"HX-Request": "true", "HX-Target": "api-tokens"}
CREATE = "/account/tokens/new/"


def create(client: Client, **data: Any) -> Any:
    return client.post(CREATE, data, headers=HTMX)


def page_text(response: Any) -> str:
    return str(response.content.decode())


# --- made on the account page, shown once -----------------------------------------------


def test_a_member_creates_a_token_and_sees_its_secret_once(
    client: Client, bob: Any, project: Any
) -> None:
    client.force_login(bob)

    response = create(client, name="n8n workflow", project=project.pk)

    assert response.status_code == 200
    token = ApiToken.objects.get(user=bob)
    secret = response.context["new_token"].secret
    assert secret.startswith("studio_") and secret.startswith(token.prefix)
    assert f'value="{secret}"' in page_text(response)
    assert "it will not be shown again" in page_text(response)
    assert "no-store" in response["Cache-Control"]
    assert (token.name, token.project, token.team) == ("n8n workflow", project, project.team)
    assert secret not in page_text(client.get("/accounts/me/"))  # once only
    assert secret not in page_text(client.get(f"/account/tokens/{token.pk}/"))


def test_the_secret_is_stored_only_as_its_hash(client: Client, bob: Any, project: Any) -> None:
    client.force_login(bob)

    secret = create(client, name="cron", project=project.pk).context["new_token"].secret

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert secret not in dump.getvalue()
    assert secret[len("studio_") :] not in dump.getvalue()
    assert ApiToken.objects.get().token_hash == token_hash(secret)


def test_without_javascript_the_account_page_shows_the_new_secret(
    client: Client, bob: Any, project: Any
) -> None:
    client.force_login(bob)

    response = client.post(CREATE, {"name": "cron", "project": project.pk})

    assert response.status_code == 200
    assert "Display name" in page_text(response)  # the whole account page
    assert response.context["new_token"].secret in page_text(response)


def test_an_expiry_date_lets_the_token_work_through_that_day(
    client: Client, bob: Any, project: Any
) -> None:
    client.force_login(bob)
    day = timezone.now().date() + datetime.timedelta(days=30)

    create(client, name="trial", project=project.pk, expires=day.isoformat())

    expires_at = ApiToken.objects.get().expires_at
    assert expires_at == datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
    )


def test_the_account_page_lists_ones_tokens_with_prefix_use_and_state(
    client: Client, bob: Any, alice: Any, project: Any, bobs_token: NewToken
) -> None:
    ApiToken.objects.filter(pk=bobs_token.token.pk).update(
        last_used_at=timezone.now(), last_used_address="203.0.113.7"
    )
    expired = token_create(user=bob, project=project, name="last year")
    ApiToken.objects.filter(pk=expired.token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=1)
    )
    token_create(user=alice, project=project, name="alice's own")
    client.force_login(bob)

    text = page_text(client.get("/accounts/me/"))

    assert f"{bobs_token.token.prefix}…" in text
    assert "render farm" in text and "203.0.113.7" in text and "Launch" in text
    assert "Active" in text and "Expired" in text
    assert "alice&#x27;s own" not in text and "alice's own" not in text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "  "}, "name", "Give the token a name"),
        ({"expires": "2020-01-01"}, "expires", "That day has passed"),
        ({"expires": "soon"}, "expires", "Enter a date like"),
        ({"project": "other-team"}, "project", "Choose one of your projects"),
        ({"project": "999999"}, "project", "Choose one of your projects"),
    ],
)
def test_bad_input_is_refused_in_place_and_nothing_is_made(
    client: Client,
    bob: Any,
    project: Any,
    globex: Any,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    if data.get("project") == "other-team":
        data = {"project": str(make_project(team=globex, name="Secret").pk)}
    client.force_login(bob)

    response = create(client, **{"name": "script", "project": project.pk, **data})

    assert response.status_code == 422
    assert message in str(response.context["token_form"].errors[field])
    assert 'aria-invalid="true"' in page_text(response)
    assert not ApiToken.objects.exists()
    assert not AuditEntry.objects.filter(action="token.created").exists()


def test_a_viewer_sees_why_there_is_no_form_and_cannot_post_one(
    client: Client, vera: Any, project: Any
) -> None:
    client.force_login(vera)

    text = page_text(client.get("/accounts/me/"))
    response = create(client, name="sneaky", project=project.pk)

    assert "Viewers cannot create API tokens" in text
    assert 'id="token-create"' not in text
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_the_project_choice_offers_only_teams_where_one_generates(
    client: Client, bob: Any, project: Any, globex: Any
) -> None:
    make_membership(team=globex, user=bob, role="viewer")
    make_project(team=globex, name="Globex only")
    client.force_login(bob)

    text = page_text(client.get("/accounts/me/"))

    assert '<optgroup label="Acme">' in text and "Launch" in text
    assert "Globex only" not in text


def test_an_owner_revokes_their_token_from_the_account_page(
    client: Client, bob: Any, bobs_token: NewToken
) -> None:
    client.force_login(bob)

    response = client.post(f"/account/tokens/{bobs_token.token.pk}/revoke/", headers=HTMX)

    assert response.status_code == 200
    assert "Revoked “render farm”" in page_text(response)
    token = ApiToken.objects.get()
    assert token.state == "Revoked" and token.revoked_by == bob
    assert AuditEntry.objects.filter(action="token.revoked", actor=bob).exists()


# --- one token's page -------------------------------------------------------------------


def test_the_token_page_shows_where_it_was_used_and_its_webhook_deliveries(
    client: Client, bob: Any, project: Any, bobs_token: NewToken
) -> None:
    token = bobs_token.token
    ApiTokenAddress.objects.create(token=token, address="198.51.100.4")
    job = make_job(project=project, user=bob)
    api_task = ApiTask.objects.create(job=job, token=token, task_type="imagine")
    now = timezone.now()
    OutgoingWebhook.objects.create(
        api_task=api_task,
        token=token,
        task_status="processing",
        progress=40,
        status=DeliveryStatus.FAILED,
        attempts=5,
        response_code=500,
        error="The endpoint answered 500.",
        created_at=now - datetime.timedelta(minutes=5),
    )
    OutgoingWebhook.objects.create(
        api_task=api_task,
        token=token,
        task_status="completed",
        progress=100,
        status=DeliveryStatus.DELIVERED,
        attempts=1,
        response_code=200,
        created_at=now,
    )
    client.force_login(bob)

    response = client.get(f"/account/tokens/{token.pk}/")

    text = page_text(response)
    assert "198.51.100.4" in text
    assert str(api_task.task_id)[:8] in text
    assert "processing · 40%" in text and "The endpoint answered 500." in text
    assert text.index("Delivered") < text.index("Gave up")  # newest first


def test_the_token_page_shows_the_latest_hundred_deliveries(
    client: Client, bob: Any, project: Any, bobs_token: NewToken
) -> None:
    token = bobs_token.token
    api_task = ApiTask.objects.create(
        job=make_job(project=project, user=bob), token=token, task_type="imagine"
    )
    OutgoingWebhook.objects.bulk_create(
        OutgoingWebhook(api_task=api_task, token=token, task_status="pending") for _ in range(105)
    )
    client.force_login(bob)

    response = client.get(f"/account/tokens/{token.pk}/")

    assert len(response.context["deliveries"]) == 100
    assert "the latest 100 of 105" in page_text(response)


def test_an_admin_opens_and_revokes_a_members_token_on_its_page(
    client: Client, alice: Any, bobs_token: NewToken
) -> None:
    client.force_login(alice)
    url = f"/account/tokens/{bobs_token.token.pk}/"

    assert client.get(url).status_code == 200
    response = client.post(url + "revoke/", follow=True)

    assert response.redirect_chain[-1][0] == url
    assert "Revoked “render farm”" in page_text(response)
    assert ApiToken.objects.get().revoked_by == alice


@pytest.mark.parametrize("who", ["charlie", "vera"])
def test_the_token_page_is_a_404_for_anyone_but_its_owner_and_admins(
    client: Client, request: Any, bobs_token: NewToken, who: str
) -> None:
    client.force_login(request.getfixturevalue(who))
    url = f"/account/tokens/{bobs_token.token.pk}/"

    assert client.get(url).status_code == 404
    assert client.post(url + "revoke/").status_code == 404
    assert ApiToken.objects.get().is_usable


def test_another_member_cannot_see_or_revoke_bobs_token(
    client: Client, acme: Any, bobs_token: NewToken
) -> None:
    dora = make_user(username="dora")
    make_membership(team=acme, user=dora)
    client.force_login(dora)

    assert client.get(f"/account/tokens/{bobs_token.token.pk}/").status_code == 404
    assert client.post(f"/account/tokens/{bobs_token.token.pk}/revoke/").status_code == 404


# --- the team's tab ---------------------------------------------------------------------


def test_an_admin_sees_every_token_of_the_team(
    client: Client, alice: Any, bob: Any, acme: Any, bobs_token: NewToken, charlie: Any, globex: Any
) -> None:
    token_create(user=charlie, project=make_project(team=globex), name="globex bot")
    client.force_login(alice)

    text = page_text(client.get(f"/teams/{acme.pk}/api-tokens/"))

    assert "render farm" in text and bob.display_name in text
    assert f"{bobs_token.token.prefix}…" in text
    assert "globex bot" not in text
    assert 'aria-current="page">API tokens' in text


@pytest.mark.parametrize(("who", "status"), [("bob", 403), ("vera", 403), ("charlie", 404)])
def test_only_admins_open_the_team_tab(
    client: Client, request: Any, acme: Any, bobs_token: NewToken, who: str, status: int
) -> None:
    client.force_login(request.getfixturevalue(who))
    base = f"/teams/{acme.pk}/api-tokens/"

    assert client.get(base).status_code == status
    assert client.post(f"{base}{bobs_token.token.pk}/revoke/").status_code == status
    limits = {"requests_per_minute": 1}
    assert client.post(f"{base}{bobs_token.token.pk}/limits/", limits).status_code == status
    assert ApiToken.objects.get().is_usable


def test_an_admin_revokes_a_members_token_from_the_team_tab(
    client: Client, alice: Any, acme: Any, bobs_token: NewToken
) -> None:
    client.force_login(alice)

    response = client.post(
        f"/teams/{acme.pk}/api-tokens/{bobs_token.token.pk}/revoke/",
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "Revoked “render farm” of" in page_text(response)
    assert ApiToken.objects.get().revoked_by == alice


def test_an_admin_sets_a_tokens_limits_and_the_change_is_audited(
    client: Client, alice: Any, acme: Any, bobs_token: NewToken
) -> None:
    client.force_login(alice)

    response = client.post(
        f"/teams/{acme.pk}/api-tokens/{bobs_token.token.pk}/limits/",
        {"requests_per_minute": "10", "max_running": "2"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "Limits: 10 a minute · 2 at once" in page_text(response)
    token = ApiToken.objects.get()
    assert (token.requests_per_minute, token.max_running) == (10, 2)
    entry = AuditEntry.objects.get(action="token.limits_changed")
    assert entry.actor == alice and "render farm" in entry.target
    assert json.loads(json.dumps(entry.changes))["requests_per_minute"] == [60, 10]


def test_an_empty_jobs_at_once_means_the_teams_limit(
    client: Client, alice: Any, acme: Any, bobs_token: NewToken
) -> None:
    ApiToken.objects.update(max_running=1)
    client.force_login(alice)

    client.post(
        f"/teams/{acme.pk}/api-tokens/{bobs_token.token.pk}/limits/",
        {"requests_per_minute": "60", "max_running": ""},
        headers={"HX-Request": "true"},
    )

    assert ApiToken.objects.get().max_running is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"requests_per_minute": "0", "max_running": ""}, "At least 1 request a minute"),
        ({"requests_per_minute": "", "max_running": ""}, "Enter how many requests"),
        ({"requests_per_minute": "60", "max_running": "0"}, "At least 1 job at once"),
        ({"requests_per_minute": "60", "max_running": "4"}, "At most 3: the team runs 3"),
    ],
)
def test_limits_out_of_range_are_refused_on_the_tokens_row(
    client: Client, alice: Any, acme: Any, bobs_token: NewToken, data: Any, message: str
) -> None:
    client.force_login(alice)

    response = client.post(
        f"/teams/{acme.pk}/api-tokens/{bobs_token.token.pk}/limits/",
        data,
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 422
    assert message in page_text(response)
    assert "has-error" in page_text(response) and '<details class="token-limits" open' in (
        page_text(response)
    )
    token = ApiToken.objects.get()
    assert (token.requests_per_minute, token.max_running) == (60, None)
    assert not AuditEntry.objects.filter(action="token.limits_changed").exists()


# --- the docs ---------------------------------------------------------------------------


def test_the_api_page_shows_the_base_url_and_a_curl_to_paste(
    client: Client, bob: Any, project: Any, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = "https://studio.example.com/"
    client.force_login(bob)

    text = html.unescape(page_text(client.get("/api/")))

    assert 'curl -X POST "https://studio.example.com/api/v1/task"' in text
    assert "x-api-key: $STUDIO_TOKEN" in text
    assert 'curl "https://studio.example.com/api/v1/task/$TASK_ID"' in text
    assert "https://studio.example.com/account/info" in text
    assert "Launch" in text  # the member's project
    assert "valid for <strong>7 days</strong>" in text
    assert "https://studio.example.com" in text
    assert "Retry-After" in text and "x-webhook-secret" in text
    assert 'href="/api/openapi.json"' in text
    for task_type in ("imagine", "upscale", "variation", "describe", "blend", "seed"):
        assert f"<code>{task_type}</code>" in text


def test_the_api_page_is_linked_from_the_top_bar_for_a_viewer_too(
    client: Client, vera: Any
) -> None:
    client.force_login(vera)

    response = client.get("/api/")

    assert response.status_code == 200
    assert 'href="/api/" id="api-link" aria-current="page"' in page_text(response)
    assert "Viewers cannot create tokens" in page_text(response)


def test_the_api_page_asks_a_visitor_to_log_in(client: Client) -> None:
    response = client.get("/api/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
