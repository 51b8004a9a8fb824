"""LegNext's Midjourney API (https://docs.legnext.ai), which PiAPI now sends its users to.

Protocol facts, with the conflicts between LegNext's sources resolved: see
../shared/legnext-protocol.md. What differs from PiAPI, and is handled here:
- one endpoint per operation (`POST /v1/diffusion`, `/v1/upscale`, …), answered with
  the bare job object (`job_id`, no envelope); only the balance is enveloped;
- follow-ups take the grid job and a 0-based image number directly (no "U" step), and
  a result lists what it allows per image in `output.available_actions`;
- the mode is a prompt flag (`--turbo`; no relax); there is no cancel;
- callbacks carry no secret: Studio's callback URL holds a per-job token instead, and
  the body may be `{timestamp, data}` (LegNext's own web app) or the bare job (its SDK).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import requests

from studio.providers.base import (
    RETRYABLE_STATUSES,
    ZOOM_MAX,
    ZOOM_MIN,
    AccountFigures,
    Action,
    OutcomeUnknown,
    Provider,
    ProviderError,
    ProviderTask,
    TaskRequest,
    int_or,
    retry_after,
)

ENDPOINTS = {
    "imagine": "diffusion",
    "describe": "describe",
    "blend": "blend",
    "shorten": "shorten",
    "upscale": "upscale",
    "variation": "variation",
    "reroll": "reroll",
    "pan": "pan",
    "outpaint": "outpaint",
    "inpaint": "inpaint",
    "remix": "remix",
    "enhance": "enhance",
    "animate": "video-diffusion",
    "extend": "extend-video",
    "video_upscale": "video-upscale",
    "retexture": "retexture",
    "remove_bg": "remove-background",
    # Edit on a canvas: `edit` for one of LegNext's own results, `upload-paint` for any
    # other image (see `endpoint`).
    "edit": "edit",
}
VIDEO_TYPES = {"480p": 0, "720p": 1}
# LegNext's answer to `edit` for an account it has not whitelisted (HTTP 403).
NO_EDIT = (
    "Your LegNext plan does not include Edit: LegNext allows it only for accounts it has "
    "whitelisted. Nothing was charged. Edit an upscale or an upload instead, or ask LegNext "
    "to enable it."
)
VIDEO_TASK_TYPES = ("video-diffusion", "extend-video", "video-upscale")
# Direction codes of `/v1/pan` as LegNext's docs, OpenAPI file and n8n node give them
# (its Python SDK's enum differs and is wrong; see the protocol file, §2).
PAN_CODES = {"down": 0, "right": 1, "up": 2, "left": 3}
PAN_ARROWS = {"left": "←", "right": "→", "up": "↑", "down": "↓"}
# How far a pan extends the image. Midjourney's pan buttons add half the image's side
# in the chosen direction, as its 1.5× zoom adds a border: the same 1.5.
PAN_SCALE = 1.5
BLEND_RATIOS = {"square": "1:1", "portrait": "2:3", "landscape": "3:2"}
UPSCALE_TYPES = {"subtle": 0, "creative": 1}
VARIATION_TYPES = {"subtle": 0, "strong": 1}
REMIX_MODES = {"strong": 0, "subtle": 1}
ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class Balance(AccountFigures):
    balance_usd: float
    available_credits: int
    available_points: int

    @property
    def summary(self) -> str:
        """E.g. "$72.05 · 71,000 credits + 1,048 bonus points"."""
        line = f"${self.balance_usd:,.2f} · {self.available_credits:,} credits"
        if self.available_points:
            line += f" + {self.available_points:,} bonus points"
        return line


# What a job costs at LegNext in credits, in Fast (1 credit = $0.001; Turbo costs twice
# as much, and there is no Relax), from its pricing page (legnext-protocol.md §4,
# https://legnext.ai/pricing). Studio's default prices are these, so that a team pays what
# its jobs cost. "" is the price of the rest: imagine, reroll (not listed by LegNext:
# it runs the prompt again, as an imagine), pan, outpaint (zoom out), enhance and blend.
# A seed costs nothing: it comes with the result, and no job is made.
FAST_CREDITS: Mapping[str, int] = {
    "": 80,
    "variation": 120,
    "remix": 120,
    "inpaint": 120,
    "upscale": 120,
    "upscale_creative": 160,
    "describe": 20,
    "shorten": 20,
    "seed": 0,
    "retexture": 120,
    "edit": 120,
    "remove_bg": 80,
    # Video: an animation (and each extension) by resolution; an upscaled clip.
    "animate": 480,
    "animate_720p": 1536,
    "extend": 480,
    "extend_720p": 1536,
    "video_upscale": 480,
}
CREDIT = Decimal("0.001")
TURBO_FACTOR = 2


class LegNext(Provider):
    name = "legnext"
    label = "LegNext"
    default_base_url = "https://api.legnext.ai/api"
    modes = ("fast", "turbo")
    new_work = (
        "imagine",
        "describe",
        "blend",
        "shorten",
        "animate",
        "retexture",
        "remove_bg",
        "edit",
    )
    can_cancel = False
    # "Follow-up operations on a job are allowed for 3 days after creation."
    follow_up_window = timedelta(days=3)
    seed_in_result = True
    takes_mask_as_link = True
    default_prices = {
        (mode, operation): credits * CREDIT * factor
        for mode, factor in (("fast", 1), ("turbo", TURBO_FACTOR))
        for operation, credits in FAST_CREDITS.items()
    }
    priced_operations = (
        "imagine",
        "reroll",
        "variation",
        "remix",
        "upscale",
        "upscale_creative",
        "pan",
        "outpaint",
        "inpaint",
        "enhance",
        "blend",
        "describe",
        "shorten",
        "retexture",
        "remove_bg",
        "edit",
        "animate",
        "animate_720p",
        "extend",
        "extend_720p",
        "video_upscale",
    )

    @classmethod
    def price_key(cls, operation: str, parameters: Mapping[str, Any]) -> str:
        # A creative upscale costs 160 credits, a subtle one 120.
        if operation == "upscale" and parameters.get("type") == "creative":
            return "upscale_creative"
        # A 720p clip costs 1536 credits, a 480p one 480 (an extension keeps its clip's).
        if operation in ("animate", "extend") and parameters.get("resolution") == "720p":
            return f"{operation}_720p"
        return operation

    def create_task(self, request: TaskRequest) -> ProviderTask:
        """POST the operation's endpoint once. A job object with a `job_id` is the task
        made, whatever the status code; a 4xx without one is a refusal (nothing made);
        anything else (5xx, timeout, lost connection, no job id) leaves it unknown."""
        body = {**request_body(request)}
        if request.webhook_url:
            body["callback"] = request.webhook_url
        url = f"{self.base_url}/v1/{endpoint(request)}"
        response = self.send_create(url, body)
        try:
            data = _json(response)
            job_id = str((data or {}).get("job_id") or "").strip()
            if job_id:
                return task_from_job(data or {})
            if response.status_code < 300:
                raise OutcomeUnknown("the answer named no job", status_code=response.status_code)
            error = _error(response, data)
            if response.status_code == 403 and endpoint(request) == "edit":
                error.message = NO_EDIT
            if 400 <= response.status_code < 500:
                raise error  # refused as it stood: nothing was made
            raise OutcomeUnknown(f"HTTP {response.status_code}", status_code=response.status_code)
        finally:
            response.close()

    def get_task(self, task_id: str) -> ProviderTask:
        return task_from_job(self.call("GET", f"/v1/job/{task_id}"))

    def account_info(self) -> Balance:
        envelope = self.call("GET", "/account/balance")
        data = _dict(envelope.get("data")) or envelope
        return Balance(
            balance_usd=float(data.get("balance_usd") or 0),
            available_credits=int_or(data.get("available_credits"), 0),
            available_points=int_or(data.get("available_points"), 0),
        )

    # --- webhooks: a per-job token in the URL; the body enveloped or bare -------------

    @classmethod
    def webhook_path_token(cls, secret: str) -> str:
        return secret

    @classmethod
    def webhook_secret_given(cls, *, headers: Mapping[str, str], token: str) -> str:
        return token

    @classmethod
    def webhook_task(cls, body: Any) -> ProviderTask:
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            body = body["data"]
        if not isinstance(body, dict) or not body.get("job_id"):
            raise ValueError("expected a job, bare or as {timestamp, data}")
        return task_from_job(body)

    # --- what a result offers ----------------------------------------------------------

    @classmethod
    def action(cls, name: str) -> Action | None:
        return action_from_name(name)

    # --- transport ---------------------------------------------------------------------

    def read_answer(self, response: requests.Response) -> dict[str, Any]:
        """A job, or the balance's envelope; a ProviderError for an error of either shape."""
        data = _json(response)
        if response.status_code != 200 or data is None:
            raise _error(response, data)
        if "code" in data and "job_id" not in data and int_or(data["code"], 200) != 200:
            raise _error(response, data)
        return data


