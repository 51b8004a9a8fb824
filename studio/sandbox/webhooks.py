"""Webhook deliveries: a daemon thread per task walks its timeline and POSTs each state.

PiAPI sends ``{"timestamp": <unix seconds>, "data": <task object>}`` with the shared
secret itself in ``x-webhook-secret`` (no HMAC), once per state change, and retries a
delivery that is not answered 2xx (https://piapi.ai/docs/unified-webhook). The thread
only reads: the task's state comes from timeline.py, so GET stays the truth even when
this thread dies with its process.

A LegNext job's callback gets the same envelope around its job object (what LegNext's
own receiver parses; its docs say nothing of the body), with no secret header (LegNext
has no callback secret), retried the same way. A state is posted whenever what GET
shows changes, so a LegNext job, whose object has no progress, posts pending, staged,
processing, processing with its preview, and completed (or failed).
"""

import json
import logging
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import requests
from django.db import connection
from django.db.models import F

from studio.sandbox import payloads, timeline
from studio.sandbox.behaviours import Behaviour
from studio.sandbox.legnext import payloads as legnext_payloads
from studio.sandbox.models import Protocol, Task, TaskStatus

logger = logging.getLogger(__name__)

RETRIES = 3
BACKOFF_SECONDS = 0.2
# With instant steps (tests) the retries are instant too, near enough.
INSTANT_BACKOFF_SCALE = 0.1
TIMEOUT_SECONDS = 5.0
# How often a pending task is re-read while waiting, to notice a cancel quickly.
CANCEL_CHECK_SECONDS = 0.25
# How long, and how often, a stay-pending task is watched for the cancel to deliver.
STAY_PENDING_WATCH_SECONDS = 600.0
STAY_PENDING_CHECK_SECONDS = 0.5
# How long deliveries wait for a describe's or blend's input images to be fetched
# (fetching.py restarts a fetch that its process lost, on the next GET).
INPUTS_WAIT_SECONDS = 600.0
# How often a step that waits is read again: for input images being fetched (seconds,
# up to INPUTS_WAIT_SECONDS); for a drawing (its end is sent on as a provider's
# completion is, at once near enough).
INPUTS_CHECK_SECONDS = 0.05
DRAWING_CHECK_SECONDS = 0.01


def start(task_id: uuid.UUID) -> threading.Thread:
    """Deliver the task's webhooks in a daemon thread; returns at once."""
    thread = threading.Thread(
        target=deliver_timeline, args=(task_id,), name=f"sandbox-webhooks-{task_id}", daemon=True
    )
    thread.start()
    return thread


def deliver_timeline(task_id: uuid.UUID) -> None:
    try:
        _deliver_timeline(task_id)
    except Exception:
        # A thread's exception would only be printed; log it and let the process live.
        logger.exception("sandbox webhooks for task %s stopped", task_id)
    finally:
        # Each thread has its own database connection; don't leak it.
        connection.close()


def _deliver_timeline(task_id: uuid.UUID) -> None:
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        return
    held: list[dict[str, Any]] = []
    delivered: list[dict[str, Any]] = []

    def deliver(task: Task, step: timeline.Step) -> None:
        data = _payload(task, step)
        if delivered and delivered[-1] == data:
            return  # nothing the receiver could see has changed
        delivered.append(data)
        if Behaviour.REORDER_WEBHOOKS in task.behaviours:
            held.append(data)
        else:
            _send(task, data)

    index = 0
    while index < len(steps := timeline.plan_for(task)):
        refreshed = _wait_for_step(task, steps[index])
        if refreshed is None:  # deleted meanwhile, or its input images never came
            return
        task = refreshed
        # Read again: a failed fetch of input images changes the rest of the plan.
        step = timeline.plan_for(task)[index]
        if task.canceled_at is not None:
            step = timeline.CANCELED_STEP
        deliver(task, step)
        if step.canceled or step.is_final:
            break
        index += 1
        if (
            index == len(steps)
            and step.status == TaskStatus.PENDING
            and task.protocol == Protocol.PIAPI
        ):
            # stay-pending: the only way on is a cancel (LegNext has none).
            canceled = _wait_for_cancel(task)
            if canceled is not None:
                deliver(canceled, timeline.CANCELED_STEP)
    for data in reversed(held):
        _send(task, data)


