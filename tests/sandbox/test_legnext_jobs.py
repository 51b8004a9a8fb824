"""LegNext's API: the bare job object of a diffusion through its timeline, prices, the
balance, keys and the error shapes (legnext-protocol.md §1, §3, §4)."""

import re
import uuid

import pytest
from django.test import override_settings

from tests.sandbox.helpers import CHARLIE_KEY, LEGNEXT, LegNextApi

pytestmark = pytest.mark.django_db

ZERO_TIME = "0001-01-01T00:00:00Z"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
JOB_KEYS = {
    "job_id",
    "model",
    "task_type",
    "status",
    "config",
    "input",
    "output",
    "meta",
    "detail",
    "logs",
    "error",
}
BAD_KEY = {"code": 401, "message": "Failed to verify api key", "raw_message": "", "detail": None}
NO_ERROR = {"code": 0, "raw_message": "", "message": "", "detail": None}


def assert_shape_b(body: dict, code: int) -> str:
    """The job-shaped refusal LegNext answers an action with; its message."""
    assert body["job_id"] == ""
    assert body["status"] == "failed"
    assert body["output"] is None
    assert body["meta"] is None
    assert body["error"]["code"] == code
    return body["error"]["message"]


def test_a_diffusion_answers_a_bare_pending_job_with_its_price_frozen(legnext):
    job = legnext.submit("diffusion", text="a lighthouse in a storm")

    assert set(job) == JOB_KEYS
    assert uuid.UUID(job["job_id"])
    assert job["model"] == "midjourney"
    assert job["task_type"] == "diffusion"
    assert job["status"] == "pending"
    assert job["config"] == {
        "service_mode": "public",
        "webhook_config": {"endpoint": "", "secret": ""},
    }
    assert job["input"] is None
    assert job["output"] == {"image_url": "", "image_urls": None, "seed": ""}
    assert RFC3339.match(job["meta"]["created_at"])
    assert job["meta"]["started_at"] == ZERO_TIME
    assert job["meta"]["ended_at"] == ZERO_TIME
    assert job["meta"]["usage"] == {"type": "point", "frozen": 80, "consume": 0}
    assert job["detail"] is None
    assert job["logs"] == []
    assert job["error"] == NO_ERROR


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_a_job_goes_pending_staged_processing_completed_and_its_times_fill_in(legnext, clock):
    job_id = legnext.submit("diffusion", text="a windmill at dusk")["job_id"]

    seen = []
    for _ in range(7):
        job = legnext.job(job_id)
        seen.append(
            (
                job["status"],
                job["meta"]["started_at"] != ZERO_TIME,
                job["meta"]["ended_at"] != ZERO_TIME,
                "intermediate_image_urls" in job["output"],
            )
        )
        clock.advance(1)

    assert seen == [
        ("pending", False, False, False),
        ("staged", True, False, False),
        ("processing", True, False, False),
        ("processing", True, False, True),
        ("processing", True, False, True),
        ("processing", True, False, True),
        ("completed", True, True, False),
    ]


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_a_processing_grid_shows_a_blurred_preview_of_the_grid(legnext, clock):
    job_id = legnext.submit("diffusion", text="a windmill at dusk --ar 3:2")["job_id"]
    clock.advance(3)

    job = legnext.job(job_id)

    [preview] = job["output"]["intermediate_image_urls"]
    assert legnext.image(preview).size == (1024, 682)
    assert job["output"]["image_url"] == ""
    assert job["meta"]["usage"]["consume"] == 0


