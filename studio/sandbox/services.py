"""What the sandbox's endpoints do: create, cancel, account. Views only translate HTTP."""

from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

from studio.sandbox import behaviours, timeline, validation, webhooks
from studio.sandbox.models import Task, TaskStatus, hash_api_key
from studio.sandbox.payloads import POINTS_PER_USD, points_for

# Every sandbox account starts with $100 of points.
TOTAL_CREDITS = 100 * POINTS_PER_USD
PLAN = "creator"


class Refused(Exception):
    """The call is answered with an HTTP error status; nothing was created."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def task_create(*, api_key: str, body: object, base_url: str) -> Task:
    """Validate a create-task body and store the task; its timeline starts now.

    Raises validation.InvalidRequest for a body the provider would reject, and Refused
    when a behaviour tells the call to fail. Webhooks start after the commit, so that
    the delivery thread (and any other process) can read the task.
    """
    request = validation.normalise_create(body)
    prompt = request.input["prompt"]
    applied = behaviours.for_prompt(prompt)
    failure = behaviours.http_failure(applied, prompt)
    if failure is not None:
        status, message = failure
        raise Refused(status, message, {"Retry-After": "1"} if status == 429 else None)
    step_seconds = float(settings.SANDBOX_STEP_SECONDS)
    if behaviours.Behaviour.SLOW in applied:
        step_seconds *= behaviours.SLOW_FACTOR
    with transaction.atomic():
        task = Task.objects.create(
            api_key_hash=hash_api_key(api_key),
            model=request.model,
            task_type=request.task_type,
            input=request.input,
            config=request.config,
            behaviours=[str(behaviour) for behaviour in applied],
            step_seconds=step_seconds,
            base_url=base_url,
            created_at=timeline.now(),
        )
        if task.webhook_endpoint and behaviours.Behaviour.DROP_WEBHOOKS not in applied:
            transaction.on_commit(partial(webhooks.start, task.task_id))
    return task


def task_cancel(*, task: Task) -> None:
    """Cancel a task that is still pending; InvalidRequest otherwise."""
    moment = timeline.now()
    step = timeline.step_at(task, moment)
    if step.status != TaskStatus.PENDING:
        raise validation.InvalidRequest(
            f"task {task.task_id} is {step.status}; only a pending task can be canceled"
        )
    Task.objects.filter(pk=task.pk, canceled_at__isnull=True).update(canceled_at=moment)


def account_info(*, api_key: str) -> dict[str, Any]:
    """The account's credits: completed tasks are charged, running ones held."""
    moment = timeline.now()
    used = frozen = 0
    for task in Task.objects.for_api_key(api_key).iterator():
        step = timeline.step_at(task, moment)
        if step.status == TaskStatus.COMPLETED:
            used += points_for(task)
        elif not step.is_final:
            frozen += points_for(task)
    available = TOTAL_CREDITS - used - frozen
    key_hash = hash_api_key(api_key)
    return {
        "account_id": int(key_hash[:8], 16),
        "account_name": f"sandbox-{key_hash[:8]}",
        "credit_pack_info": {
            "available_credits": available,
            "used_credits": used,
            "total_credits": TOTAL_CREDITS,
            "frozen_credits": frozen,
        },
        "equivalent_in_usd": round(available / POINTS_PER_USD, 2),
        "plan": PLAN,
    }
