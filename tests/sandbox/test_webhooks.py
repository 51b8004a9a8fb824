"""Webhooks reach a real HTTP receiver: PiAPI's shape, the secret header, every state in
order, retries, and the drop/duplicate/reorder behaviours."""

import time

import pytest
from django.db import connection
from django.test import override_settings

from tests.sandbox.helpers import create_body

# The delivery thread reads the task through its own connection: it must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

TIMELINE = ["pending", *["processing"] * 5, "completed"]
WEBHOOK_SECRET = "hook-secret"


def create_with_webhook(api, receiver, prompt: str = "a windmill", secret: str = WEBHOOK_SECRET):
    body = create_body(prompt)
    body["config"]["webhook_config"] = {"endpoint": receiver.url, "secret": secret}
    response = api.post(body)
    assert response.status_code == 200
    return response.json()["data"]


def test_every_state_is_delivered_in_order_with_the_secret_header(api, webhook_receiver):
    task = create_with_webhook(api, webhook_receiver, secret="s3cr3t-value")

    deliveries = webhook_receiver.wait_for(len(TIMELINE))

    assert [delivery.status for delivery in deliveries] == TIMELINE
    progress = [delivery.body["data"]["output"]["progress"] for delivery in deliveries[1:]]
    assert progress == [0, 25, 50, 75, 90, 100]
    for delivery in deliveries:
        assert delivery.headers["x-webhook-secret"] == "s3cr3t-value"
        assert delivery.headers["Content-Type"] == "application/json"
        assert set(delivery.body) == {"timestamp", "data"}
        assert isinstance(delivery.body["timestamp"], int)
        assert abs(delivery.body["timestamp"] - time.time()) < 60
        assert delivery.body["data"]["task_id"] == task["task_id"]
    completed = deliveries[-1].body["data"]
    assert completed == api.task(task["task_id"])
    assert completed["output"]["image_url"].startswith("http://testserver/sandbox/images/")


def test_a_delivery_that_is_not_answered_2xx_is_retried(api, webhook_receiver):
    webhook_receiver.answers = [500, 503]
    create_with_webhook(api, webhook_receiver)

    deliveries = webhook_receiver.wait_for(len(TIMELINE))

    assert webhook_receiver.attempts == len(TIMELINE) + 2
    assert [delivery.status for delivery in deliveries] == TIMELINE


def test_a_delivery_is_given_up_after_three_retries(api, webhook_receiver):
    webhook_receiver.answers = [500] * 4
    create_with_webhook(api, webhook_receiver)

    deliveries = webhook_receiver.wait_for(len(TIMELINE) - 1)

    assert webhook_receiver.attempts == 4 + len(TIMELINE) - 1
    assert [delivery.status for delivery in deliveries] == TIMELINE[1:]


def test_a_task_without_a_webhook_sends_nothing(api, webhook_receiver):
    api.create()
    time.sleep(0.3)

    assert webhook_receiver.attempts == 0


def test_drop_webhooks_sends_nothing_and_polling_still_finishes(api, webhook_receiver):
    task = create_with_webhook(api, webhook_receiver, "a kite [sandbox:drop-webhooks]")
    time.sleep(0.3)

    assert webhook_receiver.attempts == 0
    assert api.task(task["task_id"])["status"] == "completed"


def test_duplicate_webhooks_sends_every_delivery_twice(api, webhook_receiver):
    create_with_webhook(api, webhook_receiver, "a kite [sandbox:duplicate-webhooks]")

    deliveries = webhook_receiver.wait_for(2 * len(TIMELINE))

    statuses = [delivery.status for delivery in deliveries]
    assert statuses == [status for status in TIMELINE for _ in range(2)]
    assert deliveries[0].body["data"] == deliveries[1].body["data"]


def test_reorder_webhooks_sends_the_final_state_first_then_the_stale_ones(api, webhook_receiver):
    create_with_webhook(api, webhook_receiver, "a kite [sandbox:reorder-webhooks]")

    deliveries = webhook_receiver.wait_for(len(TIMELINE))

    assert [delivery.status for delivery in deliveries] == TIMELINE[::-1]
    progress = [delivery.body["data"]["output"]["progress"] for delivery in deliveries[:-1]]
    assert progress == [100, 90, 75, 50, 25, 0]


def test_a_failing_task_delivers_its_failure_last(api, webhook_receiver):
    create_with_webhook(api, webhook_receiver, "a vase [sandbox:fail]")

    deliveries = webhook_receiver.wait_for(4)

    assert [delivery.status for delivery in deliveries] == [
        "pending", "processing", "processing", "failed",
    ]  # fmt: skip
    assert deliveries[-1].body["data"]["error"]["code"] == 10000


@override_settings(SANDBOX_STEP_SECONDS=30)
def test_a_canceled_task_delivers_one_failure_and_nothing_more(api, webhook_receiver):
    task = create_with_webhook(api, webhook_receiver)
    webhook_receiver.wait_for(1)

    assert api.delete(task["task_id"]).status_code == 200
    deliveries = webhook_receiver.wait_for(2)
    time.sleep(0.4)

    assert [delivery.status for delivery in webhook_receiver.deliveries] == ["pending", "failed"]
    assert deliveries[1].body["data"]["error"]["message"] == "task canceled"


def test_an_unreachable_endpoint_does_not_break_the_sandbox(api):
    body = create_body("a lost letter")
    body["config"]["webhook_config"] = {"endpoint": "http://127.0.0.1:9/nowhere", "secret": "x"}

    response = api.post(body)

    assert response.status_code == 200
    assert api.task(response.json()["data"]["task_id"])["status"] == "completed"


def test_a_task_that_stays_pending_delivers_its_cancel(api, webhook_receiver):
    task = create_with_webhook(api, webhook_receiver, "wait [sandbox:stay-pending]")
    webhook_receiver.wait_for(1)

    assert api.delete(task["task_id"]).status_code == 200
    deliveries = webhook_receiver.wait_for(2)

    assert [delivery.status for delivery in deliveries] == ["pending", "failed"]
    assert deliveries[1].body["data"]["error"]["message"] == "task canceled"


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="connection pooling is PostgreSQL's; this runs in CI's PostgreSQL pass",
)
@override_settings(SANDBOX_STEP_SECONDS=2)
def test_webhook_threads_waiting_for_their_next_state_hold_no_pooled_connection(
    api, webhook_receiver
):
    """Every task with a webhook has a thread, waiting most of its life: it gives its
    connection back while it sleeps, so that a few dozen tasks at once cannot take the
    process's whole pool (of DATABASE_POOL_MAX_SIZE, 10 by default)."""
    for n in range(6):
        create_with_webhook(api, webhook_receiver, prompt=f"a windmill {n}")
    assert len(webhook_receiver.wait_for(6)) == 6  # each thread delivered pending, then waits
    pool = connection.pool
    in_use = []
    for _ in range(10):
        stats = pool.get_stats()
        in_use.append(stats["pool_size"] - stats["pool_available"])
        time.sleep(0.05)

    # This test's own connection, and now and then a thread's look for a cancel.
    assert max(in_use) <= 3, in_use
