"""The sandbox speaks PiAPI's Midjourney task API: envelope, task object, lifecycle."""

import re
import uuid

import pytest
from django.test import override_settings

from tests.sandbox.helpers import API, CHARLIE_KEY, create_body

pytestmark = pytest.mark.django_db

UNSET = "0001-01-01T00:00:00Z"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
GRID_ACTIONS = [
    "reroll",
    *(f"upscale{index}" for index in range(1, 5)),
    *(f"variation{index}" for index in range(1, 5)),
]


def test_creating_a_task_answers_the_envelope_with_a_pending_task_object(api):
    body = create_body("a red fox in the snow --v 6.1")
    body["config"]["webhook_config"] = {"endpoint": "https://example.com/hook", "secret": "s3"}

    response = api.post(body)

    assert response.status_code == 200
    envelope = response.json()
    assert set(envelope) == {"code", "data", "message"}
    assert envelope["code"] == 200
    assert envelope["message"] == "success"
    task = envelope["data"]
    assert set(task) == {
        "task_id", "model", "task_type", "status", "config", "input", "output", "meta",
        "detail", "logs", "error",
    }  # fmt: skip
    assert uuid.UUID(task["task_id"]).version == 4
    assert task["model"] == "midjourney"
    assert task["task_type"] == "imagine"
    assert task["status"] == "pending"
    # The provider echoes the config, the webhook secret included.
    assert task["config"] == {
        "service_mode": "public",
        "webhook_config": {"endpoint": "https://example.com/hook", "secret": "s3"},
    }
    assert task["input"] == {
        "prompt": "a red fox in the snow --v 6.1",
        "aspect_ratio": "1:1",
        "process_mode": "fast",
        "skip_prompt_check": False,
        "bot_id": 0,
    }
    assert task["output"] is None
    assert task["detail"] is None
    assert task["logs"] == []
    assert task["error"] == {"code": 0, "raw_message": "", "message": "", "detail": None}
    meta = task["meta"]
    assert set(meta) == {
        "created_at", "started_at", "ended_at", "usage", "is_using_private_pool",
        "process_mode", "model_version",
    }  # fmt: skip
    assert RFC3339.match(meta["created_at"])
    assert meta["started_at"] == UNSET
    assert meta["ended_at"] == UNSET
    assert meta["usage"] == {"type": "point", "frozen": 450_000, "consume": 0}
    assert meta["is_using_private_pool"] is False
    assert meta["process_mode"] == "fast"
    assert meta["model_version"] == "6.1"


def test_a_completed_task_carries_the_grid_its_quadrants_and_the_follow_up_actions(api):
    created = api.create("a quiet harbour at dawn", aspect_ratio="16:9", process_mode="turbo")

    task = api.task(created["task_id"])  # steps are instant in the test settings

    assert task["status"] == "completed"
    output = task["output"]
    assert set(output) == {
        "image_url", "image_urls", "temporary_image_urls", "discord_image_url", "actions",
        "progress", "intermediate_image_urls",
    }  # fmt: skip
    assert output["image_url"].startswith(f"http://testserver/sandbox/images/{task['task_id']}/")
    assert output["image_urls"] is None
    assert len(output["temporary_image_urls"]) == 4
    assert len(set(output["temporary_image_urls"]) | {output["image_url"]}) == 5
    assert output["discord_image_url"] == ""
    assert output["actions"] == GRID_ACTIONS
    assert output["progress"] == 100
    assert output["intermediate_image_urls"] is None
    assert RFC3339.match(task["meta"]["started_at"])
    assert RFC3339.match(task["meta"]["ended_at"])
    assert task["meta"]["usage"] == {"type": "point", "frozen": 1_000_000, "consume": 1_000_000}
    assert task["meta"]["process_mode"] == "turbo"
    assert task["meta"]["model_version"] == "unknown"
    assert task["input"]["aspect_ratio"] == "16:9"


def test_image_urls_are_the_same_on_every_read(api):
    created = api.create()

    assert api.task(created["task_id"])["output"] == api.task(created["task_id"])["output"]


