"""The generation workflow: submit a job, send it to the provider, follow it to the end,
and keep its images.

`job_advance` is the one function that moves a job's status. Webhook receiver, worker,
poller and deadline sweeper all call it; it moves forward only, with a conditional
UPDATE, and only the call that wins schedules side effects.
"""

import io
import logging
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import IO, Any, NamedTuple

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.tasks import TaskResultStatus
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from PIL import Image

from studio.accounts import audit
from studio.accounts.models import ProviderKey, Team, User
from studio.billing import services as billing
from studio.gallery.live import new_tiles_html
from studio.generation import live, tasks
from studio.generation.canvas import CanvasEdit, read_mask
from studio.generation.models import (
    FINISHED_STATUSES,
    PROVIDER_STATUS,
    Job,
    Operation,
    ProcessMode,
    ResultImage,
    Status,
)
from studio.generation.video import Animation
from studio.inputs.models import InputImage
from studio.media import video
from studio.projects.models import Project
from studio.providers import PROVIDERS, Provider, provider_class
from studio.providers.base import (
    ZOOM_MAX,
    ZOOM_MIN,
    OutcomeUnknown,
    ProviderError,
    ProviderTask,
    TaskRequest,
)

logger = logging.getLogger(__name__)

MAX_STORE_ATTEMPTS = 5
# A clip Studio downloads (an extended 720p clip is a few tens of MB).
MAX_CLIP_BYTES = 300 * 1024 * 1024
THUMBNAIL_SIZE = 1024  # cards, crisp on 2× screens
SMALL_THUMBNAIL_SIZE = 480  # gallery tiles
# An image up to this size is its own gallery tile (its card thumbnail serves both): a
# second encode for at most a quarter fewer pixels a side is not worth its time (a
# sandbox quadrant, 512 px, is a third of a grid's encoding time).
OWN_TILE_UP_TO = SMALL_THUMBNAIL_SIZE * 5 // 4
# An opaque result's thumbnails are JPEG: libjpeg-turbo encodes a sandbox grid (1024 px)
# in ~2 ms where libwebp takes ~25 ms (method 2) or ~60 ms (its default 4), at the same
# PSNR (45.0 dB against 44.0), for more bytes (59 KiB against 21 on the sandbox's flat
# drawings). Encoding was a grid's largest cost; at 50 grids a second it decides whether
# the worker keeps up (bench/result_ingest.py). A cut-out's thumbnails stay WebP, which
# keeps transparency. https://developers.google.com/speed/webp/docs/cwebp#options
JPEG_SAVE: dict[str, Any] = {"quality": 85}
WEBP_SAVE: dict[str, Any] = {"quality": 82, "method": 2}
# Scaling down halves by whole factors first (a box average) and resamples the rest:
# 2048 → 1024 px (a provider's grid to a card) in 7 ms instead of 34, 1024 → 480 in 4
# instead of 8, within 52–62 dB PSNR of resampling all the way (Pillow's `thumbnail`).
REDUCING_GAP = 1.0
# A grid's images are downloaded (and their thumbnails made) this many at a time.
RESULT_DOWNLOADS = 5
# Images decoded and made thumbnails of at once in this process, however many tasks and
# downloads run: one per core. More only take turns on the cores (a burst of results
# had 20 threads decoding on 2 cores) and evict each other's pixels from the caches.
PREPARING = threading.BoundedSemaphore(os.cpu_count() or 1)
# A grid downloaded before its quadrants waits this long for them, to be made from them
# rather than decoded (see _composed_grid): less than decoding a provider's 2048 px grid
# should take (four times the pixels of the sandbox's 1024 px grid, whose decode takes
# 15-20 ms here), and a slow CDN's quadrants do not hold the card's grid back long.
GRID_WAITS_FOR_QUADRANTS_SECONDS = 0.05


class NoProviderKey(Exception):
    pass


class FollowUpRefused(Exception):
    """A follow-up, cancel or input that cannot be done; the message is for people."""


def _job_create(
    *,
    project: Project,
    user: User,
    operation: str,
    provider: str,
    parent: Job | None = None,
    prompt: str = "",
    aspect_ratio: str = "1:1",
    process_mode: str = ProcessMode.FAST,
    parameters: dict[str, Any] | None = None,
    prompt_parameters: dict[str, Any] | None = None,
    inputs: Sequence[InputImage] = (),
) -> Job:
    """Create a queued job and enqueue its dispatch in one transaction: both are stored,
    or neither. A follow-up is pinned to the key that made its parent."""
    with transaction.atomic():
        job = Job.objects.create(
            project=project,
            created_by=user,
            operation=operation,
            provider=provider,
            provider_key=parent.provider_key if parent else None,
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
    provider: str = "",
) -> Job:
    """An imagine job: `prompt` is the compiled prompt (flags inside, no mode flag);
    `inputs` are the project's images its links point to; `provider` the one the member
    picked (else the team's first key's)."""
    return _job_create(
        project=project,
        user=user,
        operation=Operation.IMAGINE,
        provider=provider_for_new_work(
            project.team, wanted=provider, operation=Operation.IMAGINE, mode=process_mode
        ),
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
    zoom: str = "",
    inputs: Sequence[InputImage] = (),
    animation: Animation | None = None,
    canvas: CanvasEdit | None = None,
) -> Job:
    """A child job performing one of the actions the parent's result offers, at the
    parent's provider with the parent's key; `inputs` are the project's images the
    provider may fetch for it (an animation's end frame); `animation` and `canvas` what
    Animate and Edit were given."""
    if parent.status != Status.COMPLETED:
        raise FollowUpRefused("This job has not finished yet; wait for its result.")
    offered = {action.name: action for action in parent.actions}
    action = offered.get(action_name)
    if action is None:
        raise FollowUpRefused(f"“{action_name}” is not offered for this result.")
    if action.unavailable:
        raise FollowUpRefused(action.unavailable)
    parameters: dict[str, Any] = dict(action.parameters)
    parameters["step"] = action.step
    prompt = _checked_prompt(
        prompt,
        why_no_mode=f"a follow-up runs in its parent's mode "
        f"({ProcessMode(parent.process_mode).label}), which is what it is charged for",
    )
    if action.needs == "prompt" and not prompt:
        raise FollowUpRefused(f"{action.label} needs a prompt: write what the image should become.")
    if prompt:
        parameters["prompt"] = prompt
    if action.needs == "zoom":
        parameters["zoom"] = _checked_zoom(zoom)
        parameters["step"] = replace(action, lineage=f"Zoom Out {parameters['zoom']}×").step
    if action.needs == "mask":
        parameters["mask"] = _checked_mask(parent, mask, image_number=action.image)
    if action.needs == "animate":
        animation = animation or Animation()
        parameters.update(animation.parameters(), step=animation.step)
        if animation.end_frame:
            parameters["input_ids"] = [image.pk for image in inputs]
    if action.needs == "canvas":
        if canvas is None:
            raise FollowUpRefused("Place the image and paint what to repaint in the editor first.")
        if not prompt:
            raise FollowUpRefused("Edit needs a prompt: write what the painted areas should show.")
        parameters.update(canvas.parameters())
    if action.operation in (Operation.EXTEND, Operation.VIDEO_UPSCALE):
        # A clip keeps its resolution (and price) when extended; the chain is counted.
        parent_parameters = parent.parameters or {}
        parameters["resolution"] = parent_parameters.get("resolution") or "480p"
        parameters["extensions"] = parent.extensions + (action.operation == Operation.EXTEND)
    return _job_create(
        project=parent.project,
        user=user,
        operation=action.operation,
        provider=parent.provider,
        parent=parent,
        prompt=prompt or parent.prompt,
        aspect_ratio=parent.aspect_ratio,
        process_mode=parent.process_mode,
        parameters=parameters,
        inputs=inputs,
    )


