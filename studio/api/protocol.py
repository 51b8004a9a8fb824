"""PiAPI's protocol, spoken by Studio (see shared/piapi-protocol.md): Studio's jobs as
PiAPI task objects, and PiAPI's follow-up requests as the actions a result offers.

A job may run on any of the team's providers; its caller always sees PiAPI's shapes.
Actions are translated by what they do (operation, image, index, strength, direction,
zoom), so a result of any provider lists PiAPI's names ("upscale2", "high_variation",
"outpaint_2x", "pan_left", …) and takes PiAPI's requests."""

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from studio.accounts.crypto import decrypt
from studio.api.models import ApiTask
from studio.billing.models import EntryKind
from studio.generation.models import Job, Operation, ResultImage, Status
from studio.providers.base import Action

MODEL = "midjourney"
# Money as PiAPI's usage "points".
POINTS_PER_USD = 1_000_000
# PiAPI writes "not yet" as the zero time.
ZERO_TIME = "0001-01-01T00:00:00Z"
FILE_SALT = "studio.api.file"

# Studio's statuses as PiAPI's: a job waiting in Studio's queue is "staged" (PiAPI's
# word for over the account's concurrency), one at the provider "pending" until it runs.
# A canceled job is "failed" with the reason in `error` (PiAPI has no canceled status).
STATUSES = {
    Status.QUEUED: "staged",
    Status.UNCONFIRMED: "pending",
    Status.UNKNOWN: "pending",
    Status.SUBMITTED: "pending",
    Status.PROCESSING: "processing",
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
    Status.CANCELED: "failed",
}

# PiAPI's task types Studio takes, and the operations they name.
NEW_WORK = ("imagine", "describe", "blend")
FOLLOW_UPS = ("upscale", "variation", "reroll", "inpaint", "outpaint", "pan", "seed")
TASK_TYPES = NEW_WORK + FOLLOW_UPS

ERROR_CODES = {Status.FAILED: 10000, Status.CANCELED: 10001}


def piapi_action_name(action: Action, *, on_grid: bool) -> str:
    """PiAPI's name for an action a result offers ("" if PiAPI's protocol has none).
    On a grid, PiAPI offers only reroll and U/V per image; on a single image, the named
    upscales, variations, zooms, pans and Vary (Region)."""
    parameters = action.parameters
    operation = action.operation
    if operation == Operation.REROLL:
        return "reroll"
    if on_grid:
        if operation in (Operation.UPSCALE, Operation.VARIATION) and action.image:
            return f"{operation}{action.image}"
        return ""
    if operation == Operation.UPSCALE:
        named = parameters.get("type") or parameters.get("index") or ""
        return f"upscale_{named}" if named and not str(named).isdigit() else ""
    if operation == Operation.VARIATION:
        if parameters.get("index") in ("high_variation", "low_variation"):
            return str(parameters["index"])
        strength = parameters.get("strength")
        return {"strong": "high_variation", "subtle": "low_variation"}.get(str(strength), "")
    if operation == Operation.OUTPAINT:
        ratio = parameters.get("zoom_ratio") or parameters.get("zoom")
        return f"outpaint_{ratio}x" if ratio and action.needs != "zoom" else ""
    if operation == Operation.PAN and parameters.get("direction"):
        return f"pan_{parameters['direction']}"
    if operation == Operation.INPAINT:
        return "inpaint"
    return ""


def offered_actions(job: Job) -> dict[str, tuple[Job, Action]]:
    """The result's follow-ups PiAPI's protocol can ask for, by PiAPI's name, with the job
    that performs each (the first action of a name wins: on a grid, the subtle upscale
    before the creative one).

    Where an upscale offers nothing itself (LegNext's: its grid's images are varied,
    panned, zoomed and repainted directly), it offers what the grid offers for the image
    it was made from, so that PiAPI's "upscale, then vary the upscale" works there too."""
    offered: dict[str, tuple[Job, Action]] = {}
    for action in job.actions:
        name = piapi_action_name(action, on_grid=job.has_grid)
        if name and not action.unavailable:
            offered.setdefault(name, (job, action))
    image = (job.parameters or {}).get("image")
    grid = job.parent
    if offered or job.operation != Operation.UPSCALE or grid is None or not image:
        return offered
    for action in grid.actions:
        if action.image != image or action.unavailable:
            continue
        if action.operation in (Operation.VARIATION, Operation.PAN, Operation.OUTPAINT):
            name = piapi_action_name(action, on_grid=False)
        elif action.operation == Operation.INPAINT:
            name = "inpaint"
        else:
            continue
        if name:
            offered.setdefault(name, (grid, action))
    return offered


def zoom_text(value: Any) -> str:
    """`zoom_ratio` as PiAPI's action names write it: 2 → "2", 1.50 → "1.5"."""
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return str(value)
    return format(number.normalize(), "f")