def test_a_completed_diffusion_shows_its_grid_and_the_grids_four_quadrants(legnext):
    job = legnext.diffusion("a cabin under northern lights --ar 3:2 --seed 9")

    output = job["output"]
    grid = legnext.image(output["image_url"])
    assert grid.size == (1024, 682)
    assert len(output["image_urls"]) == 4
    for index, url in enumerate(output["image_urls"]):
        left, top = (index % 2) * 512, (index // 2) * 341
        quadrant = legnext.image(url)
        assert quadrant.size == (512, 341)
        assert quadrant.tobytes() == grid.crop((left, top, left + 512, top + 341)).tobytes()
    assert output["seed"].isdigit()
    assert output["available_actions"] == {
        "edit": [0, 1, 2, 3],
        "inpaint": [0, 1, 2, 3],
        "outpaint": [0, 1, 2, 3],
        "pan": [0, 1, 2, 3],
        "remix": [0, 1, 2, 3],
        "reroll": True,
        "upscale": [0, 1, 2, 3],
        "variation": [0, 1, 2, 3],
    }
    meta = job["meta"]
    assert all(RFC3339.match(meta[name]) for name in ("created_at", "started_at", "ended_at"))
    assert meta["usage"] == {"type": "point", "frozen": 80, "consume": 80}
    assert job["error"] == NO_ERROR


@pytest.mark.parametrize(
    ("text", "credits"),
    [
        ("a fox", 80),
        ("a fox --turbo", 160),
        ("a fox --v 7 --draft", 40),
        ("a fox --draft --turbo", 80),
        ("a fox --v 6.1 --draft", 80),
        ("a fox --fast", 80),
    ],
)
def test_the_prompts_mode_and_draft_decide_a_diffusions_price(legnext, text, credits):
    job = legnext.submit("diffusion", text=text)

    assert job["meta"]["usage"]["frozen"] == credits


def test_only_a_v7_draft_grid_offers_enhance(legnext):
    draft = legnext.diffusion("a fox --v 7 --draft")
    full = legnext.diffusion("a fox --v 7")

    assert draft["output"]["available_actions"]["enhance"] == [0, 1, 2, 3]
    assert "enhance" not in full["output"]["available_actions"]


def test_unknown_body_keys_are_ignored_and_a_trailing_slash_is_tolerated(legnext, client):
    response = client.post(
        f"{LEGNEXT}/v1/diffusion/",
        {"text": "a fox", "aspectRatio": "16:9"},
        content_type="application/json",
        headers={"x-api-key": legnext.api_key},
    )
    job_id = response.json()["job_id"]

    assert response.status_code == 200
    polled = client.get(f"{LEGNEXT}/v1/job/{job_id}/", headers={"x-api-key": legnext.api_key})
    assert polled.json()["job_id"] == job_id


@pytest.mark.parametrize("headers", [{}, {"x-api-key": ""}, {"x-api-key": "invalid-key"}])
def test_a_missing_or_bad_key_is_refused_with_shape_a(client, headers):
    response = client.post(
        f"{LEGNEXT}/v1/diffusion",
        {"text": "a fox"},
        content_type="application/json",
        headers=headers,
    )

    assert response.status_code == 401
    assert response.json() == BAD_KEY
    assert client.get(f"{LEGNEXT}/account/balance", headers=headers).json() == BAD_KEY


def test_the_key_header_is_read_in_any_case(legnext, client):
    job = legnext.submit("diffusion", text="a fox")

    for name in ("X-API-KEY", "X-Api-Key"):
        response = client.get(f"{LEGNEXT}/v1/job/{job['job_id']}", headers={name: legnext.api_key})
        assert response.status_code == 200


def test_a_job_is_seen_only_by_the_key_that_made_it(legnext):
    job = legnext.submit("diffusion", text="a fox")

    response = legnext.get(job["job_id"], api_key=CHARLIE_KEY)

    assert response.status_code == 404
    assert job["job_id"] in assert_shape_b(response.json(), 404)
    assert legnext.get(str(uuid.uuid4())).status_code == 404


def test_piapis_api_does_not_see_legnexts_jobs(legnext, api):
    job = legnext.submit("diffusion", text="a fox")

    assert api.get(job["job_id"]).status_code == 404
    account = api.client.get("/sandbox/account/info", headers={"x-api-key": api.api_key})
    assert account.json()["data"]["credit_pack_info"]["used_credits"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": 42}, "text"),
        ({"text": "x" * 8193}, "text"),
        ({"text": "a fox --ar 9:1"}, "--ar 9:1"),
        ({"text": "a fox", "callback": "ftp://example.com/hook"}, "callback"),
    ],
)
def test_a_bad_body_is_refused_with_shape_a_naming_the_field(legnext, body, field):
    refused = legnext.refused("diffusion", **body)

    assert set(refused) == {"code", "message", "raw_message", "detail"}
    assert refused["code"] == 400
    assert refused["message"].startswith("Invalid request parameters: ")
    assert field in refused["message"]
    assert field in refused["raw_message"]