# A speed flag in a follow-up's prompt would run it (and have the provider charge it) in
# another mode than the one Studio holds money for. Phones type "—" for "--".
MODE_FLAG = re.compile(r"(?:^|\s)((?:--|\u2014|\u2013)(?:relax|fast|turbo))\b", re.IGNORECASE)


def _checked_prompt(prompt: str, *, why_no_mode: str) -> str:
    """A prompt typed for a follow-up or image work: within the limit, and without a
    speed flag (the job's mode is chosen, and held for, elsewhere: `why_no_mode`)."""
    prompt = prompt.strip()
    if len(prompt) > settings.PROMPT_MAX_LENGTH:
        raise FollowUpRefused(
            f"The prompt is {len(prompt)} characters long; the limit is "
            f"{settings.PROMPT_MAX_LENGTH}."
        )
    if flag := MODE_FLAG.search(prompt):
        raise FollowUpRefused(f"Leave {flag[1].lower()} out of the prompt: {why_no_mode}.")
    return prompt


def _checked_zoom(zoom: str) -> str:
    """A custom zoom factor as Midjourney takes it: 1.1 to 2.0."""
    try:
        factor = round(float(zoom.strip().rstrip("×x")), 2)
    except ValueError:
        raise FollowUpRefused(
            f"Give the zoom as a number from {ZOOM_MIN} to {ZOOM_MAX}, e.g. 1.3."
        ) from None
    if not ZOOM_MIN <= factor <= ZOOM_MAX:
        raise FollowUpRefused(
            f"The zoom must be from {ZOOM_MIN} to {ZOOM_MAX}; {factor:g} is outside that."
        )
    return f"{factor:g}"


def _checked_mask(parent: Job, mask: str, *, image_number: int | None = None) -> str:
    """The mask as the provider wants it (base64 PNG, white = repaint, the image's size)."""
    if not mask:
        raise FollowUpRefused("Draw the region to repaint first.")
    try:
        encoded, size, has_white = read_mask(mask)
    except ValueError:
        raise FollowUpRefused("The region could not be read; draw it again.") from None
    image = parent.grid_image if image_number is None else parent.quadrant_image(image_number)
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


def job_from_image(
    *,
    project: Project,
    user: User,
    operation: str,
    image: InputImage,
    prompt: str = "",
    process_mode: str = ProcessMode.FAST,
    provider: str = "",
    animation: Animation | None = None,
    end_frame: InputImage | None = None,
    canvas: CanvasEdit | None = None,
) -> Job:
    """New work from one of the project's images, sent to the provider as its public
    link: animate it, retexture it, cut its background out, or edit it on a canvas."""
    prompt = _checked_prompt(prompt, why_no_mode="choose the mode instead")
    label = Operation(operation).label
    if operation in (Operation.RETEXTURE, Operation.EDIT) and not prompt:
        raise FollowUpRefused(f"{label} needs a prompt: write what the image should become.")
    inputs = [image]
    parameters: dict[str, Any] = {}
    if operation == Operation.ANIMATE:
        animation = animation or Animation(end_frame=end_frame is not None)
        parameters.update(animation.parameters(), step=animation.step)
        if prompt:
            parameters["prompt"] = prompt
        if end_frame is not None:
            inputs.append(end_frame)
    elif operation == Operation.EDIT:
        if canvas is None:
            raise FollowUpRefused("Place the image and paint what to repaint in the editor first.")
        parameters.update(canvas.parameters())
    elif operation not in (Operation.RETEXTURE, Operation.REMOVE_BACKGROUND):
        raise FollowUpRefused(f"{label} is not made from an image this way.")
    # In order, the end frame last (it may be the first image again: a return).
    parameters["input_ids"] = [input_image.pk for input_image in inputs]
    width, height = (canvas.width, canvas.height) if canvas else (image.width, image.height)
    return _job_create(
        project=project,
        user=user,
        operation=operation,
        provider=provider_for_new_work(
            project.team, wanted=provider, operation=operation, mode=process_mode
        ),
        prompt=prompt,
        aspect_ratio=ratio_of(width, height),
        process_mode=process_mode,
        parameters=parameters,
        inputs=inputs,
    )


