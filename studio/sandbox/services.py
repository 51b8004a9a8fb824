"""What the sandbox's endpoints do: create, cancel, account. Views only translate HTTP."""

import json
import logging
import threading
import uuid
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from studio.sandbox import (
    art,
    behaviours,
    fetching,
    images,
    prompts,
    recipes,
    timeline,
    validation,
    webhooks,
)
from studio.sandbox.models import Protocol, ResultKind, Task, TaskStatus, hash_api_key
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


logger = logging.getLogger(__name__)


def task_create(*, api_key: str, body: object, base_url: str) -> Task:
    """Validate a PiAPI create-task body and store the task; its timeline starts now.

    Raises validation.InvalidRequest for a body the provider would reject (a follow-up
    of a task that is not this key's, not completed, or of the wrong kind included), and
    Refused when a behaviour tells the call to fail.
    """
    request = validation.normalise_create(
        body, find_origin=partial(origin_for_follow_up, api_key=api_key)
    )
    return task_store(api_key=api_key, request=request, base_url=base_url)


def task_store(
    *,
    api_key: str,
    request: validation.CreateRequest,
    base_url: str,
    protocol: Protocol = Protocol.PIAPI,
) -> Task:
    """Store a validated task, in the sandbox's internal form, made through `protocol`'s
    API; its timeline starts now.

    Raises Refused when a behaviour tells the call to fail. Webhooks, and the fetch of
    input images (describe, blend, a mask by URL), start after the commit, so that their
    threads (and any other process) can read the task.
    """
    origin = request.origin.task if request.origin else None
    # Only the task's own prompt carries markers: a follow-up does not inherit them.
    prompt = str(request.input.get("prompt", ""))
    applied = behaviours.for_prompt(prompt)
    failure = behaviours.http_failure(applied, prompt)
    if failure is not None:
        status, message = failure
        raise Refused(status, message, {"Retry-After": "1"} if status == 429 else None)
    step_seconds = float(settings.SANDBOX_STEP_SECONDS)
    if behaviours.Behaviour.SLOW in applied:
        step_seconds *= behaviours.SLOW_FACTOR
    with transaction.atomic():
        task = Task(
            api_key_hash=hash_api_key(api_key),
            protocol=protocol,
            model=request.model,
            task_type=request.task_type,
            input=request.input,
            config=request.config,
            behaviours=[str(behaviour) for behaviour in applied],
            step_seconds=step_seconds,
            base_url=base_url,
            created_at=timeline.now(),
            origin=origin,
            seed=_seed_for(request.task_type, request.input, origin),
            model_version=_model_version(prompt, origin),
        )
        task.draws_ahead = (
            settings.SANDBOX_DRAW_AHEAD
            and task.result_kind in DRAWN_AHEAD
            and not task.fetches_inputs
            # Not a task told to fail, stay pending or never finish: it shows no images.
            and timeline.plan_for(task)[-1].status == TaskStatus.COMPLETED
        )
        task.save(force_insert=True)
        if task.fetches_inputs:
            transaction.on_commit(partial(fetching.start, task.task_id))
        if task.webhook_endpoint and behaviours.Behaviour.DROP_WEBHOOKS not in applied:
            transaction.on_commit(partial(webhooks.start, task.task_id))
    if task.draws_ahead:
        _draw_ahead(task.task_id)
    return task


# What is drawn while its task runs (SANDBOX_DRAW_AHEAD): pictures the task makes itself,
# not from images it fetches first.
DRAWN_AHEAD = (ResultKind.GRID, ResultKind.UPSCALE)


def _draw_ahead(task_id: uuid.UUID) -> None:
    """Draw the task's images in a thread and record when they are drawn: the task
    completes no earlier (timeline.step_begins_at), as a provider reports images it has."""
    result = recipes.result_by_id(task_id)

    def draw() -> None:
        try:
            if result is not None:
                for name in images.names_for(result):
                    images.render_png(result, name)
        finally:
            try:
                Task.objects.filter(pk=task_id, drawn_at__isnull=True).update(
                    drawn_at=timeline.now()
                )
            except Exception:
                # The task then completes DRAWING_WAITED_SECONDS late, its images drawn.
                logger.exception("sandbox: the drawing of task %s was not recorded", task_id)
            finally:
                # Each thread has its own database connection; don't leak it.
                connection.close()

    threading.Thread(target=draw, name="sandbox-draw-ahead", daemon=True).start()


