import json
import socket

import pytest
import requests
import responses

from studio.providers.base import TaskRequest
from studio.providers.piapi import OutcomeUnknown, PiAPI, ProviderError, task_from_data
from tests.payloads import load

BASE = "https://provider.example"
TASK_URL = f"{BASE}/api/v1/task"
TASK_ID = "0f1c9a7e-3b2d-4c55-9a11-7d2f8e6b4c01"


def make_client() -> PiAPI:
    return PiAPI(api_key="key-1234", base_url=BASE)


@responses.activate
def test_create_task_sends_the_documented_body_and_key() -> None:
    responses.post(TASK_URL, json=load("task_pending"))

    task = make_client().create_task(
        TaskRequest(
            operation="imagine",
            prompt="a lighthouse",
            aspect_ratio="16:9",
            mode="fast",
            webhook_url="https://studio.example/webhooks/piapi/1/",
            webhook_secret="per-job-secret",
        )
    )

    sent = responses.calls[0].request
    assert sent.headers["x-api-key"] == "key-1234"
    assert "Authorization" not in sent.headers
    body = json.loads(sent.body)
    assert body["model"] == "midjourney"
    assert body["task_type"] == "imagine"
    assert body["input"]["process_mode"] == "fast"
    assert body["config"]["webhook_config"] == {
        "endpoint": "https://studio.example/webhooks/piapi/1/",
        "secret": "per-job-secret",
    }
    assert task.task_id == TASK_ID
    assert task.status == "pending"


@responses.activate
def test_create_task_without_a_webhook_asks_for_none() -> None:
    responses.post(TASK_URL, json=load("task_pending"))

    make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert "webhook_config" not in json.loads(responses.calls[0].request.body)["config"]


@responses.activate
def test_statuses_are_read_case_insensitively_with_progress_and_preview() -> None:
    responses.get(f"{TASK_URL}/{TASK_ID}", json=load("task_processing"))

    task = make_client().get_task(TASK_ID)

    assert task.status == "processing"
    assert task.progress == 45
    assert task.intermediate_urls == ["https://img.example/tmp/0f1c-45.png"]
    assert task.quadrant_urls == []  # hidden fields come back empty, not missing


@responses.activate
def test_a_completed_task_gives_the_grid_its_quadrants_and_actions() -> None:
    responses.get(f"{TASK_URL}/{TASK_ID}", json=load("task_completed"))

    task = make_client().get_task(TASK_ID)

    assert task.image_url == "https://img.example/0f1c/grid.png"
    assert len(task.quadrant_urls) == 4
    assert "upscale1" in task.actions and "reroll" in task.actions
    assert task.usage["consume"] == 700000
    assert task.error == ""


@responses.activate
def test_a_failed_task_carries_the_message_meant_for_people() -> None:
    responses.get(f"{TASK_URL}/{TASK_ID}", json=load("task_failed"))

    task = make_client().get_task(TASK_ID)

    assert task.status == "failed"
    assert task.error == "failed to imagine: the prompt was rejected by moderation"


@responses.activate
def test_a_create_answered_with_a_server_error_is_never_sent_again() -> None:
    # PiAPI documents no 5xx as "nothing was created": the task may exist and be charged.
    responses.post(TASK_URL, status=500, json={"code": 500, "data": {}, "message": "boom"})
    responses.post(TASK_URL, json=load("task_pending"))

    with pytest.raises(OutcomeUnknown) as caught:
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert caught.value.status_code == 500
    assert len(responses.calls) == 1


@responses.activate
def test_a_create_whose_answer_times_out_has_an_unknown_outcome() -> None:
    responses.post(TASK_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(OutcomeUnknown, match="no answer within"):
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert len(responses.calls) == 1


@responses.activate
def test_a_create_accepted_without_a_task_id_has_an_unknown_outcome() -> None:
    responses.post(TASK_URL, json={"code": 200, "data": {"status": "pending"}, "message": "ok"})

    with pytest.raises(OutcomeUnknown, match="named no task"):
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))


