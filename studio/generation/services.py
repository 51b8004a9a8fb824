"""The generation workflow: submit a job, send it to the provider, follow it to the end,
and keep its images.

`job_advance` is the one function that moves a job's status. Webhook receiver, worker,
poller and deadline sweeper all call it; it moves forward only, with a conditional
UPDATE, and only the call that wins schedules side effects.
"""

import base64
import io
import logging
import math
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from studio.accounts import audit
from studio.accounts.models import User
from studio.billing import services as billing
from studio.gallery.live import push_new_tiles
from studio.generation import live, tasks
from studio.generation.actions import action_from_name
from studio.generation.models import (
    FINISHED_STATUSES,
    PROVIDER_STATUS,
    Job,
    Operation,
    ProcessMode,
    ResultImage,
    Status,
)
from studio.inputs.models import InputImage
from studio.piapi.client import OutcomeUnknown, PiAPIClient, ProviderError, ProviderTask
from studio.projects.models import Project

logger = logging.getLogger(__name__)

MAX_STORE_ATTEMPTS = 5
THUMBNAIL_SIZE = 1024  # cards, crisp on 2× screens
SMALL_THUMBNAIL_SIZE = 480  # gallery tiles


class NoProviderKey(Exception):
    pass


class FollowUpRefused(Exception):
    """A follow-up, cancel or input that cannot be done; the message is for people."""


def _job_create(
    *,
    project: Project,
    user: User,
    operation: str,
    parent: Job | None = None,
    prompt: str = "",
    aspect_ratio: str = "1:1",
    process_mode: str = ProcessMode.FAST,
    parameters: dict[str, Any] | None = None,
    prompt_parameters: dict[str, Any] | None = None,
    inputs: Sequence[InputImage] = (),
) -> Job:
    """Create a queued job and enqueue its dispatch in one transaction: both are stored,
    or neither."""
    with transaction.atomic():
        job = Job.objects.create(
            project=project,
            created_by=user,
            operation=operation,
            parent=parent,
            prompt=prompt,
            aspect_ratio=aspect_ratio,
            process_mode=process_mode,
            parameters=parameters or {},
            prompt_parameters=prompt_parameters or {},
        )
        job.root_id = parent.root_id if parent else job.pk
        job.last_event_at = job.created_at
        job.save(update_fields=["root", "last_event_at"])
        if inputs:
            job.inputs.set(inputs)
        # Money first: over budget, the whole transaction (job included) is undone.
        billing.job_hold(job=job)
        tasks.dispatch_team.enqueue(project.team_id)
        transaction.on_commit(partial(live.push_job, job.pk, created=True))
    return job


def job_submit(
    *,
    project: Project,
    user: User,
    prompt: str,
    aspect_ratio: str = "1:1",
    process_mode: str = ProcessMode.FAST,
    prompt_parameters: dict[str, Any] | None = None,
    inputs: Sequence[InputImage] = (),
) -> Job:
    """An imagine job: `prompt` is the compiled prompt (flags inside, no mode flag);
    `inputs` are the project's images its links point to."""
    return _job_create(
        project=project,
        user=user,
        operation=Operation.IMAGINE,
        prompt=prompt,
        aspect_ratio=aspect_ratio,
        process_mode=process_mode,
        prompt_parameters=prompt_parameters,
        inputs=inputs,
    )