def endpoint(request: TaskRequest) -> str:
    """The operation's endpoint: an edit of an image LegNext did not make is an
    `upload-paint` of its link."""
    if request.operation == "edit" and not request.origin_task_id:
        return "upload-paint"
    return ENDPOINTS[request.operation]


def request_body(request: TaskRequest) -> dict[str, Any]:
    """The JSON body of the operation's endpoint."""
    parameters = request.parameters
    operation = request.operation
    if operation in ("animate", "extend", "video_upscale"):
        return video_body(request)
    if operation == "retexture":
        return {
            "imgUrl": request.image_urls[0] if request.image_urls else "",
            "remixPrompt": with_mode(request.prompt, request.mode),
        }
    if operation == "remove_bg":
        return {"imgUrl": request.image_urls[0] if request.image_urls else ""}
    if operation == "edit":
        return edit_body(request)
    if operation == "imagine":
        return {"text": prompt_with_flags(request.prompt, request.aspect_ratio, request.mode)}
    if operation == "describe":
        return {"imgUrl": request.image_urls[0] if request.image_urls else ""}
    if operation == "blend":
        dimension = str(parameters.get("dimension", "square"))
        return {"imgUrls": list(request.image_urls), "aspect_ratio": BLEND_RATIOS[dimension]}
    if operation == "shorten":
        return {"prompt": request.prompt}
    body: dict[str, Any] = {"jobId": request.origin_task_id}
    if operation == "reroll":
        return body
    body["imageNo"] = int(parameters["image"]) - 1  # Studio counts from 1, LegNext from 0
    prompt = str(parameters.get("prompt") or "")
    if operation == "upscale":
        body["type"] = UPSCALE_TYPES[str(parameters["type"])]
    elif operation == "variation":
        body["type"] = VARIATION_TYPES[str(parameters["strength"])]
    elif operation == "pan":
        body["direction"] = PAN_CODES[str(parameters["direction"])]
        body["scale"] = PAN_SCALE
    elif operation == "outpaint":
        body["scale"] = float(parameters["zoom"])
    elif operation == "inpaint":
        body["mask"] = {"url": str(parameters["mask_url"])}
    elif operation == "remix":
        body["mode"] = REMIX_MODES[str(parameters["mode"])]
    if prompt and operation in ("variation", "pan", "outpaint", "inpaint", "remix"):
        body["remixPrompt"] = prompt
    return body