def job_seed(*, parent: Job, user: User) -> Job:
    """Ask the provider for the seed of a grid."""
    if parent.status != Status.COMPLETED or not parent.has_grid or not parent.makes_images:
        raise FollowUpRefused("Only a finished grid has a seed to show.")
    if parent.shows_seed_without_asking:
        raise FollowUpRefused(f"This grid's seed is {parent.seed_value}; it came with the result.")
    return _job_create(
        project=parent.project,
        user=user,
        operation=Operation.SEED,
        provider=parent.provider,
        parent=parent,
        prompt=parent.prompt,
        aspect_ratio=parent.aspect_ratio,
        process_mode=parent.process_mode,
    )


def job_describe(
    *,
    project: Project,
    user: User,
    image: InputImage,
    process_mode: str = ProcessMode.FAST,
    provider: str = "",
) -> Job:
    """Four prompts for an image."""
    return _job_create(
        project=project,
        user=user,
        operation=Operation.DESCRIBE,
        provider=provider_for_new_work(
            project.team, wanted=provider, operation=Operation.DESCRIBE, mode=process_mode
        ),
        aspect_ratio=ratio_of(image.width, image.height),
        process_mode=process_mode,
        parameters={"input_ids": [image.pk]},
        inputs=[image],
    )


def ratio_of(width: int, height: int) -> str:
    """An image's shape as Midjourney writes ratios: 640×400 is "8:5", never "640:400"."""
    if width <= 0 or height <= 0:
        return "1:1"
    divisor = math.gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


BLEND_DIMENSIONS = {"square": "1:1", "portrait": "2:3", "landscape": "3:2"}


def job_blend(
    *,
    project: Project,
    user: User,
    images: Sequence[InputImage],
    dimension: str = "square",
    process_mode: str = ProcessMode.FAST,
    provider: str = "",
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
        provider=provider_for_new_work(
            project.team, wanted=provider, operation=Operation.BLEND, mode=process_mode
        ),
        aspect_ratio=BLEND_DIMENSIONS[dimension],
        process_mode=process_mode,
        parameters={"input_ids": [image.pk for image in images], "dimension": dimension},
        inputs=images,
    )


def job_shorten(*, project: Project, user: User, prompt: str, provider: str = "") -> Job:
    """The prompt made shorter, with the words that matter most (where a provider of the
    team offers it)."""
    prompt = prompt.strip()
    if not prompt:
        raise FollowUpRefused("Write a prompt first; Shorten works on the prompt in the box.")
    if len(prompt) > settings.PROMPT_MAX_LENGTH:
        raise FollowUpRefused(
            f"The prompt is {len(prompt)} characters long; the limit is "
            f"{settings.PROMPT_MAX_LENGTH}."
        )
    return _job_create(
        project=project,
        user=user,
        operation=Operation.SHORTEN,
        provider=provider_for_new_work(
            project.team, wanted=provider, operation=Operation.SHORTEN, mode=ProcessMode.FAST
        ),
        prompt=prompt,
    )


# What a retried job may have ended as: nothing was made and its hold was released. An
# unknown outcome may still complete at the provider, so it is never run again.
RETRYABLE_STATUSES = [Status.FAILED, Status.CANCELED]


def job_retry(*, job: Job, user: User) -> Job:
    """A new job with the failed or canceled `job`'s inputs: the same prompt, operation,
    mode, provider, parameters and input images, through the path every new job takes
    (the budget is held again, the team's queue applies). A follow-up runs the same
    action on the same parent again, if its result still offers it."""
    if job.status not in RETRYABLE_STATUSES:
        raise FollowUpRefused("Only a failed or canceled job can be tried again.")
    parent = job.parent
    if parent is None:
        provider = provider_for_new_work(
            job.project.team, wanted=job.provider, operation=job.operation, mode=job.process_mode
        )
    else:
        provider = parent.provider
        _check_still_offered(job, parent)
    return _job_create(
        project=job.project,
        user=user,
        operation=job.operation,
        provider=provider,
        parent=parent,
        prompt=job.prompt,
        aspect_ratio=job.aspect_ratio,
        process_mode=job.process_mode,
        parameters=dict(job.parameters or {}),
        prompt_parameters=dict(job.prompt_parameters or {}),
        inputs=list(job.inputs.all()),
    )


def _check_still_offered(job: Job, parent: Job) -> None:
    """Refuses a retried follow-up whose parent no longer offers its action (too old, say)."""
    if parent.status != Status.COMPLETED:
        raise FollowUpRefused("The job it was made from has no result to act on.")
    if job.operation == Operation.SEED:
        return
    parameters = job.parameters or {}
    for action in parent.actions:
        same = action.operation == job.operation and all(
            parameters.get(name) == value for name, value in action.parameters.items()
        )
        if same and action.unavailable:
            raise FollowUpRefused(action.unavailable)
        if same:
            return
    raise FollowUpRefused("Its parent's result no longer offers this follow-up.")


def providers_of(team: Team) -> list[type[Provider]]:
    """The providers the team has an active key for, in the order of its first key."""
    seen: list[type[Provider]] = []
    for key in team.active_provider_keys():
        api = provider_class(key.provider)
        if api not in seen:
            seen.append(api)
    return seen


def first_provider_for(
    providers: Sequence[type[Provider]], *, operation: str, mode: str
) -> type[Provider] | None:
    """The first of `providers` that starts `operation` in `mode`, if one does."""
    return next((api for api in providers if operation in api.new_work and mode in api.modes), None)


def provider_for_new_work(team: Team, *, wanted: str, operation: str, mode: str) -> str:
    """Which provider a new job goes to: the one the member picked, else the first of
    the team's providers that can do it. Refuses (with the sentence why) a pick the team
    has no key for, or an operation or mode none of the team's providers offers: a relax
    job is never quietly run as fast."""
    available = providers_of(team)
    if wanted:
        if wanted not in PROVIDERS:
            raise FollowUpRefused(f"“{wanted}” is not a provider Studio knows.")
        picked = provider_class(wanted)
        if available and picked not in available:
            raise FollowUpRefused(f"The team has no active {picked.label} key.")
        candidates = [picked]
    else:
        candidates = available or [provider_class("")]
    found = first_provider_for(candidates, operation=operation, mode=mode)
    if found is not None:
        return found.name
    if all(operation not in api.new_work for api in candidates):
        names = " or ".join(api.label for api in candidates)
        raise FollowUpRefused(f"{names} does not offer {Operation(operation).label}.")
    raise FollowUpRefused(no_such_mode(candidates, mode))