def job_follow_up(
    *,
    parent: Job,
    user: User,
    action_name: str,
    prompt: str = "",
    mask: str = "",
    inputs: Sequence[InputImage] = (),
) -> Job:
    """A child job performing one of the actions the parent's result offers; `inputs`
    are the project's images the provider may fetch for it."""
    if parent.status != Status.COMPLETED:
        raise FollowUpRefused("This job has not finished yet; wait for its result.")
    action = None
    if action_name in (parent.output or {}).get("actions", []):
        action = action_from_name(action_name)
    if action is None:
        raise FollowUpRefused(f"“{action_name}” is not offered for this result.")
    parameters: dict[str, Any] = dict(action.parameters)
    prompt = prompt.strip()
    if len(prompt) > settings.PROMPT_MAX_LENGTH:
        raise FollowUpRefused(
            f"The prompt is {len(prompt)} characters long; the limit is "
            f"{settings.PROMPT_MAX_LENGTH}."
        )
    if action.operation == Operation.VARIATION:
        # The provider's docs mark the (remix) prompt as required for variations.
        parameters["prompt"] = prompt or parent.prompt
    elif prompt:
        parameters["prompt"] = prompt
    if action.operation == Operation.INPAINT:
        parameters["mask"] = _checked_mask(parent, mask)
    return _job_create(
        project=parent.project,
        user=user,
        operation=action.operation,
        parent=parent,
        prompt=prompt or parent.prompt,
        aspect_ratio=parent.aspect_ratio,
        process_mode=parent.process_mode,
        parameters=parameters,
        inputs=inputs,
    )


def _checked_mask(parent: Job, mask: str) -> str:
    """The mask as the provider wants it (base64 PNG, white = repaint, the image's size)."""
    if not mask:
        raise FollowUpRefused("Draw the region to repaint first.")
    encoded = mask.split(",", 1)[1] if mask.startswith("data:") else mask
    try:
        raw = base64.b64decode(encoded, validate=True)
        with Image.open(io.BytesIO(raw)) as drawn:
            if drawn.format != "PNG":
                raise ValueError
            size = drawn.size
            brightest = drawn.convert("L").getextrema()[1]
            has_white = isinstance(brightest, (int, float)) and brightest >= 128
    except (ValueError, OSError):
        raise FollowUpRefused("The region could not be read; draw it again.") from None
    image = parent.grid_image
    if image is None:
        raise FollowUpRefused("This result's image is not stored yet; try again in a moment.")
    if size != (image.width, image.height):
        raise FollowUpRefused(
            f"The region is {size[0]}×{size[1]} px but the image is "
            f"{image.width}×{image.height} px; draw it again."
        )
    if not has_white:
        raise FollowUpRefused("The region is empty: paint over the part to change.")
    return encoded


def job_seed(*, parent: Job, user: User) -> Job:
    """Ask the provider for the seed of a grid."""
    if parent.status != Status.COMPLETED or not parent.has_grid or not parent.makes_images:
        raise FollowUpRefused("Only a finished grid has a seed to show.")
    return _job_create(
        project=parent.project,
        user=user,
        operation=Operation.SEED,
        parent=parent,
        prompt=parent.prompt,
        aspect_ratio=parent.aspect_ratio,
        process_mode=parent.process_mode,
    )


def job_describe(
    *, project: Project, user: User, image: InputImage, process_mode: str = ProcessMode.FAST
) -> Job:
    """Four prompts for an image."""
    return _job_create(
        project=project,
        user=user,
        operation=Operation.DESCRIBE,
        aspect_ratio=f"{image.width}:{image.height}",
        process_mode=process_mode,
        parameters={"input_ids": [image.pk]},
        inputs=[image],
    )


BLEND_DIMENSIONS = {"square": "1:1", "portrait": "2:3", "landscape": "3:2"}


def job_blend(
    *,
    project: Project,
    user: User,
    images: Sequence[InputImage],
    dimension: str = "square",
    process_mode: str = ProcessMode.FAST,
) -> Job:
    """A grid mixing 2–5 images."""
    if not 2 <= len(images) <= 5:
        raise FollowUpRefused(f"Blend takes 2 to 5 images; you picked {len(images)}.")
    if dimension not in BLEND_DIMENSIONS:
        raise FollowUpRefused("The dimension must be square, portrait or landscape.")
    return _job_create(
        project=project,
        user=user,
        operation=Operation.BLEND,
        aspect_ratio=BLEND_DIMENSIONS[dimension],
        process_mode=process_mode,
        parameters={"input_ids": [image.pk for image in images], "dimension": dimension},
        inputs=images,
    )