def video_body(request: TaskRequest) -> dict[str, Any]:
    """video-diffusion from one of LegNext's grids (`jobId` + `imageNo`) or from any
    image's link (`"<url> prompt"`); extend-video and video-upscale of one clip."""
    parameters = request.parameters
    if request.operation == "video_upscale":
        return {"jobId": request.origin_task_id, "videoNo": int(parameters["video"]) - 1}
    flags = []
    if request.operation == "animate":
        flags.append(f"--motion {parameters.get('motion') or 'low'}")
        if parameters.get("loop"):
            flags.append("--loop")
        if parameters.get("end_frame") and request.image_urls:
            flags.append(f"--end {request.image_urls[-1]}")
    text = with_mode(" ".join([str(parameters.get("prompt") or ""), *flags]).strip(), request.mode)
    if request.operation == "extend":
        body: dict[str, Any] = {
            "jobId": request.origin_task_id,
            "videoNo": int(parameters["video"]) - 1,
        }
        if text:
            body["prompt"] = text
        return body
    body = {"videoType": VIDEO_TYPES[str(parameters.get("resolution") or "480p")]}
    if request.origin_task_id:
        body.update(jobId=request.origin_task_id, imageNo=int(parameters["image"]) - 1)
        if text:
            body["prompt"] = text
    else:
        body["prompt"] = f"{request.image_urls[0]} {text}".strip()
    return body