def requested_action_name(task_type: str, fields: Mapping[str, Any]) -> str:
    """The PiAPI action name a follow-up request asks for."""
    if task_type == "reroll":
        return "reroll"
    if task_type in ("upscale", "variation"):
        index = str(fields.get("index", "")).strip()
        return (
            f"{task_type}{index}"
            if index.isdigit()
            else (f"upscale_{index}" if task_type == "upscale" else index)
        )
    if task_type == "outpaint":
        return f"outpaint_{zoom_text(fields.get('zoom_ratio', '2'))}x"
    if task_type == "pan":
        return f"pan_{str(fields.get('direction', '')).strip().lower()}"
    if task_type == "inpaint":
        return "inpaint"
    return ""


def file_url(image: ResultImage) -> str:
    """A signed, expiring link to a result image in Studio's storage (no cookie needed)."""
    token = signing.dumps(image.pk, salt=FILE_SALT)
    path = reverse("api:file", kwargs={"signed": token})
    return settings.STUDIO_PUBLIC_URL.rstrip("/") + path


def file_from(signed: str) -> int | None:
    """The image id a signed link names, or None if it is forged or expired."""
    try:
        value = signing.loads(signed, salt=FILE_SALT, max_age=settings.API_FILE_URL_SECONDS)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def moment(value: datetime.datetime | None) -> str:
    if value is None:
        return ZERO_TIME
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def points(amount: Decimal) -> int:
    return int((amount * POINTS_PER_USD).to_integral_value())


def task_object(api_task: ApiTask) -> dict[str, Any]:
    """The task as PiAPI's GET answers it: every field there, empty where Studio has
    nothing. The webhook secret is the caller's own, echoed back as PiAPI does."""
    job = api_task.job
    images = {image.index: image for image in job.images.all()} if job.makes_images else {}
    stored = {index for index, _url in job.result_urls} <= images.keys()
    status = STATUSES[Status(job.status)]
    progress = job.progress
    if status == "completed" and not stored and job.result_lost_at is None:
        # Studio is copying the images: done when the links work.
        status, progress = "processing", 100
    if status == "completed":
        progress = 100
    return {
        "task_id": str(api_task.task_id),
        "model": MODEL,
        "task_type": api_task.task_type,
        "status": status,
        "config": {
            "service_mode": api_task.service_mode,
            "webhook_config": {
                "endpoint": api_task.webhook_endpoint,
                "secret": webhook_secret(api_task),
            },
        },
        "input": api_task.request_input,
        "output": _output(job, images, status, progress),
        "meta": {
            "created_at": moment(job.created_at),
            "started_at": moment(job.submitted_at),
            "ended_at": moment(job.finished_at),
            "usage": _usage(job),
            "is_using_private_pool": False,
            "model_version": str((job.prompt_parameters or {}).get("version") or ""),
            "process_mode": job.process_mode,
        },
        "detail": None,
        "logs": [],
        "error": _error(job),
    }


def webhook_secret(api_task: ApiTask) -> str:
    return decrypt(api_task.webhook_secret) if api_task.webhook_secret else ""


def _output(job: Job, images: dict[int, ResultImage], status: str, progress: int) -> dict[str, Any]:
    done = status == "completed"
    grid = images.get(ResultImage.GRID)
    quadrants = [images[n] for n in sorted(images) if n != ResultImage.GRID]
    output: dict[str, Any] = {
        "image_url": file_url(grid) if done and grid else "",
        "image_urls": None,
        "temporary_image_urls": [file_url(image) for image in quadrants] if done else None,
        "discord_image_url": "",
        "actions": list(offered_actions(job)) if done else [],
        "progress": progress,
        "intermediate_image_urls": None,
    }
    if job.operation == Operation.DESCRIBE:
        output["description"] = (job.output or {}).get("description", "") if done else ""
    if job.operation == Operation.SEED:
        output["seed"] = job.seed_value if done else ""
    return output


def _usage(job: Job) -> dict[str, Any]:
    held = charged = Decimal(0)
    for entry in job.ledger.all():
        if entry.kind == EntryKind.HOLD:
            held = entry.amount
        elif entry.kind == EntryKind.CHARGE:
            charged = entry.amount
    return {"type": "point", "frozen": points(held), "consume": points(charged)}


def _error(job: Job) -> dict[str, Any]:
    if job.status == Status.CANCELED:
        message = job.error or "The task was canceled."
    elif job.status == Status.FAILED:
        message = job.error or "The task failed."
    elif job.status == Status.COMPLETED and job.result_lost_at is not None:
        message = "The provider finished, but Studio could not download the images."
    else:
        return {"code": 0, "raw_message": "", "message": "", "detail": None}
    return {
        "code": ERROR_CODES.get(Status(job.status), 10000),
        "raw_message": job.error,
        "message": message,
        "detail": None,
    }


def envelope(data: Any, *, code: int = 200, message: str = "success") -> dict[str, Any]:
    return {"code": code, "data": data, "message": message}


def error_envelope(status: int, message: str) -> dict[str, Any]:
    """An error as PiAPI writes one: the envelope, the reason in `data.error` too."""
    return envelope(
        {"error": {"code": status, "raw_message": "", "message": message, "detail": None}},
        code=status,
        message=message,
    )