def job_cancel(*, job: Job) -> None:
    """Cancel a job that has not started: at once if Studio still holds it, else by
    asking the provider (which allows it only while the task is pending). A job whose
    create is on its way, or was never confirmed, cannot be canceled: the provider may
    have made the task."""
    if job.status == Status.QUEUED:
        # Only while nothing went out: a send in flight may already have made a task.
        if job_advance(job, status=Status.CANCELED, error="", only_if_unsent=True):
            return
        job.refresh_from_db()
    if job.status == Status.SUBMITTED:
        tasks.cancel_job.enqueue(job.pk)
        return
    if job.status in (Status.QUEUED, Status.UNCONFIRMED, Status.UNKNOWN):
        raise FollowUpRefused(
            "This job has already been sent and the provider has not confirmed it yet, so "
            "it cannot be canceled now; it will not be sent twice."
        )
    raise FollowUpRefused("Only a job that has not started yet can be canceled.")


def job_cancel_at_provider(*, job_id: int) -> None:
    job = Job.objects.select_related("project__team", "provider_key").get(pk=job_id)
    if job.status != Status.SUBMITTED or not job.provider_task_id:
        return
    try:
        provider_client(job).cancel_task(job.provider_task_id)
    except (ProviderError, NoProviderKey) as exc:
        Job.objects.filter(pk=job.pk).update(
            note=f"Not canceled: {exc} (the provider only cancels jobs that wait)."[:300]
        )
        live.push_job(job.pk)
        return
    job_advance(job, status=Status.CANCELED)


def job_advance(
    job: Job,
    *,
    status: str,
    progress: int | None = None,
    only_if_unsent: bool = False,
    **changes: Any,
) -> bool:
    """Move `job` to `status` if that is forward (or, while processing, to a higher
    progress). Returns whether this call won; only then are side effects scheduled.
    `only_if_unsent` moves it only if it is still queued with no create on its way."""
    now = timezone.now()
    # A note explains a wait; news ends it, unless the move brings a note of its own.
    values: dict[str, Any] = {"status": status, "last_event_at": now, "note": "", **changes}
    if progress is not None:
        values["progress"] = progress
    if status == Status.COMPLETED:
        values["progress"] = 100
    if status in (Status.COMPLETED, Status.FAILED, Status.CANCELED):
        values.setdefault("finished_at", now)
    with transaction.atomic():
        candidates = Job.objects.filter(pk=job.pk).can_advance_to(status, progress)
        if only_if_unsent:
            candidates = candidates.filter(status=Status.QUEUED, sent_at__isnull=True)
        won = candidates.update(**values) == 1
        if not won:
            return False
        for name, value in values.items():
            setattr(job, name, value)
        if status == Status.COMPLETED:
            billing.job_settle(
                job=job, charge=True, provider_usage=(job.output or {}).get("usage") or {}
            )
            if job.makes_images:
                tasks.store_results.enqueue(job.pk, 1)
        elif status in (Status.FAILED, Status.CANCELED):
            billing.job_settle(job=job, charge=False, reason=values.get("error") or status)
        if status in (Status.COMPLETED, Status.FAILED, Status.CANCELED):
            # A slot is free: the next job in line may go.
            tasks.dispatch_team.enqueue(job.project.team_id)
        transaction.on_commit(partial(live.push_job, job.pk))
    return True


class SettleRefused(Exception):
    """The hold cannot be settled (any more); the message is for people."""