def _sleep(seconds: float) -> None:
    """Sleep with the thread's database connection given back: a pooled one serves other
    threads meanwhile (every task with a webhook has a thread, waiting most of its life)."""
    connection.close()
    time.sleep(seconds)


def _wait_for_cancel(task: Task) -> Task | None:
    """The task once it is canceled, or None if it is not within the watch."""
    deadline = time.monotonic() + STAY_PENDING_WATCH_SECONDS
    while time.monotonic() < deadline:
        _sleep(STAY_PENDING_CHECK_SECONDS)
        refreshed = Task.objects.filter(pk=task.pk).first()
        if refreshed is None:
            return None
        if refreshed.canceled_at is not None:
            return refreshed
    return None


def _wait_for_step(task: Task, step: timeline.Step) -> Task | None:
    """Sleep until the step begins; the task as read afterwards, or None if gone.

    The wait is measured on the monotonic clock from one reading of the sandbox clock,
    so a frozen clock in a test cannot make it wait forever. A step that waits for input
    images being fetched, or for its images being drawn, is re-read until it knows when
    it begins.
    """
    begins = timeline.step_begins_at(task, step)
    given_up_at = time.monotonic() + INPUTS_WAIT_SECONDS
    while begins is None:
        if time.monotonic() > given_up_at:
            logger.warning("sandbox webhooks for task %s gave up waiting for inputs", task.pk)
            return None
        drawing = timeline.waits_for_drawing(task, step)
        _sleep(DRAWING_CHECK_SECONDS if drawing else INPUTS_CHECK_SECONDS)
        refreshed = Task.objects.filter(pk=task.pk).first()
        if refreshed is None:
            return None
        task = refreshed
        begins = timeline.step_begins_at(task, step)
    delay = (begins - timeline.now()).total_seconds()
    deadline = time.monotonic() + max(0.0, delay)
    while (remaining := deadline - time.monotonic()) > 0:
        _sleep(min(remaining, CANCEL_CHECK_SECONDS))
        if step.index == 1:  # still waiting in pending: a cancel ends the timeline
            canceled = Task.objects.filter(pk=task.pk, canceled_at__isnull=False).exists()
            if canceled:
                break
    return Task.objects.filter(pk=task.pk).first()


def _payload(task: Task, step: timeline.Step) -> dict[str, Any]:
    """The task at `step` as its protocol shows it."""
    if task.protocol == Protocol.LEGNEXT:
        return legnext_payloads.job_object(task, step)
    return payloads.task_object(task, step)


def _send(task: Task, data: dict[str, Any]) -> None:
    copies = 2 if Behaviour.DUPLICATE_WEBHOOKS in task.behaviours else 1
    for _ in range(copies):
        _post_with_retries(task, data)


def _post_with_retries(task: Task, data: dict[str, Any]) -> bool:
    scale = INSTANT_BACKOFF_SCALE if task.step_seconds <= 0 else 1.0
    where = _loggable(task.webhook_endpoint)
    for attempt in range(1 + RETRIES):
        if attempt:
            _sleep(BACKOFF_SECONDS * 2 ** (attempt - 1) * scale)
        body = json.dumps({"timestamp": int(time.time()), "data": data})
        headers = {"Content-Type": "application/json"}
        if task.protocol == Protocol.PIAPI:
            headers["x-webhook-secret"] = task.webhook_secret
        try:
            response = requests.post(
                task.webhook_endpoint,
                data=body,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
                # A redirect would carry the secret header to wherever it points.
                allow_redirects=False,
            )
        except requests.RequestException as error:
            logger.info(
                "sandbox webhook for task %s to %s failed: %s", task.pk, where, type(error).__name__
            )
            continue
        if 200 <= response.status_code < 300:
            Task.objects.filter(pk=task.pk).update(webhooks_delivered=F("webhooks_delivered") + 1)
            return True
        logger.info(
            "sandbox webhook for task %s to %s answered %s", task.pk, where, response.status_code
        )
    logger.warning(
        "sandbox webhook for task %s to %s given up after %s attempts", task.pk, where, 1 + RETRIES
    )
    return False


def _loggable(endpoint: str) -> str:
    # Without the query string: a receiver may carry a token there.
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