def no_such_mode(providers: Sequence[type[Provider]], mode: str) -> str:
    """Why `mode` cannot run on these providers, with the modes they do have."""
    choices = sorted({m for api in providers for m in api.modes}, key=ProcessMode.values.index)
    labels = [str(ProcessMode(m).label) for m in choices]
    modes = " or ".join([", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels)
    names = " or ".join(api.label for api in providers)
    return f"{names} has no {ProcessMode(mode).label} mode; choose {modes}."


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
    if job.status == Status.SUBMITTED and job.api.can_cancel:
        tasks.cancel_job.enqueue(job.pk)
        return
    if job.why_no_cancel:
        raise FollowUpRefused(job.why_no_cancel)
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
    # Only a running job's percentage moved: pages need its new figure, not its card. So
    # too when its grid is done at the provider: the card comes with it, once stored (in
    # ~0.1 s; store_results pushes it); until then its pill says it is being saved. (Clips
    # take longer to download: their card comes at once.)
    pill_only = (
        (status == Status.PROCESSING or (status == Status.COMPLETED and not job.makes_clips))
        and job.status == Status.PROCESSING
        and not job.note
        and job.makes_images
    )
    finished = status in FINISHED_STATUSES
    # A move that only updates the job's row is one statement: no transaction of its
    # own to open and commit (two round trips of a progress webhook's five).
    with transaction.atomic() if finished else nullcontext():
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
        if finished:
            # A slot is free: the next job in line may go.
            tasks.dispatch_team.enqueue(job.project.team_id)
            if job.dispatched_at is None:
                # It left the line without a slot (canceled while waiting): everyone
                # behind it moves up, though no slot may be free to hand out.
                transaction.on_commit(partial(live.push_queue, job.project.team_id))
        if pill_only:
            transaction.on_commit(partial(live.push_progress, job))
        else:
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


def job_progress_step(job_id: int, *, provider: str, secret: str, task: ProviderTask) -> bool:
    """A webhook's news that the job `job_id` runs on, at a higher progress: applied in
    one statement, with what job_advance does for such a move (its pill pushed, or its
    card if it makes text) and its preview fetched, if the webhook is the job's own (its
    `provider`, its task, the `secret` it carries) and the job was processing with no
    note. False if not: the job is then read, the webhook checked (the secret compared
    in constant time) and job_apply_provider_task decides. (Here it is compared by the
    database, like a session's key: what it takes to tell a near miss, nanoseconds, is
    lost in a request's noise, and a guess must name the job and its task too.)"""
    if PROVIDER_STATUS.get(task.status) != Status.PROCESSING or not (
        # Not the job's, whoever sent it: what the columns could not hold is not sent to
        # the database (a NUL, a lone surrogate; an id beyond its integers).
        0 < job_id < 2**63
        and _column_value("provider_task_id", task.task_id)
        and _column_value("webhook_secret", secret)
    ):
        return False
    job = Job.objects.progress_step(
        job_id, provider=provider, task_id=task.task_id, secret=secret, progress=task.progress
    )
    if job is None:
        return False
    if job.makes_images:
        transaction.on_commit(partial(live.push_progress, job))
    else:
        transaction.on_commit(partial(live.push_job, job.pk))
    _preview_news(job, task)
    return True


def _column_value(field: str, text: str) -> bool:
    """Whether `text` may be in the job's column `field`: printable, and not too long."""
    longest: Any = getattr(Job._meta.get_field(field), "max_length", None)
    return 0 < len(text) <= longest and text.isprintable()


def _preview_news(job: Job, task: ProviderTask) -> None:
    if task.intermediate_urls:
        tasks.store_preview.enqueue(job.pk, task.intermediate_urls[0])


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
            "prompts": task.prompts,
            "seed": task.seed,
            "usage": task.usage,
            "video_urls": task.video_urls,
        }
    elif status == Status.FAILED:
        if task.error.strip().lower() == "task canceled":
            status = Status.CANCELED
        else:
            changes["error"] = task.error or "The provider reported a failure without a reason."
    won = job_advance(job, status=status, progress=progress, **changes)
    if won and status == Status.PROCESSING:
        _preview_news(job, task)
    return won


NO_KEY = "The team has no provider API key yet; a team admin must add one before jobs can run."


def provider_client(job: Job) -> Provider:
    """The job's provider, called with the key that created its task (a provider shows
    a task only to its own key), else with the team's first key for that provider."""
    key = job.provider_key
    if key is None:
        key = job.project.team.active_provider_keys().filter(provider=job.provider).first()
    if key is None:
        raise NoProviderKey(NO_KEY)
    return key.client()


def keys_to_try(job: Job) -> list[ProviderKey]:
    """The keys a job's create may go to, in order. A follow-up has one: its parent's
    (the task it acts on exists only there). New work tries the team's active keys in
    the admin's order, those of the job's own provider first, then any other provider
    that can run the same operation in the same mode."""
    if job.parent_id is not None:
        key = job.provider_key
        if key is None or not key.is_active:
            raise NoProviderKey(
                "The key that made this job's parent is no longer active, and only that "
                f"{job.provider_label} account can act on its result."
            )
        return [key]
    keys = [
        key
        for key in job.project.team.active_provider_keys()
        if job.operation in provider_class(key.provider).new_work
        and job.process_mode in provider_class(key.provider).modes
    ]
    if not keys:
        raise NoProviderKey(NO_KEY)
    return sorted(keys, key=lambda key: key.provider != job.provider)  # stable


def _create_with_failover(job: Job) -> ProviderTask:
    """Create the job's task with its first key, failing over to the next key while
    keys are refused (a refusal made nothing). Raises the last ProviderError,
    NoProviderKey, or OutcomeUnknown — after which no other key is tried."""
    keys = keys_to_try(job)
    for position, key in enumerate(keys, start=1):
        # Kept before sending: a task learnt of later (by webhook) is read with this key.
        Job.objects.filter(pk=job.pk).update(provider_key=key, provider=key.provider)
        job.provider_key, job.provider = key, key.provider
        try:
            task = key.client().create_task(task_request(job))
        except ProviderError as exc:
            if exc.key_refused and position < len(keys):
                logger.warning(
                    "job %s: key %s refused (%s); trying the next key", job.pk, key, exc.message
                )
                continue
            raise
        return task
    raise AssertionError("unreachable: the loop returns or raises")


def webhook_url(job: Job) -> str:
    """Where the job's provider posts news of its task: a URL for this job alone (with
    the job's secret in it, for a provider that sends no secret of its own)."""
    if not settings.STUDIO_PUBLIC_URL:
        return ""
    token = job.api.webhook_path_token(job.webhook_secret)
    args: list[Any] = [job.provider, job.pk] + ([token] if token else [])
    name = "generation:webhook-token" if token else "generation:webhook"
    return settings.STUDIO_PUBLIC_URL + reverse(name, args=args)


def mask_url(job: Job) -> str:
    """A public link to the job's drawn mask, for a provider that fetches masks."""
    if not settings.STUDIO_PUBLIC_URL or not (job.parameters or {}).get("mask"):
        return ""
    return settings.STUDIO_PUBLIC_URL + reverse("generation:mask", args=[job.pk, job.mask_token])


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
            settings.PROVIDER_BACKOFF_SECONDS * 2 ** max(job.dispatch_attempts - 1, 0),
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


def task_request(job: Job) -> TaskRequest:
    """What the job asks of its provider. Input images are served from Studio's public
    URL, built now, so that a changed STUDIO_PUBLIC_URL applies to jobs already queued."""
    parameters = dict(job.parameters)
    parameters.pop("step", None)
    image_urls: list[str] = []
    if "input_ids" in parameters:
        by_id = {image.pk: image for image in job.inputs.all()}
        ids = parameters.pop("input_ids")
        image_urls = [by_id[pk].public_url() for pk in ids if pk in by_id]
    if job.operation in (Operation.INPAINT, Operation.EDIT) and job.api.takes_mask_as_link:
        parameters["mask_url"] = mask_url(job)
        parameters.pop("mask", None)
    return TaskRequest(
        operation=job.operation,
        prompt=job.prompt,
        aspect_ratio=job.aspect_ratio,
        mode=job.process_mode,
        parameters=parameters,
        origin_task_id=job.parent.provider_task_id if job.parent else "",
        image_urls=image_urls,
        webhook_url=webhook_url(job),
        webhook_secret=job.webhook_secret,
    )


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
    stalled = now - timedelta(seconds=2 * settings.PROVIDER_TIMEOUT_SECONDS + 10)
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
    results_sweep(now)


# A store task still running after this long never records its end: its worker lost the
# database connection, say (a worker killed is found by tasks_reclaim). A download may
# take long (PROVIDER_TIMEOUT_SECONDS is a read's, and a job's clips, up to MAX_CLIP_BYTES
# each, come one after another), so only one running this long is taken for gone.
STORE_RUNS_AT_MOST = timedelta(hours=1)
# How far back the sweep looks for store tasks that failed.
STORE_FAILURES_LOOKED_AT = timedelta(hours=1)


def results_sweep(now: datetime) -> None:
    """Take up the store of a completed job whose last store task broke off: it ended in
    an error it does not expect (a bug, say), or never recorded its end (its database
    connection lost). Such a task schedules no retry, so the job would stay "Saving
    images…" for good. Its next attempt is enqueued, after the same wait as a failed
    download's; after the last, its result is lost (the card offers to try again)."""
    store = DBTaskResult.objects.filter(task_path=tasks.store_results.module_path)
    ended = store.filter(
        status=TaskResultStatus.FAILED, finished_at__gte=now - STORE_FAILURES_LOOKED_AT
    ) | store.filter(status=TaskResultStatus.RUNNING, started_at__lt=now - STORE_RUNS_AT_MOST)
    for task_id, call in ended.values_list("pk", "args_kwargs"):
        if len(call.get("args") or ()) != 2:
            continue
        job_id, attempt = call["args"]
        # One sweep at a time takes a job up (every worker sweeps): the job's row is
        # locked (SQLite: the write lock) while its last store task is looked at.
        with transaction.atomic():
            job = (
                Job.objects.select_for_update()
                .filter(pk=job_id, status=Status.COMPLETED, result_lost_at__isnull=True)
                .first()
            )
            latest = store.filter(args_kwargs__args__0=job_id).order_by("-enqueued_at").first()
            if job is None or latest is None or latest.pk != task_id:
                continue  # deleted or lost, or taken up already (a sweep, "Try again")
            if set(job.images.values_list("index", flat=True)) >= {i for i, _ in job.result_urls}:
                continue  # every image is kept (the card's push failed, say): nothing to do
            # A task that never recorded its end is ended here, so that it is looked at once.
            store.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED, finished_at=now
            )
            error = latest.exception_class_path.rpartition(".")[2] or "its end never recorded"
            if attempt < MAX_STORE_ATTEMPTS:
                logger.warning("job %s: its store broke off (%s); tried again", job_id, error)
                _store_again(job, attempt)
            else:
                logger.warning("job %s: its last store broke off (%s); lost", job_id, error)
                _results_lost(job, "saved: Studio stopped while saving them")
                transaction.on_commit(partial(live.push_job, job.pk))