def job_settle_unknown(*, job: Job, actor: User, charge: bool) -> None:
    """An admin settles the hold of a job whose outcome stayed unknown: charge it (the
    provider made and billed the task, as its dashboard shows) or release it (it made
    nothing; the job then fails and a result arriving later is ignored). Audited."""
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("project__team").get(pk=job.pk)
        if job.status != Status.UNKNOWN:
            raise SettleRefused(
                f"Job #{job.pk} is {job.get_status_display().lower()} now; its hold was settled "
                "with it."
            )
        if not Job.objects.unsettled().filter(pk=job.pk).exists():
            raise SettleRefused(f"The hold of job #{job.pk} is settled already.")
        amount = billing.held_amount(job=job)
        if charge:
            settled = billing.job_settle(
                job=job, charge=True, reason="charged by an admin: the outcome stayed unknown"
            )
            if settled:
                Job.objects.filter(pk=job.pk).update(
                    note=f"An admin charged its hold of {billing.dollars(amount)}; if the result "
                    "still arrives, the job completes."
                )
                transaction.on_commit(partial(live.push_job, job.pk))
        else:
            settled = job_advance(
                job,
                status=Status.FAILED,
                error="The provider never confirmed this job; an admin released its hold.",
            )
        if not settled:
            raise SettleRefused(f"The hold of job #{job.pk} is settled already.")
        audit.record(
            team=job.project.team,
            actor=actor,
            action="hold.charged" if charge else "hold.released",
            target=f"job #{job.pk}",
            changes={"hold": (billing.dollars(amount), "charged" if charge else "released")},
        )


def job_apply_provider_task(job: Job, task: ProviderTask) -> bool:
    """Bring `job` up to what the provider says of its task; stale news changes nothing."""
    status = PROVIDER_STATUS.get(task.status)
    if status is None:
        logger.warning("job %s: unknown provider status %r", job.pk, task.status)
        return False
    changes: dict[str, Any] = {}
    progress = None
    if status == Status.PROCESSING:
        progress = task.progress
    elif status == Status.COMPLETED:
        changes["output"] = {
            "image_url": task.image_url,
            "quadrant_urls": task.quadrant_urls,
            "actions": task.actions,
            "description": task.description,
            "seed": task.seed,
            "usage": task.usage,
        }
    elif status == Status.FAILED:
        if task.error.strip().lower() == "task canceled":
            status = Status.CANCELED
        else:
            changes["error"] = task.error or "The provider reported a failure without a reason."
    won = job_advance(job, status=status, progress=progress, **changes)
    if won and status == Status.PROCESSING and task.intermediate_urls:
        tasks.store_preview.enqueue(job.pk, task.intermediate_urls[0])
    return won


NO_KEY = "The team has no provider API key yet; a team admin must add one before jobs can run."


def provider_client(job: Job) -> PiAPIClient:
    """A client for the job's task: with the key that created it (the provider shows a
    task only to its own key), else the team's default key."""
    key = job.provider_key or job.project.team.default_provider_key()
    if key is None:
        raise NoProviderKey(NO_KEY)
    return PiAPIClient(api_key=key.reveal())


def key_refused(error: ProviderError) -> bool:
    """The provider refused the key itself (unknown key, no credits left): the team's
    next key may work."""
    return error.status_code in (401, 402, 403) or "credit" in error.message.lower()


def _create_with_failover(job: Job) -> ProviderTask:
    """Create the job's task with the team's first active key, failing over to the next
    key while keys are refused (a refusal made nothing). Raises the last ProviderError,
    NoProviderKey, or OutcomeUnknown — after which no other key is tried."""
    keys = list(job.project.team.active_provider_keys())
    if not keys:
        raise NoProviderKey(NO_KEY)
    for position, key in enumerate(keys, start=1):
        # Kept before sending: a task learnt of later (by webhook) is read with this key.
        Job.objects.filter(pk=job.pk).update(provider_key=key)
        try:
            task = PiAPIClient(api_key=key.reveal()).create_task(
                task_type=job.operation,
                input=job_provider_input(job),
                webhook_url=webhook_url(job),
                webhook_secret=job.webhook_secret,
            )
        except ProviderError as exc:
            if key_refused(exc) and position < len(keys):
                logger.warning(
                    "job %s: key %s refused (%s); trying the next key", job.pk, key, exc.message
                )
                continue
            raise
        return task
    raise AssertionError("unreachable: the loop returns or raises")


def webhook_url(job: Job) -> str:
    if not settings.STUDIO_PUBLIC_URL:
        return ""
    return settings.STUDIO_PUBLIC_URL + reverse("generation:webhook", args=[job.pk])