def test_a_body_that_is_not_a_json_object_is_refused_with_shape_a(legnext, client):
    for body in ("not json", "[1, 2]"):
        response = client.post(
            f"{LEGNEXT}/v1/diffusion",
            body,
            content_type="application/json",
            headers={"x-api-key": legnext.api_key},
        )
        assert response.status_code == 400
        assert response.json()["code"] == 400


def test_unknown_and_not_emulated_endpoints_answer_404_in_json(legnext, client):
    headers = {"x-api-key": legnext.api_key}

    unknown = client.get(f"{LEGNEXT}/v2/whatever", headers=headers)
    not_an_endpoint = legnext.post("imagine", {"text": "a fox"})
    topaz = legnext.post("enhance-upscale", {"image_url": "https://example.com/a.png"})

    assert unknown.status_code == not_an_endpoint.status_code == 404
    assert unknown.json()["code"] == 404
    assert topaz.status_code == 404
    assert topaz.json()["message"] == "/v1/enhance-upscale is not available in the sandbox"
    wrong_method = client.get(f"{LEGNEXT}/v1/diffusion", headers=headers)
    assert wrong_method.status_code == 405


# --- the balance ------------------------------------------------------------------------


def test_the_balance_starts_at_100_dollars_enveloped(legnext):
    balance = legnext.balance()

    assert balance["code"] == 200
    assert balance["message"] == "success"
    data = balance["data"]
    assert set(data) == {
        "account_id",
        "balance_usd",
        "available_credits",
        "available_points",
        "alert_threshold",
        "low_balance_alert",
        "updated_at",
    }
    assert data["balance_usd"] == 100
    assert data["available_credits"] == 100_000
    assert data["available_points"] == 0
    assert data["low_balance_alert"] is False
    assert isinstance(data["account_id"], int)


def test_the_balance_goes_down_by_what_completed_jobs_consumed(legnext):
    grid = legnext.diffusion("a fox --turbo")
    legnext.follow("upscale", jobId=grid["job_id"], imageNo=0, type=1)
    legnext.follow("shorten", prompt="a very small fox")

    data = legnext.balance()["data"]

    assert data["available_credits"] == 100_000 - 160 - 320 - 20
    assert data["balance_usd"] == (data["available_credits"] + data["available_points"]) / 1000
    assert data["balance_usd"] == 99.5
    # Another key's account is untouched.
    assert legnext.balance(api_key=CHARLIE_KEY)["data"]["balance_usd"] == 100


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_a_running_job_holds_its_price_and_a_failed_one_gives_it_back(legnext, clock):
    legnext.submit("diffusion", text="a fox")
    legnext.submit("diffusion", text="a vase [sandbox:fail]")

    held = legnext.balance()["data"]["available_credits"]
    clock.advance(10)

    assert held == 100_000 - 80 - 80
    assert legnext.balance()["data"]["available_credits"] == 100_000 - 80


def test_an_account_without_credits_is_refused_with_402(client):
    broke = LegNextApi(client, api_key="nocredits-alice")

    refused = broke.refused("diffusion", status=402, text="a fox")

    assert refused["code"] == 402
    assert "Insufficient credits" in refused["message"]
    assert broke.balance()["data"]["balance_usd"] == 0
    assert broke.balance()["data"]["low_balance_alert"] is True
