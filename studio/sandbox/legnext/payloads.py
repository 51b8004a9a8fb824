"""The JSON LegNext speaks: its bare job object, its two error shapes and its enveloped
balance, field for field as legnext-protocol.md §1 and §3 describe them."""

from datetime import UTC, datetime
from typing import Any

from studio.sandbox import describing, images, prompts, shortening, videos
from studio.sandbox.models import ResultKind, Task, TaskStatus
from studio.sandbox.payloads import error_object, image_url, rfc3339
from studio.sandbox.timeline import PREVIEW_FROM_PROGRESS, Step, ended_at, started_at

MODEL = "midjourney"
# 1 credit = 1 point = $0.001 (balance_usd == (credits + points) / 1000 in every sample).
CREDITS_PER_USD = 1000
# The image numbers of a grid: LegNext counts from 0.
GRID_IMAGE_NUMBERS = (0, 1, 2, 3)
# What a grid offers besides upscale and variation, from Midjourney 5.2 on.
EDIT_ACTIONS = ("edit", "inpaint", "outpaint", "pan", "remix")
# The first processing step (describe and blend wait there for their images): "staged".
STAGED_STEP = 1
# Balance alerts are set in dollars.
ALERT_THRESHOLD_USD = 10


def legnext_task_type(task: Task) -> str:
    return str(task.input["legnext"]["task_type"])


def credits_of(task: Task) -> int:
    """The job's price in credits, fixed when it was made."""
    return int(task.input["legnext"]["credits"])


def status_of(step: Step) -> str:
    if step.status == TaskStatus.PROCESSING and step.index == STAGED_STEP:
        return TaskStatus.STAGED.value
    return step.status.value


def is_v7_draft(task: Task) -> bool:
    """Whether the job's images are v7 drafts, which only enhance makes full ones of."""
    return prompts.is_draft(task.effective_prompt(), task.model_version)


def available_actions(task: Task) -> dict[str, Any]:
    """What each follow-up may be asked of a completed job: the image numbers it takes,
    or true for reroll. Only grids offer any (see the package's docstring)."""
    if task.result_kind != ResultKind.GRID:
        return {}
    numbers = list(GRID_IMAGE_NUMBERS)
    actions: dict[str, Any] = {"upscale": numbers, "variation": numbers, "reroll": True}
    if prompts.offers_editing(task.model_version):
        actions.update({action: numbers for action in EDIT_ACTIONS})
    if is_v7_draft(task):
        actions["enhance"] = numbers
    # In the order LegNext's samples print them.
    return dict(sorted(actions.items()))


def job_object(task: Task, step: Step) -> dict[str, Any]:
    """The job as LegNext shows it at `step` of its timeline: the answer of a create
    call, of GET v1/job/<id>, and a callback's `data`."""
    credits = credits_of(task)
    return {
        "job_id": str(task.task_id),
        "model": MODEL,
        "task_type": legnext_task_type(task),
        "status": status_of(step),
        "config": {
            "service_mode": "public",
            "webhook_config": {"endpoint": task.webhook_endpoint, "secret": ""},
        },
        "input": None,
        "output": _output(task, step),
        "meta": {
            "created_at": rfc3339(task.created_at),
            "started_at": rfc3339(started_at(task, step)),
            "ended_at": rfc3339(ended_at(task, step)),
            "usage": {
                "type": "point",
                "frozen": credits,
                "consume": credits if step.status == TaskStatus.COMPLETED else 0,
            },
        },
        "detail": None,
        "logs": [],
        "error": error_object(step),
    }


def _output(task: Task, step: Step) -> dict[str, Any]:
    completed = step.status == TaskStatus.COMPLETED
    kind = task.result_kind
    if kind == ResultKind.DESCRIPTION:
        return _described(task, completed)
    if kind == ResultKind.SHORTENED:
        return _shortened(task, completed)
    if kind == ResultKind.VIDEO:
        # Clips only, no image: legnext-protocol.md §3 (extend-video, video-upscale).
        return {"video_urls": _video_urls(task) if completed else None, "seed": ""}
    if completed and kind == ResultKind.GRID:
        return {
            "image_url": image_url(task, images.GRID),
            "image_urls": [image_url(task, name) for name in images.QUADRANTS],
            "seed": str(task.seed),
            "available_actions": available_actions(task),
        }
    if completed and kind == ResultKind.CUTOUT:
        # remove-background: the image listed too, and seed "0" (legnext-protocol.md §3).
        url = image_url(task, images.IMAGE)
        return {"image_url": url, "image_urls": [url], "seed": "0", "available_actions": {}}
    if completed:  # upscale, enhance: one image
        return {
            "image_url": image_url(task, images.IMAGE),
            "image_urls": None,
            "seed": str(task.seed),
            "available_actions": {},
        }
    output: dict[str, Any] = {"image_url": "", "image_urls": None, "seed": ""}
    if step.status == TaskStatus.PROCESSING and step.progress >= PREVIEW_FROM_PROGRESS:
        output["intermediate_image_urls"] = [image_url(task, images.PREVIEW)]
    return output


def _video_urls(task: Task) -> list[str]:
    count = 1 if task.task_type == "video_upscale" else videos.CLIP_COUNT
    return [
        videos.signed_video_url(
            task.task_id,
            name,
            base_url=task.base_url,
            expires=images.url_expiry(task.created_at),
        )
        for name in videos.CLIP_NAMES[:count]
    ]


def _described(task: Task, completed: bool) -> dict[str, Any]:
    link = str(task.input["image_url"])
    # A base64 image may be megabytes long: the command names it, not its bytes.
    shown = "<uploaded image>" if link.startswith("data:") else link
    description = describing.description_for(task) if completed else ""
    numbered = description.split("\n\n") if description else []
    found = [prompt.split(" ", 1)[1] for prompt in numbered]
    return {
        "promptEn": description,
        "description": f"/describe {shown}",
        "finalPrompt": found[0] if found else "",
        "prompts": found,
    }


def _shortened(task: Task, completed: bool) -> dict[str, Any]:
    prompt = str(task.input["prompt"])
    shortened = shortening.shorten(prompt) if completed else None
    return {
        "promptEn": prompt,
        "description": f"/shorten {prompt}",
        "finalPrompt": shortened.prompt if shortened else "",
        "prompts": list(shortened.important_words) if shortened else [],
    }


# --- errors and the balance -------------------------------------------------------------


def error_body(code: int, message: str, raw_message: str = "") -> dict[str, Any]:
    """Shape A: the flat error the docs show (a bad key, a bad body)."""
    return {"code": code, "message": message, "raw_message": raw_message, "detail": None}


def failed_job_body(code: int, message: str) -> dict[str, Any]:
    """Shape B: a job-shaped refusal, as LegNext answers an action it will not do."""
    return {
        "job_id": "",
        "model": "",
        "task_type": "",
        "status": TaskStatus.FAILED.value,
        "config": None,
        "input": None,
        "output": None,
        "meta": None,
        "detail": None,
        "logs": None,
        "error": {"code": code, "message": message, "raw_message": "", "detail": None},
    }


def balance_body(
    *, account_id: int, credits: int, points: int, updated_at: datetime
) -> dict[str, Any]:
    balance_usd = round((credits + points) / CREDITS_PER_USD, 3)
    return {
        "code": 200,
        "message": "success",
        "data": {
            "account_id": account_id,
            "balance_usd": balance_usd,
            "available_credits": credits,
            "available_points": points,
            "alert_threshold": ALERT_THRESHOLD_USD,
            "low_balance_alert": balance_usd < ALERT_THRESHOLD_USD,
            "updated_at": updated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    }