UNCONFIRMED_NOTE = (
    "Sent, but {what}. The provider may have made the task anyway, so Studio waits for it "
    "to confirm and will not send this job twice."
)


def job_dispatch(*, job_id: int) -> None:
    """Send a job that has a slot to the provider, at most once per attempt.

    The attempt is claimed, and the claim committed, before the POST goes out, so a job
    whose create is on its way is never sent again, whatever becomes of this worker.
    Then: the provider made the task → the job takes its id and moves on; it clearly
    refused (nothing was made) → the job is sent again later through the queue while
    the refusal may pass, else fails and its hold is released; the answer is unclear →
    the job waits, unconfirmed, for the task's webhook (see `job_adopt_task`).
    """
    job = Job.objects.select_related("project__team", "parent").get(pk=job_id)
    if job.dispatched_at is None:
        return  # it has no slot yet; team_dispatch sends it when one frees
    claimed = Job.objects.filter(pk=job.pk, status=Status.QUEUED, sent_at__isnull=True).update(
        sent_at=timezone.now(), dispatch_attempts=F("dispatch_attempts") + 1
    )
    if not claimed:
        return  # sent already, on its way, or no longer queued
    job.refresh_from_db(fields=["sent_at", "dispatch_attempts"])
    try:
        task = _create_with_failover(job)
    except NoProviderKey as exc:
        _job_refused(job, str(exc))
    except ProviderError as exc:
        _job_refused(job, exc.message, retry_after=exc.retry_after, retryable=exc.retryable)
    except OutcomeUnknown as exc:
        logger.warning("job %s: the outcome of its create is unknown: %s", job.pk, exc.message)
        what = f"the provider's answer was lost ({exc.message})"
        job_advance(job, status=Status.UNCONFIRMED, note=UNCONFIRMED_NOTE.format(what=what))
    else:
        job_take_task(job, task)


def _job_refused(
    job: Job, message: str, *, retryable: bool = False, retry_after: float | None = None
) -> None:
    """The provider made nothing: send the job again in a while if the refusal may pass
    and its deadline allows, else fail it (which releases its hold)."""
    if retryable:
        delay = min(
            settings.PIAPI_BACKOFF_SECONDS * 2 ** max(job.dispatch_attempts - 1, 0),
            settings.PROVIDER_RETRY_MAX_SECONDS,
        )
        delay = max(delay, retry_after or 0)
        retry_at = timezone.now() + timedelta(seconds=delay)
        if retry_at < job.created_at + timedelta(seconds=settings.JOB_DEADLINE_SECONDS):
            # Back in line (nothing is on its way any more), to be sent at retry_at.
            back = Job.objects.filter(pk=job.pk, status=Status.QUEUED, sent_at=job.sent_at)
            note = f"{message.rstrip('.')}. Studio tries again in {math.ceil(delay)} s."
            if back.update(sent_at=None, note=note[:300]):
                logger.info("job %s: refused for now (%s); again in %.1f s", job.pk, message, delay)
                tasks.send_job.using(run_after=retry_at).enqueue(job.pk)
                live.push_job(job.pk)
                return
    job_advance(job, status=Status.FAILED, error=message)


def job_take_task(job: Job, task: ProviderTask) -> None:
    """Keep the task the provider made for `job` and bring the job up to it."""
    now = timezone.now()
    taken = Job.objects.filter(pk=job.pk, provider_task_id="").update(
        provider_task_id=task.task_id, submitted_at=now
    )
    job.refresh_from_db(fields=["provider_task_id", "submitted_at", "provider_key"])
    if not taken and job.provider_task_id != task.task_id:
        # Never expected: a job's create is sent once. Keep the first task; say so loudly.
        logger.error(
            "job %s: the provider made a second task %s beside %s",
            job.pk,
            task.task_id,
            job.provider_task_id,
        )
        return
    job_apply_provider_task(job, task)