def job_store_results(*, job_id: int, attempt: int) -> None:
    """Copy a completed job's images into Studio's storage, with thumbnails.

    A grid's images are downloaded at once and prepared (decoded, thumbnails made) in
    threads, which touch no database; they are saved here, in order, the grid first
    (see `_store_images`). Images that arrived are kept (and shown) even when another
    failed; the task is then tried again for the rest."""
    job = Job.objects.select_related("project__team", "provider_key").get(pk=job_id)
    if job.status != Status.COMPLETED:
        return
    stored = set(job.images.values_list("index", flat=True))
    missing = [(index, url) for index, url in job.result_urls if index not in stored]
    try:
        client = provider_client(job)
        if job.makes_clips:
            for index, url in missing:
                _store_clip(job, index, client.download(url, max_bytes=MAX_CLIP_BYTES))
        else:
            _store_images(job, client, missing)
    except (
        ProviderError,
        NoProviderKey,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        video.VideoError,
    ) as exc:
        if attempt < MAX_STORE_ATTEMPTS:
            _store_again(job, attempt)
            if attempt > 1 and job.images.count() == len(stored):
                # Nothing new to show while the rest is tried again. (The first attempt's
                # push shows the job completed: until then only its pill said so.)
                return
        else:
            _results_lost(job, f"downloaded from the provider ({exc})")
    # The card and the gallery's new tiles in one push.
    live.push_job(job.pk, also=partial(new_tiles_html, kept_before=stored))