@override_settings(SANDBOX_STEP_SECONDS=10)
def test_a_task_goes_pending_then_processing_with_rising_progress_then_completed(api, clock):
    task_id = api.create("a paper boat on a pond")["task_id"]
    seen = []
    for _ in range(8):
        task = api.task(task_id)
        seen.append((task["status"], task["output"] and task["output"]["progress"]))
        if task["status"] == "processing":
            previews = task["output"]["intermediate_image_urls"]
            assert (previews is not None) == (task["output"]["progress"] >= 50)
            assert task["output"]["image_url"] == ""
            assert task["output"]["actions"] == []
            assert task["meta"]["ended_at"] == UNSET
            assert task["meta"]["started_at"] != UNSET
        clock.advance(10)

    assert seen == [
        ("pending", None),
        ("processing", 0),
        ("processing", 25),
        ("processing", 50),
        ("processing", 75),
        ("processing", 90),
        ("completed", 100),
        ("completed", 100),
    ]


@override_settings(SANDBOX_STEP_SECONDS=10)
def test_meta_times_follow_the_timeline(api, clock):
    task_id = api.create()["task_id"]
    clock.advance(60)

    meta = api.task(task_id)["meta"]

    assert meta["created_at"] == "2026-05-01T12:00:00Z"
    assert meta["started_at"] == "2026-05-01T12:00:10Z"
    assert meta["ended_at"] == "2026-05-01T12:01:00Z"


@override_settings(SANDBOX_STEP_SECONDS=10)
def test_the_step_length_is_fixed_when_the_task_is_created(api, clock):
    task_id = api.create()["task_id"]
    clock.advance(15)

    with override_settings(SANDBOX_STEP_SECONDS=0):
        task = api.task(task_id)

    assert task["status"] == "processing"


def test_the_creation_answer_is_pending_even_with_instant_steps(api):
    assert api.create()["status"] == "pending"


# --- authentication and ownership -------------------------------------------------------


def test_a_call_without_an_api_key_is_unauthorized(client):
    response = client.post(API, data=create_body(), content_type="application/json")

    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert response.json()["message"] == "Unauthorized: missing x-api-key"
    assert response.json()["data"]["error"]["message"] == "Unauthorized: missing x-api-key"


def test_an_empty_api_key_is_unauthorized(api):
    response = api.post(create_body(), api_key="")

    assert response.status_code == 401


@pytest.mark.parametrize(
    "call",
    [
        lambda client, headers: client.get(f"{API}/{uuid.uuid4()}", headers=headers),
        lambda client, headers: client.delete(f"{API}/{uuid.uuid4()}", headers=headers),
        lambda client, headers: client.get("/sandbox/account/info", headers=headers),
    ],
)
def test_every_endpoint_refuses_an_invalid_key(client, call):
    response = call(client, {"x-api-key": "invalid-key-123"})

    assert response.status_code == 401
    assert response.json()["code"] == 401


def test_an_unknown_task_is_not_found(api):
    response = api.get(str(uuid.uuid4()))

    assert response.status_code == 404
    assert response.json()["code"] == 404
    assert "not found" in response.json()["message"]


def test_a_task_id_that_is_not_a_uuid_is_not_found(api):
    assert api.get("not-a-uuid").status_code == 404


def test_another_keys_task_is_not_found(api):
    task_id = api.create()["task_id"]

    assert api.get(task_id, api_key=CHARLIE_KEY).status_code == 404
    assert api.delete(task_id, api_key=CHARLIE_KEY).status_code == 404


def test_an_unknown_sandbox_path_answers_the_envelope(api, client):
    response = client.get("/sandbox/api/v2/nothing", headers={"x-api-key": api.api_key})

    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_a_wrong_method_answers_the_envelope(client):
    response = client.put(API, headers={"x-api-key": "k"})

    assert response.status_code == 405
    assert response.json()["code"] == 405


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message_part"),
    [
        (lambda body: body.update(model="flux"), "model"),
        (lambda body: body.update(task_type="paint"), "task_type"),
        (lambda body: body.update(task_type="upscale"), "origin_task_id"),
        (lambda body: body.pop("input"), "input"),
        (lambda body: body["input"].pop("prompt"), "prompt"),
        (lambda body: body["input"].update(prompt="   "), "prompt"),
        (lambda body: body["input"].update(prompt=42), "prompt"),
        (lambda body: body["input"].update(aspect_ratio="wide"), "aspect_ratio"),
        (lambda body: body["input"].update(aspect_ratio="0:1"), "aspect_ratio"),
        (lambda body: body["input"].update(aspect_ratio="-1:2"), "aspect_ratio"),
        (lambda body: body["input"].update(aspect_ratio="5:1"), "between 1:4 and 4:1"),
        (lambda body: body["input"].update(aspect_ratio="1:5"), "between 1:4 and 4:1"),
        (lambda body: body["input"].update(process_mode="ludicrous"), "process_mode"),
        (lambda body: body["input"].update(skip_prompt_check="yes"), "skip_prompt_check"),
        (lambda body: body.update(config={"service_mode": "shared"}), "service_mode"),
        (
            lambda body: body.update(config={"webhook_config": {"endpoint": "ftp://x/y"}}),
            "endpoint",
        ),
    ],
)
def test_a_bad_body_is_a_400_that_says_what_is_wrong(api, change, message_part):
    body = create_body()
    change(body)

    response = api.post(body)

    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert message_part in response.json()["message"]


