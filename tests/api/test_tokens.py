"""A personal access token opens Studio's API to one member in one project, within the
team's rules: refused when unknown, revoked, expired, out of the team, over its rate or
over budget — each with PiAPI's error envelope and a sentence a person understands."""

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from studio.accounts.models import AuditEntry, Membership, Role
from studio.api.models import ApiTask, ApiToken
from studio.api.services import TokenRefused, token_create, token_revoke
from studio.billing.models import Budget, LedgerEntry
from studio.generation import queue
from studio.generation.models import Job
from tests.factories import make_project

pytestmark = pytest.mark.django_db


def post_task(client: Client, secret: str, task_type: str = "imagine", **fields: Any) -> Any:
    fields.setdefault("prompt", "a red kite over the dunes") if task_type == "imagine" else None
    return client.post(
        "/api/v1/task",
        data=json.dumps({"model": "midjourney", "task_type": task_type, "input": fields}),
        content_type="application/json",
        headers={"x-api-key": secret},
    )


def refusal(response: Any) -> str:
    body = response.json()
    assert body["code"] == response.status_code
    assert body["data"]["error"]["message"] == body["message"]
    return str(body["message"])


def test_a_token_is_stored_only_as_its_hash(bobs_token: Any) -> None:
    assert bobs_token.secret.startswith("studio_") and len(bobs_token.secret) > 40
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert bobs_token.secret not in stored
    assert bobs_token.secret[:12] in stored  # its first characters tell it apart


def test_a_request_without_a_token_is_refused(client: Client) -> None:
    response = client.get("/account/info")

    assert response.status_code == 401
    assert "x-api-key" in refusal(response)


def test_an_unknown_token_is_refused(client: Client, bobs_token: Any) -> None:
    response = client.get("/account/info", headers={"x-api-key": bobs_token.secret + "x"})

    assert response.status_code == 401
    assert refusal(response) == "This API token is not valid."


def test_a_revoked_token_is_refused_at_once(client: Client, bobs_token: Any, alice: Any) -> None:
    assert client.get("/account/info", headers={"x-api-key": bobs_token.secret}).status_code == 200

    token_revoke(token=bobs_token.token, actor=alice)

    response = post_task(client, bobs_token.secret)
    assert response.status_code == 401
    assert "revoked" in refusal(response)
    assert not Job.objects.exists()
    assert AuditEntry.objects.filter(action="token.revoked", actor=alice).count() == 1


