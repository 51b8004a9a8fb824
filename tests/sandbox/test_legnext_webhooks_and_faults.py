"""LegNext callbacks reach a real HTTP receiver as {timestamp, data} without a secret
header, and the sandbox's fault markers work in a LegNext prompt as in a PiAPI one."""

import time

import pytest

from tests.sandbox.helpers import LegNextApi

# The delivery thread reads the job through its own connection: it must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

TIMELINE = ["pending", "staged", "processing", "processing", "completed"]


def test_a_callback_gets_every_change_as_timestamp_and_data_without_a_secret(
    legnext, webhook_receiver
):
    job = legnext.submit("diffusion", text="a windmill", callback=webhook_receiver.url)

    deliveries = webhook_receiver.wait_for(len(TIMELINE))
    time.sleep(0.2)

    assert job["config"]["webhook_config"] == {"endpoint": webhook_receiver.url, "secret": ""}
    assert webhook_receiver.statuses() == TIMELINE
    for delivery in deliveries:
        assert set(delivery.body) == {"timestamp", "data"}
        assert isinstance(delivery.body["timestamp"], int)
        assert abs(delivery.body["timestamp"] - time.time()) < 60
        assert delivery.body["data"]["job_id"] == job["job_id"]
        assert delivery.headers["Content-Type"] == "application/json"
        assert not any(name.lower() == "x-webhook-secret" for name in delivery.headers)
    # The processing one with a preview, then the final job as GET shows it.
    assert "intermediate_image_urls" in deliveries[3].body["data"]["output"]
    assert deliveries[-1].body["data"] == legnext.job(job["job_id"])


def test_a_callback_that_is_not_answered_2xx_is_retried(legnext, webhook_receiver):
    webhook_receiver.answers = [500, 503]

    legnext.submit("diffusion", text="a windmill", callback=webhook_receiver.url)
    webhook_receiver.wait_for(len(TIMELINE))

    assert webhook_receiver.statuses() == TIMELINE
    assert webhook_receiver.attempts == len(TIMELINE) + 2


def test_a_failing_job_is_posted_failed_and_answers_200_failed_with_its_error(
    legnext, webhook_receiver
):
    job = legnext.submit("diffusion", text="a vase [sandbox:fail]", callback=webhook_receiver.url)

    deliveries = webhook_receiver.wait_for(4)

    assert webhook_receiver.statuses() == ["pending", "staged", "processing", "failed"]
    response = legnext.get(job["job_id"])
    assert response.status_code == 200
    failed = response.json()
    assert failed == deliveries[-1].body["data"]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] != 0
    assert failed["error"]["message"] == "the sandbox was told to fail this task"
    assert failed["error"]["raw_message"]
    assert failed["output"]["image_url"] == ""
    assert failed["meta"]["ended_at"] != "0001-01-01T00:00:00Z"
    assert failed["meta"]["usage"]["consume"] == 0
    assert legnext.balance()["data"]["available_credits"] == 100_000


def test_a_moderated_prompt_fails_straight_from_pending(legnext):
    job = legnext.follow("diffusion", text="a vase [sandbox:moderate]")

    assert job["status"] == "failed"
    assert "moderation" in job["error"]["message"]


def test_drop_webhooks_sends_nothing_and_polling_still_finishes(legnext, webhook_receiver):
    job = legnext.submit(
        "diffusion", text="a kite [sandbox:drop-webhooks]", callback=webhook_receiver.url
    )
    time.sleep(0.3)

    assert webhook_receiver.attempts == 0
    assert legnext.job(job["job_id"])["status"] == "completed"


def test_ambiguous_create_makes_the_job_then_answers_500(legnext, webhook_receiver):
    response = legnext.post(
        "diffusion",
        {"text": "a kite [sandbox:ambiguous-create]", "callback": webhook_receiver.url},
    )

    assert response.status_code == 500
    assert response.json()["code"] == 500
    assert "job_id" not in response.json()
    # The job was made, runs, calls back and is charged.
    deliveries = webhook_receiver.wait_for(len(TIMELINE))
    assert deliveries[-1].status == "completed"
    job = legnext.job(deliveries[-1].body["data"]["job_id"])
    assert job["status"] == "completed"
    assert legnext.balance()["data"]["available_credits"] == 100_000 - 80


def test_rate_limit_and_server_error_markers_refuse_the_call_and_make_nothing(legnext):
    limited = legnext.post("diffusion", {"text": "a kite [sandbox:http-429]"})
    failed = legnext.post("diffusion", {"text": "a kite [sandbox:http-500-once]"})
    retried = legnext.post("diffusion", {"text": "a kite [sandbox:http-500-once]"})

    assert limited.status_code == 429
    assert limited["Retry-After"] == "1"
    assert set(limited.json()) == {"code", "message", "raw_message", "detail"}
    assert failed.status_code == 500
    assert retried.status_code == 200
    assert legnext.balance()["data"]["available_credits"] == 100_000 - 80


def test_slow_create_answers_late_with_the_job_it_made_at_once(legnext):
    started = time.monotonic()

    job = legnext.submit("diffusion", text="a kite [sandbox:slow-create-1]")

    assert time.monotonic() - started >= 1
    assert job["status"] == "pending"


def test_a_follow_up_obeys_the_markers_of_its_own_remix_prompt(client):
    legnext = LegNextApi(client, api_key="sk-sandbox-remixer")
    grid = legnext.diffusion("a snail")

    job = legnext.follow(
        "remix", jobId=grid["job_id"], imageNo=0, remixPrompt="a snail [sandbox:fail]"
    )

    assert job["status"] == "failed"