def job_adopt_task(job: Job, task_id: str) -> bool:
    """Learn a job's task id from its webhook, when the answer to its create was lost
    (or its worker died before saving it). The webhook is authenticated with the job's
    own secret, which exists for this job only, so the task it names is this job's.
    Returns whether the id was taken now."""
    adopted = (
        Job.objects.filter(pk=job.pk, provider_task_id="")
        .exclude(status__in=FINISHED_STATUSES)
        .update(provider_task_id=task_id, submitted_at=timezone.now())
    )
    if adopted:
        logger.info("job %s: task %s confirmed by its webhook", job.pk, task_id)
        job.refresh_from_db(fields=["provider_task_id", "submitted_at"])
    return bool(adopted)


def job_provider_input(job: Job) -> dict[str, Any]:
    """The provider's `input` for this job (Midjourney's flags live inside the prompt)."""
    parameters = dict(job.parameters)
    if job.operation == Operation.IMAGINE:
        return {
            "prompt": job.prompt,
            "aspect_ratio": job.aspect_ratio,
            "process_mode": job.process_mode,
        }
    if job.operation in (Operation.DESCRIBE, Operation.BLEND):
        # Input images are served from Studio's public URL; built now, so that a
        # changed STUDIO_PUBLIC_URL applies to jobs already queued.
        by_id = {image.pk: image for image in job.inputs.all()}
        urls = [by_id[pk].public_url() for pk in parameters.pop("input_ids", []) if pk in by_id]
        if job.operation == Operation.DESCRIBE:
            return {"image_url": urls[0] if urls else "", "process_mode": job.process_mode}
        return {**parameters, "image_urls": urls, "process_mode": job.process_mode}
    assert job.parent is not None, "a follow-up always has a parent"
    return {"origin_task_id": job.parent.provider_task_id, **parameters}


def job_refresh(*, job_id: int) -> None:
    """Read the job's task with GET (the truth; webhooks are hints) and apply it."""
    job = Job.objects.select_related("project__team", "provider_key").get(pk=job_id)
    if job.is_finished or not job.provider_task_id:
        return
    try:
        task = provider_client(job).get_task(job.provider_task_id)
    except (ProviderError, NoProviderKey) as exc:
        # The sweeper asks again later; the deadline ends a job that never answers.
        logger.info("job %s: reading the task failed: %s", job.pk, exc)
        return
    job_apply_provider_task(job, task)


def jobs_sweep() -> None:
    """Keep the teams' queues moving, notice sends whose worker stopped, poll jobs whose
    webhook is late, and end jobs past the deadline."""
    from studio.generation.queue import queues_sweep

    queues_sweep()
    now = timezone.now()
    # No answer can take this long: the worker that sent it stopped (or hangs).
    stalled = now - timedelta(seconds=2 * settings.PIAPI_TIMEOUT_SECONDS + 10)
    for job in Job.objects.sending_since(stalled):
        what = "the worker sending it stopped before the provider's answer was kept"
        job_advance(job, status=Status.UNCONFIRMED, note=UNCONFIRMED_NOTE.format(what=what))
    deadline = now - timedelta(seconds=settings.JOB_DEADLINE_SECONDS)
    minutes = round(settings.JOB_DEADLINE_SECONDS / 60)
    for job in Job.objects.filter(status=Status.UNCONFIRMED, sent_at__lt=deadline):
        # Never released by itself: the provider may have made (and charged) the task.
        job_advance(
            job,
            status=Status.UNKNOWN,
            note=f"The provider never confirmed this job within {minutes} minutes. Its hold "
            "is kept until an admin settles it under Money; if the result still arrives, "
            "the job completes.",
        )
    for job in Job.objects.overdue(deadline):
        if job.status == Status.QUEUED:
            error = (
                f"Studio could not send this job within {minutes} minutes, so it stopped "
                "trying; nothing was charged."
            )
        else:
            error = (
                f"The provider did not finish this job within {minutes} minutes, so Studio "
                "stopped waiting for it."
            )
        job_advance(job, status=Status.FAILED, error=error)
    quiet_since = now - timedelta(seconds=settings.JOB_POLL_AFTER_SECONDS)
    for job_id in Job.objects.stale(quiet_since=quiet_since).values_list("pk", flat=True):
        # Claim the poll, so the next sweep (of any worker) waits again.
        if Job.objects.stale(quiet_since=quiet_since).filter(pk=job_id).update(polled_at=now):
            tasks.refresh_job.enqueue(job_id)