def test_a_body_that_is_not_json_is_a_400(client):
    response = client.post(
        API, data="{not json", content_type="application/json", headers={"x-api-key": "k"}
    )

    assert response.status_code == 400
    assert "JSON" in response.json()["message"]


def test_the_extreme_aspect_ratios_are_accepted(api):
    assert api.create(aspect_ratio="4:1")["input"]["aspect_ratio"] == "4:1"
    assert api.create(aspect_ratio="1:4")["input"]["aspect_ratio"] == "1:4"


def test_an_ar_flag_in_the_prompt_sets_the_aspect_ratio_unless_the_field_does(api):
    assert api.create("a tall tower --ar 2:3")["input"]["aspect_ratio"] == "2:3"
    assert api.create("a tall tower --ar 2:3", aspect_ratio="3:2")["input"]["aspect_ratio"] == "3:2"


def test_the_process_mode_is_normalised_and_sets_the_points_held(api):
    task = api.create(process_mode="RELAX")

    assert task["input"]["process_mode"] == "relax"
    assert task["meta"]["usage"]["frozen"] == 150_000


# --- cancel ----------------------------------------------------------------------------


@override_settings(SANDBOX_STEP_SECONDS=10)
def test_a_pending_task_can_be_canceled_and_then_reads_as_failed(api, clock):
    task_id = api.create()["task_id"]
    clock.advance(3)

    response = api.delete(task_id)

    assert response.status_code == 200
    assert response.json() == {"code": 200, "data": {}, "message": f"task {task_id} canceled"}
    clock.advance(100)
    task = api.task(task_id)
    assert task["status"] == "failed"
    assert task["error"]["message"] == "task canceled"
    assert task["error"]["code"] != 0
    assert task["output"] is None
    assert task["meta"]["ended_at"] == "2026-05-01T12:00:03Z"
    assert task["meta"]["usage"]["consume"] == 0


@override_settings(SANDBOX_STEP_SECONDS=10)
def test_a_processing_task_cannot_be_canceled(api, clock):
    task_id = api.create()["task_id"]
    clock.advance(15)

    response = api.delete(task_id)

    assert response.status_code == 400
    assert response.json()["message"] == (
        f"task {task_id} is processing; only a pending task can be canceled"
    )
    assert api.task(task_id)["status"] == "processing"


def test_a_completed_task_cannot_be_canceled(api):
    task_id = api.create()["task_id"]

    response = api.delete(task_id)

    assert response.status_code == 400
    assert "completed" in response.json()["message"]


# --- account ---------------------------------------------------------------------------


def test_account_info_shows_credits_that_completed_tasks_use(api, client):
    def account() -> dict:
        response = client.get("/sandbox/account/info", headers={"x-api-key": api.api_key})
        assert response.status_code == 200
        assert response.json()["code"] == 200
        return response.json()["data"]

    before = account()
    api.create(process_mode="fast")
    api.create(process_mode="relax")
    after = account()

    assert set(after) == {
        "account_id", "account_name", "credit_pack_info", "equivalent_in_usd", "plan",
    }  # fmt: skip
    assert set(after["credit_pack_info"]) == {
        "available_credits", "used_credits", "total_credits", "frozen_credits",
    }  # fmt: skip
    assert before["credit_pack_info"]["used_credits"] == 0
    assert after["credit_pack_info"]["used_credits"] == 600_000
    credits = after["credit_pack_info"]
    assert credits["available_credits"] + credits["used_credits"] == credits["total_credits"]
    assert after["equivalent_in_usd"] == pytest.approx(credits["available_credits"] / 1e7)
    assert after["account_id"] == before["account_id"]


@override_settings(SANDBOX_STEP_SECONDS=10)
def test_account_info_holds_the_credits_of_running_tasks(api, client, clock):
    api.create(process_mode="turbo")

    info = client.get("/sandbox/account/info", headers={"x-api-key": api.api_key}).json()

    assert info["data"]["credit_pack_info"]["frozen_credits"] == 1_000_000
    assert info["data"]["credit_pack_info"]["used_credits"] == 0