def test_an_expired_token_is_refused(client: Client, project: Any, bob: Any) -> None:
    made = token_create(
        user=bob,
        project=project,
        name="nightly",
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    ApiToken.objects.filter(pk=made.token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )

    response = client.get("/account/info", headers={"x-api-key": made.secret})

    assert response.status_code == 401
    assert "expired" in refusal(response)


def test_a_token_of_a_member_who_left_is_refused(client: Client, bobs_token: Any, bob: Any) -> None:
    Membership.objects.filter(user=bob).delete()

    response = client.get("/account/info", headers={"x-api-key": bobs_token.secret})

    assert response.status_code == 401
    assert "no longer in the team" in refusal(response)


def test_a_task_of_another_project_is_forbidden_and_of_another_team_unknown(
    client: Client, bobs_token: Any, acme: Any, bob: Any, charlie: Any, globex: Any
) -> None:
    other = make_project(team=acme, name="Other")
    theirs = token_create(user=bob, project=other, name="other project")
    made = post_task(client, theirs.secret)
    assert made.status_code == 200, made.content
    task_id = made.json()["data"]["task_id"]

    response = client.get(f"/api/v1/task/{task_id}", headers={"x-api-key": bobs_token.secret})
    assert response.status_code == 403
    assert "another project" in refusal(response)
    upscale = post_task(client, bobs_token.secret, "upscale", origin_task_id=task_id, index="1")
    assert upscale.status_code == 403

    outsider = token_create(user=charlie, project=make_project(team=globex), name="globex")
    response = client.get(f"/api/v1/task/{task_id}", headers={"x-api-key": outsider.secret})
    assert response.status_code == 404  # another team's tasks do not exist for it


def test_viewers_cannot_have_tokens_nor_spend_through_one(
    client: Client, project: Any, vera: Any, bob: Any, bobs_token: Any
) -> None:
    with pytest.raises(TokenRefused, match="Viewers cannot create API tokens"):
        token_create(user=vera, project=project, name="mine")

    Membership.objects.filter(user=bob).update(role=Role.VIEWER)
    response = post_task(client, bobs_token.secret)

    assert response.status_code == 403
    assert refusal(response) == "Viewers can browse a project but not generate images."
    assert client.get("/account/info", headers={"x-api-key": bobs_token.secret}).status_code == 200


def test_over_budget_the_task_is_refused_with_the_uis_sentence(
    client: Client, bobs_token: Any, acme: Any
) -> None:
    Budget.objects.filter(team=acme).update(amount=Decimal("0.01"))

    response = post_task(client, bobs_token.secret, process_mode="fast")

    assert response.status_code == 402
    assert refusal(response) == (
        "$0.01 left of the team's $0.01 budget this month; this job costs $0.045."
    )
    assert not Job.objects.exists() and not LedgerEntry.objects.exists()


def test_turbo_is_refused_to_a_member_the_team_does_not_open_it_to(
    client: Client, bobs_token: Any
) -> None:
    response = post_task(client, bobs_token.secret, process_mode="turbo")

    assert response.status_code == 402
    assert refusal(response) == "Turbo is not open to members in this team; choose Relax or Fast."
    assert not Job.objects.exists()


def test_a_bad_request_says_what_is_wrong_and_makes_nothing(
    client: Client, bobs_token: Any
) -> None:
    cases = [
        ({"task_type": "paint"}, "task_type “paint” is not one Studio takes"),
        ({"task_type": "imagine", "input": {"prompt": ""}}, "input.prompt is required"),
        (
            {"task_type": "imagine", "input": {"prompt": "x", "process_mode": "warp"}},
            "relax, fast or turbo",
        ),
        ({"task_type": "imagine", "input": {"prompt": "a cat --chaos 500"}}, "haos"),
        ({"task_type": "upscale", "input": {"origin_task_id": "nope", "index": "1"}}, "No task"),
        ({"task_type": "imagine", "model": "dall-e", "input": {"prompt": "x"}}, "not served here"),
    ]
    for body, said in cases:
        response = client.post(
            "/api/v1/task",
            data=json.dumps(body),
            content_type="application/json",
            headers={"x-api-key": bobs_token.secret},
        )
        assert response.status_code in (400, 404), body
        assert said in refusal(response), body
    not_json = client.post(
        "/api/v1/task",
        data="{",
        content_type="application/json",
        headers={"x-api-key": bobs_token.secret},
    )
    assert not_json.status_code == 400 and refusal(not_json) == "The body is not valid JSON."
    assert not Job.objects.exists() and not LedgerEntry.objects.exists()


def test_a_webhook_endpoint_inside_a_private_network_is_refused(
    client: Client, bobs_token: Any
) -> None:
    response = client.post(
        "/api/v1/task",
        data=json.dumps(
            {
                "task_type": "imagine",
                "input": {"prompt": "a lantern"},
                "config": {"webhook_config": {"endpoint": "https://10.0.0.7/hook", "secret": "s"}},
            }
        ),
        content_type="application/json",
        headers={"x-api-key": bobs_token.secret},
    )

    assert response.status_code == 400
    assert "webhook endpoint cannot be used" in refusal(response)
    assert not Job.objects.exists()


def test_over_its_rate_a_token_gets_429_with_when_to_retry(client: Client, bobs_token: Any) -> None:
    ApiToken.objects.filter(pk=bobs_token.token.pk).update(requests_per_minute=2)
    headers = {"x-api-key": bobs_token.secret}

    answers = [client.get("/account/info", headers=headers) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert 1 <= int(answers[2]["Retry-After"]) <= 60
    assert "2 requests a minute" in refusal(answers[2])


def test_a_body_over_the_limit_is_refused_before_anything_is_read(
    client: Client, bobs_token: Any, settings: Any
) -> None:
    settings.API_REQUEST_MAX_BYTES = 1000

    response = post_task(client, bobs_token.secret, prompt="a " * 1000)

    assert response.status_code == 413
    assert "at most 1,000" in refusal(response)


def test_the_first_use_from_each_address_is_audited_once(client: Client, bobs_token: Any) -> None:
    for address in ("203.0.113.5", "203.0.113.5", "198.51.100.9"):
        client.get("/account/info", headers={"x-api-key": bobs_token.secret}, REMOTE_ADDR=address)

    entries = AuditEntry.objects.filter(action="token.new_address").order_by("pk")
    assert [entry.changes["address"][1] for entry in entries] == ["203.0.113.5", "198.51.100.9"]
    token = ApiToken.objects.get(pk=bobs_token.token.pk)
    assert token.last_used_address == "198.51.100.9" and token.last_used_at is not None


def test_a_tokens_own_limit_of_jobs_at_once_counts_inside_the_teams(
    client: Client, bobs_token: Any, acme: Any
) -> None:
    ApiToken.objects.filter(pk=bobs_token.token.pk).update(max_running=1)
    for n in range(3):
        assert post_task(client, bobs_token.secret, prompt=f"kite {n}").status_code == 200

    picked = queue.team_dispatch(team_id=acme.pk)

    assert len(picked) == 1  # the team could run 3; the token may run 1
    ApiToken.objects.filter(pk=bobs_token.token.pk).update(max_running=None)
    assert len(queue.team_dispatch(team_id=acme.pk)) == 2


def test_the_project_page_marks_a_job_sent_through_a_token(
    client: Client, bobs_token: Any, project: Any, alice: Any
) -> None:
    post_task(client, bobs_token.secret)
    client.force_login(alice)

    page = client.get(f"/projects/{project.pk}/").content.decode()

    assert "API · render farm" in page
    assert ApiTask.objects.count() == 1


def test_in_production_a_webhook_endpoint_must_use_https(
    client: Client, bobs_token: Any, settings: Any
) -> None:
    settings.DEBUG = False
    body = {
        "task_type": "imagine",
        "input": {"prompt": "a lantern"},
        "config": {"webhook_config": {"endpoint": "http://hooks.example.com/x", "secret": "s"}},
    }

    response = client.post(
        "/api/v1/task",
        data=json.dumps(body),
        content_type="application/json",
        headers={"x-api-key": bobs_token.secret},
    )

    assert response.status_code == 400
    assert refusal(response) == (
        "The webhook endpoint must use https: Studio sends your secret with every post."
    )
    assert not Job.objects.exists()