@responses.activate
def test_a_server_error_that_names_its_task_gives_the_task() -> None:
    body = load("task_pending")
    body["code"] = 500
    responses.post(TASK_URL, status=500, json=body)

    task = make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert task.task_id == TASK_ID


@responses.activate
def test_a_rate_limited_create_is_a_refusal_that_may_pass_with_the_providers_hint() -> None:
    responses.post(
        TASK_URL,
        status=429,
        json={"code": 429, "data": {}, "message": "slow down"},
        headers={"Retry-After": "7"},
    )

    with pytest.raises(ProviderError) as caught:
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.retryable
    assert caught.value.retry_after == 7
    assert len(responses.calls) == 1


def test_a_create_that_cannot_connect_is_a_refusal_that_may_pass() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    # Nothing listens on the port now: the connection is refused before a byte is sent.
    client = PiAPI(api_key="key-1234", base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(ProviderError) as caught:
        client.create_task(TaskRequest(operation="imagine", prompt="x"))

    assert caught.value.retryable
    assert caught.value.status_code == 0


@responses.activate
def test_reads_are_sent_once_and_a_server_error_may_pass() -> None:
    responses.get(f"{TASK_URL}/{TASK_ID}", status=502, body="bad gateway")

    with pytest.raises(ProviderError) as caught:
        make_client().get_task(TASK_ID)

    assert caught.value.retryable
    assert caught.value.status_code == 502
    assert len(responses.calls) == 1


@responses.activate
def test_a_rejected_key_is_not_retried_and_says_so() -> None:
    responses.post(TASK_URL, status=401, json=load("error_401"))

    with pytest.raises(ProviderError) as caught:
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert not caught.value.retryable
    assert "API key" in caught.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_an_error_inside_a_200_envelope_is_an_error() -> None:
    responses.post(
        TASK_URL,
        json={
            "code": 400,
            "data": {"error": {"code": 1, "message": "invalid aspect ratio"}},
            "message": "bad request",
        },
    )

    with pytest.raises(ProviderError, match="invalid aspect ratio"):
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))


@responses.activate
def test_network_failures_become_one_error_class() -> None:
    responses.get(f"{TASK_URL}/{TASK_ID}", body=requests.ConnectionError("refused"))

    with pytest.raises(ProviderError) as caught:
        make_client().get_task(TASK_ID)

    assert caught.value.retryable
    assert caught.value.status_code == 0


@responses.activate
def test_account_info_reads_credits_and_plan() -> None:
    responses.get(f"{BASE}/account/info", json=load("account_info"))

    info = make_client().account_info()

    assert info.available_credits == 9300000
    assert info.plan == "creator"


@responses.activate
def test_downloads_refuse_images_over_the_limit() -> None:
    responses.get("https://img.example/big.png", body=b"x" * 2048)

    with pytest.raises(ProviderError, match="larger"):
        make_client().download("https://img.example/big.png", max_bytes=1024)


@responses.activate
def test_downloads_do_not_send_the_api_key_to_image_hosts() -> None:
    responses.get("https://img.example/a.png", body=b"png-bytes")

    assert make_client().download("https://img.example/a.png") == b"png-bytes"
    assert "x-api-key" not in responses.calls[0].request.headers


def test_the_client_never_shows_its_key_in_repr() -> None:
    assert "key-1234" not in repr(make_client())


def test_every_upscaled_result_offers_vary_region_though_piapi_does_not_list_it() -> None:
    data = load("task_completed")["data"]
    data["task_type"] = "upscale"
    data["output"]["actions"] = ["upscale_subtle", "pan_left"]

    assert task_from_data(data).actions == ["upscale_subtle", "pan_left", "inpaint"]


def test_a_grid_offers_only_what_piapi_lists() -> None:
    assert "inpaint" not in task_from_data(load("task_completed")["data"]).actions
