"""The JSON the sandbox speaks: the envelope and the task object, field for field as
piapi-protocol.md describes them (https://piapi.ai/docs/midjourney-api/get-task)."""

from datetime import UTC, datetime
from typing import Any

from studio.sandbox import describing, images, prompts
from studio.sandbox.models import ResultKind, Task, TaskStatus
from studio.sandbox.timeline import PREVIEW_FROM_PROGRESS, Step, ended_at, started_at

# PiAPI prints an unset time as Go's zero time.
UNSET_TIME = "0001-01-01T00:00:00Z"
GRID_ACTIONS = [
    "reroll",
    "upscale1",
    "upscale2",
    "upscale3",
    "upscale4",
    "variation1",
    "variation2",
    "variation3",
    "variation4",
]
# What an upscaled image offers besides upscaling it again (v5.2 and later), as PiAPI's
# docs list it: never `inpaint`, though its inpaint task takes any upscaled result.
EDIT_ACTIONS = [
    "high_variation",
    "low_variation",
    "outpaint_1.5x",
    "outpaint_2x",
    "pan_left",
    "pan_right",
    "pan_up",
    "pan_down",
]
# Points held per task by mode: the protocol's list prices at 10 million points a dollar.
POINTS_PER_USD = 10_000_000
POINTS_BY_MODE = {"relax": 150_000, "fast": 450_000, "turbo": 1_000_000}


def envelope(
    data: dict[str, Any] | None, *, code: int = 200, message: str = "success"
) -> dict[str, Any]:
    return {"code": code, "data": data if data is not None else {}, "message": message}


def error_envelope(code: int, message: str) -> dict[str, Any]:
    error = {"code": code, "raw_message": "", "message": message, "detail": None}
    return envelope({"error": error}, code=code, message=message)


def rfc3339(moment: datetime | None) -> str:
    if moment is None:
        return UNSET_TIME
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def points_for(task: Task) -> int:
    return POINTS_BY_MODE.get(task.input.get("process_mode", ""), POINTS_BY_MODE["fast"])


def task_object(task: Task, step: Step) -> dict[str, Any]:
    """The task as the provider shows it at `step` of its timeline."""
    frozen = points_for(task)
    return {
        "task_id": str(task.task_id),
        "model": task.model,
        "task_type": task.task_type,
        "status": str(step.status),
        "config": task.config,
        "input": task.input,
        "output": _output(task, step),
        "meta": {
            "created_at": rfc3339(task.created_at),
            "started_at": rfc3339(started_at(task, step)),
            "ended_at": rfc3339(ended_at(task, step)),
            "usage": {
                "type": "point",
                "frozen": frozen,
                "consume": frozen if step.status == TaskStatus.COMPLETED else 0,
            },
            "is_using_private_pool": task.config.get("service_mode") == "private",
            "process_mode": task.input.get("process_mode", ""),
            "model_version": task.model_version,
        },
        "detail": None,
        "logs": [],
        "error": error_object(step),
    }


def image_url(task: Task, name: str) -> str:
    return images.signed_image_url(
        task.task_id,
        name,
        base_url=task.base_url,
        expires=images.url_expiry(task.created_at),
    )


def actions_for(task: Task) -> list[str]:
    """The follow-ups a completed task offers, as the provider lists them."""
    kind = task.result_kind
    if kind == ResultKind.GRID:
        return list(GRID_ACTIONS)
    if kind != ResultKind.UPSCALE:
        return []
    actions = []
    if not task.is_upscale_of_upscale:
        actions = [f"upscale_{index}" for index in prompts.second_upscales(task.model_version)]
    if prompts.offers_editing(task.model_version):
        actions += EDIT_ACTIONS
    return actions


def _output(task: Task, step: Step) -> dict[str, Any] | None:
    if step.status == TaskStatus.PENDING or step.canceled:
        return None
    completed = step.status == TaskStatus.COMPLETED
    previewing = step.status == TaskStatus.PROCESSING and step.progress >= PREVIEW_FROM_PROGRESS
    kind = task.result_kind
    has_pictures = kind in (ResultKind.GRID, ResultKind.UPSCALE)
    # A grid's image_url is the whole grid and its quadrants are in
    # temporary_image_urls; an upscale's image_url is the image itself and
    # temporary_image_urls stays null. image_urls is always null for Midjourney.
    main_image = images.GRID if kind == ResultKind.GRID else images.IMAGE
    output: dict[str, Any] = {
        "image_url": image_url(task, main_image) if completed and has_pictures else "",
        "image_urls": None,
        "temporary_image_urls": (
            [image_url(task, name) for name in images.QUADRANTS]
            if completed and kind == ResultKind.GRID
            else None
        ),
        "discord_image_url": "",
        "actions": actions_for(task) if completed else [],
        "progress": step.progress,
        "intermediate_image_urls": (
            [image_url(task, images.PREVIEW)] if previewing and has_pictures else None
        ),
    }
    if kind == ResultKind.DESCRIPTION:
        output["description"] = describing.description_for(task) if completed else ""
    if kind == ResultKind.SEED:
        output["seed"] = str(task.seed) if completed else ""
    return output


def error_object(step: Step) -> dict[str, Any]:
    if step.error is None:
        return {"code": 0, "raw_message": "", "message": "", "detail": None}
    return {
        "code": step.error.code,
        "raw_message": step.error.raw_message,
        "message": step.error.message,
        "detail": None,
    }