def edit_body(request: TaskRequest) -> dict[str, Any]:
    """An edit on a canvas: the canvas's size, where the image sits on it, the prompt and
    the painted mask (white = repaint) as a link LegNext fetches."""
    parameters = request.parameters
    canvas = parameters["canvas"]
    placed = parameters["placed"]
    body: dict[str, Any] = {
        "canvas": {"width": int(canvas["width"]), "height": int(canvas["height"])},
        "imgPos": {key: int(placed[key]) for key in ("width", "height", "x", "y")},
        "remixPrompt": with_mode(request.prompt, request.mode),
        "mask": {"url": str(parameters["mask_url"])},
    }
    if request.origin_task_id:
        return {"jobId": request.origin_task_id, "imageNo": int(parameters["image"]) - 1, **body}
    return {"imgUrl": request.image_urls[0] if request.image_urls else "", **body}


def with_mode(text: str, mode: str) -> str:
    """LegNext takes Turbo as a prompt flag."""
    if mode == "turbo" and "--turbo" not in text:
        return f"{text} --turbo".strip()
    return text


def prompt_with_flags(prompt: str, aspect_ratio: str, mode: str) -> str:
    """LegNext takes the aspect ratio and the speed in the prompt (fast is its default)."""
    text = prompt.strip()
    if aspect_ratio and aspect_ratio != "1:1" and not re.search(r"--(ar|aspect)\b", text):
        text += f" --ar {aspect_ratio}"
    if mode == "turbo" and "--turbo" not in text:
        text += " --turbo"
    return text


def task_from_job(job: dict[str, Any]) -> ProviderTask:
    """Read a LegNext job object (submit answer, GET, or callback)."""
    output = _dict(job.get("output"))
    error = _dict(job.get("error"))
    meta = _dict(job.get("meta"))
    task_type = str(job.get("task_type") or "").replace("_", "-")
    status = str(job.get("status") or "").strip().lower()
    code = int_or(error.get("code"), 0)
    message = ""
    if code or error.get("message"):
        message = str(error.get("message") or error.get("raw_message") or "failed")
    urls = [str(url) for url in output.get("image_urls") or [] if url]
    videos = [str(url) for url in output.get("video_urls") or [] if url]
    description = str(output.get("promptEn") or "")
    prompts = [str(p) for p in output.get("prompts") or [] if p]
    if task_type == "shorten":
        description = str(output.get("finalPrompt") or "") or (prompts[0] if prompts else "")
    return ProviderTask(
        task_id=str(job.get("job_id") or ""),
        task_type=task_type,
        status=status,
        progress=max(0, min(int_or(output.get("progress"), 0), 100)),
        image_url=str(output.get("image_url") or ""),
        quadrant_urls=urls if len(urls) == 4 else [],
        intermediate_urls=[str(u) for u in output.get("intermediate_image_urls") or [] if u],
        video_urls=videos,
        actions=action_names(output.get("available_actions"), task_type=task_type, videos=videos)
        + (animations(len(urls)) if task_type not in VIDEO_TASK_TYPES else []),
        error=message,
        error_code=code,
        description=description,
        prompts=prompts if task_type == "shorten" else [],
        seed=str(output.get("seed") or ""),
        usage=dict(_dict(meta.get("usage"))),
    )


