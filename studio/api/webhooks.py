"""Webhooks to API callers: a task made with `config.webhook_config` is POSTed to the
caller's endpoint as `{timestamp, data}` (data: the task object, as GET answers it), with
the caller's secret in `x-webhook-secret`, on each change (see shared/piapi-protocol.md,
Webhooks).

Each change is one `OutgoingWebhook` row, recorded unless it says what the last one
said, without the secret (encrypted on the task; put back only into the bytes sent).
A task's deliveries go out one at a time, oldest first, through
`studio.inputs.fetch.post_json` (SSRF-safe like every outgoing fetch). A delivery not
answered 2xx is sent again with backoff, and given up after API_WEBHOOK_ATTEMPTS; one
older than a state already sent is skipped, so a receiver never sees the task move
backwards (it still dedupes: a 2xx lost on the way makes Studio send again).
"""

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from studio.api import protocol
from studio.api.models import ApiTask, ApiToken, DeliveryStatus, OutgoingWebhook
from studio.inputs.errors import InputImageError
from studio.inputs.fetch import PostAnswer, UnsafeLink, post_json

logger = logging.getLogger(__name__)

# How far along each PiAPI status is: what the caller receives only moves up.
STATUS_RANK = {"staged": 0, "pending": 1, "processing": 2, "completed": 3, "failed": 3}
# A send takes at most the POST's time limit; the lease leaves room for the database.
LEASE_MARGIN_SECONDS = 15
# The start of a refusal's body kept as its reason.
REASON_CHARACTERS = 120


def webhook_record(*, job_id: int) -> OutgoingWebhook | None:
    """Record the task's state as a delivery, if the job was made through the API with
    a webhook endpoint and its state moved since the last one recorded (forward only).
    Returns the new delivery, or None."""
    with transaction.atomic():
        # Locked, so that two changes recorded at once land in the order of the states
        # they read (SQLite: the transaction takes the write lock up front).
        api_task = (
            ApiTask.objects.select_for_update()
            .filter(job_id=job_id)
            .exclude(webhook_endpoint="")
            .first()
        )
        if api_task is None:
            return None
        api_task = ApiTask.objects.select_related("job", "token").get(pk=api_task.pk)
        payload = _without_secret(protocol.task_object(api_task))
        last = api_task.deliveries.order_by("-pk").first()
        if last is not None and not _moved_on(last.payload, payload):
            return None
        return OutgoingWebhook.objects.create(
            api_task=api_task,
            token=api_task.token,
            payload=payload,
            task_status=payload["status"],
            progress=payload["output"].get("progress") or 0,
        )


def _rank(payload: dict[str, Any]) -> tuple[int, int]:
    return STATUS_RANK.get(payload["status"], 0), int(payload["output"].get("progress") or 0)


def _says(payload: dict[str, Any]) -> tuple[Any, ...]:
    """What a caller acts on: the status, the progress, the reason of a failure, whether
    the images are there (a lost result that is downloaded again completes twice)."""
    output = payload["output"]
    return (
        payload["status"],
        output.get("progress"),
        (payload.get("error") or {}).get("message"),
        bool(output.get("image_url") or output.get("temporary_image_urls")),
    )


def _moved_on(last: dict[str, Any], now: dict[str, Any]) -> bool:
    return _rank(now) >= _rank(last) and _says(now) != _says(last)


def _without_secret(task: dict[str, Any]) -> dict[str, Any]:
    task["config"]["webhook_config"].pop("secret", None)
    return task


def _with_secret(payload: dict[str, Any], secret: str) -> dict[str, Any]:
    hook = {**payload["config"]["webhook_config"], "secret": secret}
    return {**payload, "config": {**payload["config"], "webhook_config": hook}}


def webhooks_deliver(*, api_task_id: int) -> None:
    """Send the task's deliveries that are due, one at a time, oldest first. Safe to run
    twice or at once: a delivery is claimed before it is sent, and none is claimed while
    another of the same task is on its way."""
    while (delivery := _claim_next(api_task_id)) is not None:
        _send(delivery)