def _store_again(job: Job, attempt: int) -> None:
    """Enqueue the store's next attempt, later each time."""
    delay = settings.PROVIDER_BACKOFF_SECONDS * 4**attempt
    tasks.store_results.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
        job.pk, attempt + 1
    )


def _results_lost(job: Job, could_not_be: str) -> None:
    """The job's result is lost: its card says so and offers to try again."""
    what = "clips" if job.makes_clips else "images"
    Job.objects.filter(pk=job.pk).update(
        result_lost_at=timezone.now(), error=f"The {what} could not be {could_not_be}."
    )


# How a result's download or preparing fails, to be tried again later.
FETCH_FAILURES = (ProviderError, OSError, ValueError, Image.DecompressionBombError)


def _store_images(job: Job, client: Provider, wanted: Sequence[tuple[int, str]]) -> None:
    """Download `wanted` all at once and prepare each (decode, thumbnails) in its thread,
    the grid (what the card shows) first, the others beside it on the other cores (see
    PREPARING), and write its files there too; here, add their rows as they are ready, in
    order (those ready together in one INSERT). A grid whose quadrants arrive with it is
    made from them instead of decoded (_Fetch). Once the grid is kept, the card is pushed
    with it if a quadrant is still downloading (a slow CDN); else the one push with all of
    them comes as soon. Raises the first failure once every image that could be kept is."""
    if not wanted:
        return
    failure: Exception | None = None
    grid_first = threading.Event()
    if wanted[0][0] != ResultImage.GRID:
        grid_first.set()  # the grid is kept already: a retry for the others
    fetches = [_Fetch(job, client, index, url, grid_first) for index, url in wanted]
    if [fetch.index for fetch in fetches] == [ResultImage.GRID, 1, 2, 3, 4]:
        fetches[0].quadrants = fetches[1:]
    unsaved: list[Future[ResultImage]] = []
    ready: list[ResultImage] = []  # files written, rows not added yet
    try:
        with ThreadPoolExecutor(
            max_workers=min(RESULT_DOWNLOADS, len(wanted)), thread_name_prefix="studio-results"
        ) as pool:
            unsaved = [pool.submit(fetch) for fetch in fetches]
            behind = list(fetches)
            while unsaved:
                # The next image in line, waited for, and those behind it already done:
                # their rows go in one INSERT (a grid is made from its quadrants, so
                # they are usually done when it is).
                grid = False
                while unsaved and (not ready or unsaved[0].done()):
                    try:
                        result: ResultImage | None = unsaved[0].result()
                    except FETCH_FAILURES as exc:
                        failure, result = failure or exc, None
                    # Taken off only now: until then, a failure here deletes its files.
                    unsaved.pop(0)
                    fetch = behind.pop(0)
                    if result is not None:
                        ready.append(result)
                        grid = grid or fetch.index == ResultImage.GRID
                batch, ready = ready, []
                _images_insert(batch)
                if grid and any(not later.downloaded.is_set() for later in behind):
                    _push_grid_early(job)
    except BaseException:
        # This thread failed (the database gone, say): the images not yet added leave no
        # files behind. (The pool is shut down by now: every download has ended.)
        for result in ready:
            _image_files_delete(result)
        for future in unsaved:
            if not future.cancelled() and future.exception() is None:
                _image_files_delete(future.result())
        raise
    if failure is not None:
        raise failure


class _Fetch:
    """One result image's download, preparing and files, run in a download thread: no
    database here (a thread would open a connection of its own and hold it); its row is
    added by the task's thread. The others take a core once the grid has one (or failed),
    so theirs never delay it; `wanted` lists the grid first, so it never waits for a
    thread of the pool. A grid with its `quadrants` downloaded by then (or soon after)
    lets them go first, and is made from them."""

    def __init__(
        self, job: Job, client: Provider, index: int, url: str, grid_first: threading.Event
    ):
        self.job, self.client, self.index, self.url = job, client, index, url
        self.grid_first = grid_first
        self.downloaded = threading.Event()
        self.quadrants: Sequence[_Fetch] = ()
        self.data: bytes | None = None  # once `downloaded`, unless it failed
        self.prepared: PreparedImage | None = None  # once `done`, unless it failed
        self.done = threading.Event()

    def __call__(self) -> ResultImage:
        """The image's row, not yet added, with its files written."""
        return _image_files(self.job, self._prepared())

    def _prepared(self) -> "PreparedImage":
        grid = self.index == ResultImage.GRID
        try:
            try:
                data = self.data = self.client.download(self.url)
            finally:
                self.downloaded.set()
            if grid and self._quadrants_arrived() and _tiled_by(data, self.quadrants):
                self.grid_first.set()  # the quadrants go first
                for quadrant in self.quadrants:
                    quadrant.done.wait()
                quadrants = [quadrant.prepared for quadrant in self.quadrants]
                with PREPARING:
                    composed = _composed_grid(data, quadrants)
                if composed is not None:
                    return composed
            if not grid:
                self.grid_first.wait()
            with PREPARING:
                if grid:
                    self.grid_first.set()
                self.prepared = prepared_image(self.index, data)
                return self.prepared
        finally:
            if grid:
                self.grid_first.set()
            self.done.set()

    def _quadrants_arrived(self) -> bool:
        deadline = time.monotonic() + GRID_WAITS_FOR_QUADRANTS_SECONDS
        return bool(self.quadrants) and all(
            quadrant.downloaded.wait(max(0.0, deadline - time.monotonic()))
            for quadrant in self.quadrants
        )