# Studio's names for what `available_actions` allows, per kind LegNext lists.
KINDS = {
    "upscale": ("upscale_subtle", "upscale_creative"),
    "variation": ("vary_subtle", "vary_strong"),
    "remix": ("remix_strong", "remix_subtle"),
    "pan": ("pan_left", "pan_right", "pan_up", "pan_down"),
    "outpaint": ("zoom_1.5", "zoom_2", "zoom_custom"),
    "inpaint": ("region",),
    "enhance": ("enhance",),
    "edit": ("edit",),
}


def animations(images: int) -> list[str]:
    """Any image of one of LegNext's grids can be animated (`jobId` + `imageNo`)."""
    return [f"animate:{n}" for n in range(1, 5)] if images == 4 else []


def action_names(
    available: Any, *, task_type: str = "", videos: list[str] | None = None
) -> list[str]:
    """`{"upscale": [0, 1, 2, 3], …, "reroll": true}` as Studio's action names, image by
    image ("upscale_subtle:1" acts on the first image). A video job's clips are extended
    and upscaled (an upscaled clip no more: LegNext takes a diffusion's or an
    extension's clips)."""
    if task_type in VIDEO_TASK_TYPES:
        if task_type == "video-upscale":
            return []
        return [
            f"{kind}:{n}"
            for n in range(1, len(videos or []) + 1)
            for kind in ("extend", "video_upscale")
        ]
    if not isinstance(available, dict):
        return []
    names = ["reroll"] if available.get("reroll") is True else []
    numbers = sorted(
        {
            int(n) + 1
            for kind in KINDS
            for n in (available.get(kind) or [])
            if isinstance(available.get(kind), list) and str(n).isdigit() and 0 <= int(n) <= 3
        }
    )
    for image in numbers:
        for kind, names_of_kind in KINDS.items():
            listed = available.get(kind)
            if isinstance(listed, list) and image - 1 in [int_or(n, -1) for n in listed]:
                names += [f"{name}:{image}" for name in names_of_kind]
    return names