def _claim_next(api_task_id: int) -> OutgoingWebhook | None:
    from studio.api import tasks

    now = timezone.now()
    with transaction.atomic():
        # The task's row is the lock that puts its deliveries in one line.
        if not ApiTask.objects.select_for_update().filter(pk=api_task_id).exists():
            return None
        deliveries = OutgoingWebhook.objects.filter(api_task_id=api_task_id)
        pending = deliveries.filter(status=DeliveryStatus.PENDING)
        in_flight = pending.filter(sending_until__gt=now).aggregate(until=Max("sending_until"))
        if in_flight["until"] is not None:
            # Its sender takes the next one when done; this is in case it died.
            _deliver_later(tasks, api_task_id, in_flight["until"])
            return None
        newest_tried = deliveries.filter(
            Q(status=DeliveryStatus.DELIVERED) | Q(attempts__gt=0)
        ).aggregate(pk=Max("pk"))["pk"]
        if newest_tried is not None:
            pending.filter(pk__lt=newest_tried).update(
                status=DeliveryStatus.SUPERSEDED, sending_until=None
            )
        delivery = pending.filter(next_attempt_at__lte=now).order_by("pk").first()
        if delivery is None:
            return None
        lease = settings.API_WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS
        OutgoingWebhook.objects.filter(pk=delivery.pk).update(
            attempts=F("attempts") + 1, sending_until=now + timedelta(seconds=lease)
        )
    return OutgoingWebhook.objects.select_related("api_task").get(pk=delivery.pk)


def _deliver_later(tasks: Any, api_task_id: int, when: datetime) -> None:
    transaction.on_commit(
        lambda: tasks.deliver_api_webhooks.using(run_after=when).enqueue(api_task_id)
    )


def _send(delivery: OutgoingWebhook) -> None:
    api_task = delivery.api_task
    secret = protocol.webhook_secret(api_task)
    body = {
        # When the task changed (the same in every retry of this delivery).
        "timestamp": int(delivery.created_at.timestamp()),
        "data": _with_secret(delivery.payload, secret),
    }
    try:
        answer = post_json(
            api_task.webhook_endpoint,
            json.dumps(body, ensure_ascii=False).encode(),
            headers={"x-webhook-secret": secret},
            timeout=settings.API_WEBHOOK_TIMEOUT_SECONDS,
        )
    except UnsafeLink as unsafe:
        # A host Studio cannot find may come back; an address inside never becomes public.
        permanent = "could not find" not in unsafe.reason
        _failed(delivery, f"The endpoint {unsafe.reason}: {unsafe}", give_up=permanent)
        return
    except InputImageError as problem:
        _failed(delivery, str(problem))
        return
    if 200 <= answer.status < 300:
        OutgoingWebhook.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.DELIVERED,
            response_code=answer.status,
            error="",
            delivered_at=timezone.now(),
            sending_until=None,
        )
        return
    _failed(delivery, _refusal(answer), response_code=answer.status)


def _refusal(answer: PostAnswer) -> str:
    if 300 <= answer.status < 400:
        return (
            f"The endpoint answered HTTP {answer.status} (a redirect); Studio does not "
            "follow redirects with a webhook, so give the final address."
        )
    text = " ".join(answer.body.decode("utf-8", "replace").split())[:REASON_CHARACTERS]
    return f"The endpoint answered HTTP {answer.status}" + (f": {text}" if text else ".")


def _failed(
    delivery: OutgoingWebhook,
    reason: str,
    *,
    response_code: int | None = None,
    give_up: bool = False,
) -> None:
    """Send it again after the backoff, or give up when its attempts are spent."""
    from studio.api import tasks

    attempts = (
        OutgoingWebhook.objects.filter(pk=delivery.pk).values_list("attempts", flat=True).first()
    )
    if attempts is None:
        return  # its task was deleted meanwhile
    changes: dict[str, Any] = {
        "response_code": response_code,
        "sending_until": None,
    }
    if give_up or attempts >= settings.API_WEBHOOK_ATTEMPTS:
        tries = "once" if attempts == 1 else f"{attempts} times"
        changes["status"] = DeliveryStatus.FAILED
        changes["error"] = f"{reason} (tried {tries}; Studio gave up)"[:300]
    else:
        delay = settings.API_WEBHOOK_BACKOFF_SECONDS * 4 ** (attempts - 1)
        retry_at = timezone.now() + timedelta(seconds=delay)
        changes["next_attempt_at"] = retry_at
        changes["error"] = reason[:300]
    logger.info("webhook %s of task %s: %s", delivery.pk, delivery.api_task_id, reason)
    OutgoingWebhook.objects.filter(pk=delivery.pk).update(**changes)
    if "next_attempt_at" in changes:
        tasks.deliver_api_webhooks.using(run_after=changes["next_attempt_at"]).enqueue(
            delivery.api_task_id
        )


def recent_deliveries(token: ApiToken, *, limit: int = 50) -> list[OutgoingWebhook]:
    """The token's latest deliveries, newest first, for its page."""
    return list(token.deliveries.select_related("api_task").order_by("-created_at", "-pk")[:limit])