def _tiled_by(data: bytes, quadrants: Sequence[_Fetch]) -> bool:
    """Whether a grid's download is a sound PNG (every chunk's checksum, and its end)
    that is its quadrants' size twice over, from their headers."""
    try:
        sizes = set()
        for quadrant in quadrants:
            if quadrant.data is None:
                return False
            with Image.open(io.BytesIO(quadrant.data)) as image:
                sizes.add(image.size)
        with Image.open(io.BytesIO(data)) as image:
            if len(sizes) != 1 or image.format != "PNG":
                return False
            width, height = sizes.pop()
            if image.size != (2 * width, 2 * height):
                return False
            image.verify()
            return True
    except (SyntaxError, OSError, ValueError, Image.DecompressionBombError):
        return False  # decoded, it fails with the reason


def _composed_grid(
    data: bytes, quadrants: Sequence["PreparedImage | None"]
) -> "PreparedImage | None":
    """The grid's thumbnails made from its quadrants' pixels, not from its own: a
    Midjourney grid is its four images side by side, in their order, so the grid's
    pixels (as many as the four quadrants' together) need no decoding of their own.
    Called once _tiled_by found the download sound and tiled by the quadrants; None, to
    decode the grid after all, unless the four quadrants are decoded and opaque. (Were
    a provider's grid ever not its quadrants side by side, the card would show the
    quadrants, which are what its buttons act on.)"""
    tiles = [q.pixels for q in quadrants if q is not None and q.pixels is not None]
    if len(tiles) != 4:
        return None  # one failed, or is not opaque
    width, height = tiles[0].size
    grid = Image.new("RGB", (2 * width, 2 * height))
    for position, tile in enumerate(tiles):
        grid.paste(tile, (position % 2 * width, position // 2 * height))
    return PreparedImage(
        index=ResultImage.GRID,
        data=data,
        extension="png",
        width=grid.width,
        height=grid.height,
        thumbnails=thumbnails(grid, data),
    )


def _push_grid_early(job: Job) -> None:
    """Show the grid on the card while its quadrants are kept."""
    try:
        live.push_job(job.pk)
    except Exception:
        # Only a head start: the card is pushed again once every image is kept, and a
        # failed push (the channel layer down) must not keep the quadrants from storage.
        logger.exception("job %s: the card with its grid was not pushed", job.pk)


@dataclass(frozen=True)
class PreparedImage:
    """A downloaded image, checked and with its thumbnails, ready to be saved."""

    index: int
    data: bytes
    extension: str
    width: int
    height: int
    thumbnails: "Thumbnails"
    pixels: Image.Image | None = None  # a quadrant's, decoded, for its grid (_is_tile)


def prepared_image(index: int, data: bytes) -> PreparedImage:
    """Decode `data` (a truncated or corrupt download fails here, before anything is
    saved) and make its thumbnails."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return PreparedImage(
        index=index,
        data=data,
        extension=(image.format or "png").lower(),
        width=image.width,
        height=image.height,
        thumbnails=thumbnails(image, data),
        pixels=image if _is_tile(index, image) else None,
    )


def _is_tile(index: int, image: Image.Image) -> bool:
    """Whether `image` may make part of its grid's thumbnails (see _composed_grid)."""
    return index != ResultImage.GRID and image.mode == "RGB" and "transparency" not in image.info


def job_retry_results(*, job: Job) -> None:
    """Try the download of a lost result again (the provider keeps its URLs for days)."""
    if job.result_lost_at is None:
        raise FollowUpRefused("This job's images are not lost.")
    Job.objects.filter(pk=job.pk).update(result_lost_at=None, error="")
    tasks.store_results.enqueue(job.pk, 1)
    live.push_job(job.pk)


def _store_image(job: Job, index: int, data: bytes) -> None:
    _image_save(job, prepared_image(index, data))


def _image_save(job: Job, prepared: PreparedImage) -> None:
    _image_insert(_image_files(job, prepared))


def _image_files(job: Job, prepared: PreparedImage) -> ResultImage:
    """Write the image's file and thumbnails: its row, not yet added. Files written
    before one that failed are deleted."""
    name = f"job-{job.pk}-{prepared.index}"
    result = ResultImage(
        job=job, index=prepared.index, width=prepared.width, height=prepared.height
    )
    large, small, extension = prepared.thumbnails
    try:
        result.file.save(f"{name}.{prepared.extension}", ContentFile(prepared.data), save=False)
        result.thumbnail.save(f"{name}.{extension}", ContentFile(large), save=False)
        if small is large:  # one thumbnail for both (see thumbnails): one file
            result.thumbnail_small.name = result.thumbnail.name
        else:
            result.thumbnail_small.save(f"{name}-s.{extension}", ContentFile(small), save=False)
    except BaseException:
        _image_files_delete(result)
        raise
    return result


def _images_insert(results: Sequence[ResultImage]) -> None:
    """Add the rows of images whose files are written, in one INSERT; one at a time when
    one of them is there already (another worker stored it first)."""
    if len(results) < 2:  # one row: its INSERT alone, with no transaction around it
        for result in results:
            _image_insert(result)
        return
    for result in results:
        result.project_id = result.job.project_id  # as ResultImage.save does
    # One statement (in a transaction of its own); a savepoint only inside a transaction.
    nested = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if nested else nullcontext():
            ResultImage.objects.bulk_create(results)
    except IntegrityError:
        for position, result in enumerate(results):
            try:
                _image_insert(result)
            except BaseException:
                for untried in results[position + 1 :]:
                    _image_files_delete(untried)
                raise


def _image_insert(result: ResultImage) -> None:
    """Add the row of an image whose files are written."""
    # One INSERT; a savepoint only inside a transaction, which a duplicate must not break.
    nested = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if nested else nullcontext():
            result.save()
    except IntegrityError:
        # Another worker stored this image first: keep theirs, leave no stray files.
        # (Any other error keeps them: a connection lost after the server committed the
        # row must not leave a row without its files.)
        _image_files_delete(result)


def _image_files_delete(result: ResultImage) -> None:
    deleted = set()
    for field in (result.file, result.thumbnail, result.thumbnail_small):
        if field and field.name not in deleted:  # a thumbnail for both sizes: once
            deleted.add(field.name)
            field.delete(save=False)


def _store_clip(job: Job, index: int, data: bytes) -> None:
    """Keep a clip: the mp4 as it came, its poster frame (the image fields) and a small
    preview for cards, made once here with PyAV. A clip that cannot be read raises
    VideoError before anything is saved."""
    facts = video.clip_facts(data)
    poster = video.poster_frame(data)
    preview = video.preview_clip(data)
    with Image.open(io.BytesIO(poster)) as picture:
        small = webp(picture, SMALL_THUMBNAIL_SIZE)
    name = f"job-{job.pk}-{index}"
    result = ResultImage(
        job=job, index=index, width=facts.width, height=facts.height, duration=facts.seconds
    )
    result.video.save(f"{name}.mp4", ContentFile(data), save=False)
    result.video_preview.save(f"{name}-preview.mp4", ContentFile(preview), save=False)
    result.file.save(f"{name}-poster.webp", ContentFile(poster), save=False)
    result.thumbnail.save(f"{name}.webp", ContentFile(poster), save=False)
    result.thumbnail_small.save(f"{name}-s.webp", ContentFile(small), save=False)
    try:
        with transaction.atomic():
            result.save()
    except IntegrityError:
        # Another worker stored this clip first: keep theirs, leave no stray files.
        for field in (
            result.video,
            result.video_preview,
            result.file,
            result.thumbnail,
            result.thumbnail_small,
        ):
            field.delete(save=False)


def webp(image: Image.Image, longest_side: int) -> bytes:
    """A WebP copy no larger than `longest_side` (never enlarged), for pages to load; a
    cut-out keeps its transparency."""
    return _webp_bytes(_fitted(_for_thumbnail(image), longest_side))


class Thumbnails(NamedTuple):
    large: bytes  # no larger than THUMBNAIL_SIZE: cards
    small: bytes  # no larger than OWN_TILE_UP_TO, mostly SMALL_THUMBNAIL_SIZE: gallery tiles
    extension: str  # "jpg", or "webp" for a cut-out and a WebP kept as it came


def thumbnails(image: Image.Image, data: bytes) -> Thumbnails:
    """A result's two thumbnails, never enlarged: JPEG, or WebP for a cut-out (see
    JPEG_SAVE). What is small already is not made twice: an image within OWN_TILE_UP_TO
    has one thumbnail for both, and a still WebP within a size is its own thumbnail
    (`data`, not encoded again)."""
    longest = max(image.size)
    if image.format == "WEBP" and getattr(image, "n_frames", 1) == 1:
        if longest <= OWN_TILE_UP_TO:
            return Thumbnails(data, data, "webp")
        if longest <= THUMBNAIL_SIZE:
            return Thumbnails(data, webp(image, SMALL_THUMBNAIL_SIZE), "webp")
    pixels = _for_thumbnail(image)
    if pixels.mode == "RGBA":
        encode, extension = _webp_bytes, "webp"
    else:
        encode, extension = _jpeg_bytes, "jpg"
    card = _fitted(pixels, THUMBNAIL_SIZE)
    large = encode(card)
    if longest <= OWN_TILE_UP_TO:
        return Thumbnails(large, large, extension)
    return Thumbnails(large, encode(_tile_pixels(card)), extension)


def _tile_pixels(card: Image.Image) -> Image.Image:
    """A gallery tile's pixels, from the card's (fewer to scale down than the original
    has): the card halved (or a third…), a box average of whole pixels, where that lands
    between SMALL_THUMBNAIL_SIZE and OWN_TILE_UP_TO, as the usual 1024 px card does
    (512 px); else resampled to SMALL_THUMBNAIL_SIZE. Resampling 1024 px to 480 takes
    ~5 ms, halving it ~1 ms: the largest step of a grid's thumbnails, made five times
    for a provider's grid (its 1024 px quadrants too)."""
    longest = max(card.size)
    factor = math.ceil(longest / OWN_TILE_UP_TO)
    if factor > 1 and longest / factor >= SMALL_THUMBNAIL_SIZE:
        return card.reduce(factor)
    return _fitted(card, SMALL_THUMBNAIL_SIZE)


def _for_thumbnail(image: Image.Image) -> Image.Image:
    """RGB pixels, or RGBA if some of the image is see-through (a cut-out): `image`
    itself when it is RGB already (nothing here changes it), else a converted copy."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        copy = image.convert("RGBA")
        alpha_lowest = copy.getchannel("A").getextrema()[0]
        return copy if alpha_lowest != 255 else copy.convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def _fitted(image: Image.Image, longest_side: int) -> Image.Image:
    """`image` scaled down to fit `longest_side` (never enlarged), as a new image, or
    `image` itself if it fits: no copy of pixels that need no change (a grid's is 4 MB).
    The same filter as Pillow's `thumbnail`, which scales in place and so needs a copy
    first."""
    if max(image.size) <= longest_side:
        return image
    scale = longest_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=REDUCING_GAP)


def _webp_bytes(image: Image.Image) -> bytes:
    return _encoded(image, "WEBP", WEBP_SAVE)


def _jpeg_bytes(image: Image.Image) -> bytes:
    return _encoded(image, "JPEG", JPEG_SAVE)


def _encoded(image: Image.Image, image_format: str, options: dict[str, Any]) -> bytes:
    """The encoded bytes, by way of an unnamed file: Pillow's JPEG encoder lets go of
    the GIL only when it writes to a real file, and holds it while it fills a BytesIO
    (two encodes in two threads take as long as one after the other). Through a file,
    the threads that prepare a grid's images, and the worker's other tasks, run beside
    the encodes. On Linux the file is in memory (memfd): no file made and removed on
    disk for each thumbnail."""
    with _unnamed_file() as file:
        image.save(file, image_format, **options)
        file.seek(0)
        return file.read()


def _unnamed_file() -> IO[bytes]:
    try:
        descriptor = os.memfd_create("studio-encode", os.MFD_CLOEXEC)
    except (AttributeError, OSError):  # not Linux, or refused (an old kernel, a sandbox)
        return tempfile.TemporaryFile()
    return open(descriptor, "w+b")


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