def job_store_results(*, job_id: int, attempt: int) -> None:
    """Copy a completed job's images into Studio's storage, with thumbnails."""
    job = Job.objects.select_related("project__team", "provider_key").get(pk=job_id)
    if job.status != Status.COMPLETED:
        return
    output = job.output or {}
    wanted = [(ResultImage.GRID, output.get("image_url", ""))]
    wanted += [(i, url) for i, url in enumerate(output.get("quadrant_urls", []), start=1)]
    stored = set(job.images.values_list("index", flat=True))
    try:
        client = provider_client(job)
        for index, url in wanted:
            if index in stored or not url:
                continue
            _store_image(job, index, client.download(url))
    except (ProviderError, NoProviderKey, OSError, ValueError) as exc:
        if attempt < MAX_STORE_ATTEMPTS:
            delay = settings.PIAPI_BACKOFF_SECONDS * 4**attempt
            tasks.store_results.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
                job.pk, attempt + 1
            )
            return
        Job.objects.filter(pk=job.pk).update(
            result_lost_at=timezone.now(),
            error=f"The images could not be downloaded from the provider ({exc}).",
        )
    live.push_job(job.pk)
    push_new_tiles(job.pk)


def job_retry_results(*, job: Job) -> None:
    """Try the download of a lost result again (the provider keeps its URLs for days)."""
    if job.result_lost_at is None:
        raise FollowUpRefused("This job's images are not lost.")
    Job.objects.filter(pk=job.pk).update(result_lost_at=None, error="")
    tasks.store_results.enqueue(job.pk, 1)
    live.push_job(job.pk)


def _store_image(job: Job, index: int, data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    image.load()  # a truncated or corrupt download fails here, before anything is saved
    extension = (image.format or "png").lower()
    result = ResultImage(job=job, index=index, width=image.width, height=image.height)
    result.file.save(f"job-{job.pk}-{index}.{extension}", ContentFile(data), save=False)
    result.thumbnail.save(
        f"job-{job.pk}-{index}.webp", ContentFile(webp(image, THUMBNAIL_SIZE)), save=False
    )
    result.thumbnail_small.save(
        f"job-{job.pk}-{index}-s.webp", ContentFile(webp(image, SMALL_THUMBNAIL_SIZE)), save=False
    )
    try:
        with transaction.atomic():
            result.save()
    except IntegrityError:
        # Another worker stored this image first: keep theirs, leave no stray files.
        for field in (result.file, result.thumbnail, result.thumbnail_small):
            field.delete(save=False)


def webp(image: Image.Image, longest_side: int) -> bytes:
    """A WebP copy no larger than `longest_side`, for pages to load."""
    copy = image.convert("RGB")
    copy.thumbnail((longest_side, longest_side))
    buffer = io.BytesIO()
    copy.save(buffer, "WEBP", quality=82)
    return buffer.getvalue()


def job_store_preview(*, job_id: int, url: str) -> None:
    """Keep the provider's intermediate preview, so the page shows progress as images."""
    job = Job.objects.select_related("project__team", "provider_key").get(pk=job_id)
    if job.status != Status.PROCESSING:
        return
    try:
        data = provider_client(job).download(url)
        Image.open(io.BytesIO(data)).load()
    except (ProviderError, NoProviderKey, OSError, ValueError) as exc:
        logger.info("job %s: preview not kept: %s", job.pk, exc)
        return
    old_name = job.preview.name
    job.preview.save(f"job-{job.pk}-preview-{job.progress}.png", ContentFile(data), save=False)
    Job.objects.filter(pk=job.pk).update(preview=job.preview.name)
    if old_name:
        job.preview.storage.delete(old_name)
    live.push_job(job.pk)