def origin_for_follow_up(task_id: object, *, api_key: str) -> validation.Origin:
    """The completed task, made with this key, that a follow-up names as its origin;
    InvalidRequest otherwise (another key's task is as unknown as a missing one)."""
    if not isinstance(task_id, str) or not task_id.strip():
        raise validation.InvalidRequest("input.origin_task_id is required")
    try:
        parsed = uuid.UUID(task_id.strip())
    except ValueError:
        raise validation.InvalidRequest(f"origin task {task_id} not found") from None
    task = (
        Task.objects.for_api_key(api_key)
        .for_protocol(Protocol.PIAPI)
        .select_related("origin")
        .filter(pk=parsed)
        .first()
    )
    if task is None:
        raise validation.InvalidRequest(f"origin task {task_id} not found")
    step = timeline.current_step(task)
    if step.status != TaskStatus.COMPLETED:
        raise validation.InvalidRequest(
            f"origin task {task.task_id} is {step.status}; only a completed task can be followed up"
        )
    image_size = None
    if task.result_kind == ResultKind.UPSCALE:
        image_size = recipes.picture_of(task).size
    return validation.Origin(
        task=task,
        kind=task.result_kind,
        model_version=task.model_version,
        process_mode=str(task.input.get("process_mode") or ""),
        upscale_of_upscale=task.is_upscale_of_upscale,
        image_size=image_size,
    )


def _seed_for(task_type: str, task_input: dict[str, Any], origin: Task | None) -> int:
    """The seed a new task's pictures are drawn with.

    An imagine's comes from its prompt (its --seed, else its words), so the same prompt
    draws the same grid. A follow-up's comes from its origin's seed and its input, and
    from how many such follow-ups the origin already has: asking the same thing again
    gives a new result, as on Midjourney, yet every run of a test sees the same bytes.
    A reroll whose prompt names a --seed draws with it, as Midjourney does.
    """
    prompt = str(task_input.get("prompt") or "")
    if task_type == "imagine":
        return prompts.seed(prompt)
    if origin is None:  # describe, blend: from what they were asked
        return art.derived_seed(task_type, _canonical(task_input))
    if task_type == "seed":
        return origin.seed
    if task_type == "reroll":
        effective = prompt or origin.effective_prompt()
        if prompts.SEED_FLAG.search(effective):
            return prompts.seed(effective)
    earlier = origin.follow_ups.filter(task_type=task_type).count()
    return art.derived_seed(task_type, origin.seed, _canonical(task_input), earlier)


# What changes the price or names the origin (a random task id: its seed stands for
# it), not the picture: kept out of a follow-up's seed, so that every run draws the same.
NOT_DRAWN = {"process_mode", "origin_task_id"}


def _canonical(task_input: dict[str, Any]) -> str:
    asked = {name: value for name, value in task_input.items() if name not in NOT_DRAWN}
    return json.dumps(asked, sort_keys=True)


def _model_version(prompt: str, origin: Task | None) -> str:
    version = prompts.model_version(prompt)
    if version == "unknown" and origin is not None:
        return origin.model_version
    return version


def task_cancel(*, task: Task) -> None:
    """Cancel a task that is still pending; InvalidRequest otherwise."""
    moment = timeline.now()
    step = timeline.step_at(task, moment)
    # Every task type alike: only a task that has not started can be canceled.
    if step.status != TaskStatus.PENDING:
        raise validation.InvalidRequest(
            f"task {task.task_id} is {step.status}; only a pending task can be canceled"
        )
    Task.objects.filter(pk=task.pk, canceled_at__isnull=True).update(canceled_at=moment)


NO_CREDITS_PREFIX = "nocredits"


def has_no_credits(api_key: str) -> bool:
    """Keys starting with "nocredits" belong to an account with nothing left to spend,
    so failover to a team's next key can be tried."""
    return api_key.startswith(NO_CREDITS_PREFIX)


def account_info(*, api_key: str) -> dict[str, Any]:
    """The PiAPI account's credits: completed tasks are charged, running ones held."""
    moment = timeline.now()
    used = frozen = 0
    for task in Task.objects.for_api_key(api_key).for_protocol(Protocol.PIAPI).iterator():
        step = timeline.step_at(task, moment)
        if step.status == TaskStatus.COMPLETED:
            used += points_for(task)
        elif not step.is_final:
            frozen += points_for(task)
    total = 0 if has_no_credits(api_key) else TOTAL_CREDITS
    available = total - used - frozen
    key_hash = hash_api_key(api_key)
    return {
        "account_id": int(key_hash[:8], 16),
        "account_name": f"sandbox-{key_hash[:8]}",
        "credit_pack_info": {
            "available_credits": available,
            "used_credits": used,
            "total_credits": total,
            "frozen_credits": frozen,
        },
        "equivalent_in_usd": round(available / POINTS_PER_USD, 2),
        "plan": PLAN,
    }