def action_from_name(name: str) -> Action | None:
    """The follow-up behind one of Studio's LegNext action names."""
    if name == "reroll":
        return Action(name, "reroll", "Reroll", "Run the prompt again", "reroll")
    match = re.fullmatch(r"([a-z_]+(?:_1\.5|_2)?):([1-4])", name)
    if not match:
        return None
    kind, image = match[1], int(match[2])
    on = {"image": image}
    if kind in ("upscale_subtle", "upscale_creative"):
        style = kind.removeprefix("upscale_")
        label = f"Upscale ({style.title()})"
        title = (
            f"Upscale image {image}, keeping it as it is"
            if style == "subtle"
            else f"Upscale image {image}, letting Midjourney add detail"
        )
        return Action(name, "upscale", label, title, "upscale", {**on, "type": style}, image)
    if kind in ("vary_subtle", "vary_strong"):
        strength = kind.removeprefix("vary_")
        changes = "small" if strength == "subtle" else "bigger"
        title = f"Variations of image {image} with {changes} changes"
        return Action(
            name,
            "variation",
            f"Vary ({strength.title()})",
            title,
            "vary",
            {**on, "strength": strength},
            image,
        )
    if kind.startswith("pan_"):
        direction = kind.removeprefix("pan_")
        arrow = PAN_ARROWS.get(direction)
        if arrow is None:
            return None
        return Action(
            name,
            "pan",
            arrow,
            f"Pan image {image} {direction}: extend it {direction}wards",
            "pan",
            {**on, "direction": direction},
            image,
            lineage=f"Pan {arrow}",
        )
    if kind in ("zoom_1.5", "zoom_2"):
        ratio = kind.removeprefix("zoom_")
        return Action(
            name,
            "outpaint",
            f"Zoom Out {ratio}×",
            f"Zoom out image {image} {ratio}×: Midjourney fills in the new border",
            "zoom",
            {**on, "zoom": ratio},
            image,
        )
    if kind == "zoom_custom":
        return Action(
            name,
            "outpaint",
            "Custom Zoom…",
            f"Zoom out image {image} by a factor you choose ({ZOOM_MIN}–{ZOOM_MAX})",
            "zoom",
            on,
            image,
            needs="zoom",
            lineage="Zoom Out",
        )
    if kind == "region":
        return Action(
            name,
            "inpaint",
            "Vary (Region)",
            f"Repaint a region you draw on image {image}",
            "region",
            on,
            image,
            needs="mask",
        )
    if kind in ("remix_strong", "remix_subtle"):
        mode = kind.removeprefix("remix_")
        return Action(
            name,
            "remix",
            f"Remix ({mode.title()})",
            f"Image {image} again with a new prompt, changing "
            + ("much" if mode == "strong" else "little"),
            "remix",
            {**on, "mode": mode},
            image,
            needs="prompt",
        )
    if kind == "animate":
        return Action(
            name,
            "animate",
            "Animate…",
            f"Image {image} as four short clips: choose the motion, 480p or 720p, a loop",
            "video",
            on,
            image,
            needs="animate",
        )
    if kind == "edit":
        return Action(
            name,
            "edit",
            "Edit…",
            f"Place image {image} on a larger canvas and repaint what you paint",
            "edit",
            on,
            image,
            needs="canvas",
        )
    if kind == "extend":
        return Action(
            name,
            "extend",
            "Extend",
            f"Clip {image} made 4 seconds longer, continuing its motion",
            "video",
            {"video": image},
            image,
            lineage=f"Extend clip {image} +4 s",
            label_names_image=True,
        )
    if kind == "video_upscale":
        return Action(
            name,
            "video_upscale",
            "Upscale",
            f"Clip {image} at twice the size",
            "video",
            {"video": image},
            image,
            lineage=f"Upscale clip {image}",
            label_names_image=True,
        )
    if kind == "enhance":
        return Action(
            name,
            "enhance",
            "Enhance",
            f"Image {image} of this draft, at full quality",
            "enhance",
            on,
            image,
        )
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _json(response: requests.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except (ValueError, requests.RequestException):
        return None
    return data if isinstance(data, dict) else None


def _error(response: requests.Response, data: dict[str, Any] | None) -> ProviderError:
    """LegNext's error, from either of its shapes: flat `{code, message}` (its docs) or
    a job-shaped body with an `error` object (observed live). The nested one first."""
    status = response.status_code
    nested = (data or {}).get("error")
    reason = ""
    if isinstance(nested, dict):
        reason = str(nested.get("message") or nested.get("raw_message") or "")
    reason = reason or str((data or {}).get("message") or "")
    if status == 200:
        status = int_or((data or {}).get("code"), 500)
    if status == 401:
        message = f"LegNext rejected the API key ({reason or 'unauthorized'})."
    elif status == 402:
        message = f"LegNext says the account has no credits left ({reason or 'HTTP 402'})."
    elif status == 429:
        message = "LegNext is rate-limiting Studio; try again in a moment."
    elif status >= 500:
        message = f"LegNext had an internal error (HTTP {status}). {reason}".strip()
    else:
        message = reason or f"LegNext refused the request (HTTP {status})."
    return ProviderError(
        message,
        status_code=status,
        retryable=status in RETRYABLE_STATUSES,
        retry_after=retry_after(response),
    )
