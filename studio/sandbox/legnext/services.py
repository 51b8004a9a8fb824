"""What LegNext's endpoints do: make a job, find one, tell the balance. Views only
translate HTTP."""

import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from studio.sandbox import services, timeline
from studio.sandbox.legnext import payloads, translation
from studio.sandbox.legnext.translation import ActionRefused, Body
from studio.sandbox.models import Protocol, Task, TaskQuerySet, TaskStatus, hash_api_key

# Every sandbox account starts with $100, as PiAPI's does.
TOTAL_CREDITS = 100 * payloads.CREDITS_PER_USD
# Follow-ups are allowed for 3 days after a job was made (legnext-protocol.md §6).
FOLLOW_UP_PERIOD = timedelta(days=3)


def job_create(*, api_key: str, endpoint: str, body: Body, base_url: str) -> Task:
    """Check a call to /v1/<endpoint> and store its job; its timeline starts now.

    Raises InvalidParameters for a body LegNext would reject, ActionRefused for a
    follow-up the named job does not allow, and services.Refused when the credits left
    do not cover the price (402) or a behaviour tells the call to fail.
    """
    request = translation.translate(
        endpoint, body, find_job=partial(followable_job, api_key=api_key)
    )
    credits = translation.credits_in(request)
    available = account_balance(api_key=api_key)["data"]["available_credits"]
    if credits > available:
        raise services.Refused(
            402, f"Insufficient credits: this job costs {credits}, {available} are left"
        )
    return services.task_store(
        api_key=api_key, request=request, base_url=base_url, protocol=Protocol.LEGNEXT
    )


def jobs_of(api_key: str) -> TaskQuerySet:
    """The jobs made through LegNext's API with this key."""
    return Task.objects.for_api_key(api_key).for_protocol(Protocol.LEGNEXT)


def job_for_key(job_id: str, *, api_key: str) -> Task | None:
    """The job, if this key made it through LegNext's API; another key sees nothing."""
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        return None
    return jobs_of(api_key).select_related("origin").filter(pk=parsed).first()


def followable_job(job_id: object, *, api_key: str) -> Task:
    """The job a follow-up names: this key's, completed, at most 3 days old;
    ActionRefused otherwise (404 for a job this key cannot see)."""
    text = str(job_id)
    try:
        uuid.UUID(text)
    except ValueError:
        raise ActionRefused(400, f"jobId {text!r} is not a job id") from None
    job = job_for_key(text, api_key=api_key)
    if job is None:
        raise ActionRefused(404, f"job {text} not found")
    status = payloads.status_of(timeline.current_step(job))
    if status != TaskStatus.COMPLETED:
        raise ActionRefused(
            400, f"job {job.task_id} is {status}; only a completed job can be followed up"
        )
    if timeline.now() - job.created_at > FOLLOW_UP_PERIOD:
        raise ActionRefused(
            400,
            f"job {job.task_id} was made more than 3 days ago; follow-ups are allowed for 3 days",
        )
    return job


def account_balance(*, api_key: str) -> dict[str, Any]:
    """The balance body: completed jobs consume their price, running ones hold it,
    failed ones cost nothing."""
    moment = timeline.now()
    spent = 0
    updated_at: datetime | None = None
    for job in jobs_of(api_key).iterator():
        step = timeline.step_at(job, moment)
        if step.status != TaskStatus.FAILED:
            spent += payloads.credits_of(job)
        # The balance last changed when a job was made (held) or ended (consumed or
        # given back).
        changed = timeline.ended_at(job, step) or job.created_at
        updated_at = max(updated_at or changed, changed)
    total = 0 if services.has_no_credits(api_key) else TOTAL_CREDITS
    return payloads.balance_body(
        account_id=int(hash_api_key(api_key)[:8], 16),
        credits=max(0, total - spent),
        points=0,
        updated_at=updated_at or moment,
    )
