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
    secrets_match,
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
}
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
}
CREDIT = Decimal("0.001")
TURBO_FACTOR = 2


class LegNext(Provider):
    name = "legnext"
    label = "LegNext"
    default_base_url = "https://api.legnext.ai/api"
    modes = ("fast", "turbo")
    new_work = ("imagine", "describe", "blend", "shorten")
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
    )

    @classmethod
    def price_key(cls, operation: str, parameters: Mapping[str, Any]) -> str:
        # A creative upscale costs 160 credits, a subtle one 120.
        if operation == "upscale" and parameters.get("type") == "creative":
            return "upscale_creative"
        return operation

    def create_task(self, request: TaskRequest) -> ProviderTask:
        """POST the operation's endpoint once. A job object with a `job_id` is the task
        made, whatever the status code; a 4xx without one is a refusal (nothing made);
        anything else (5xx, timeout, lost connection, no job id) leaves it unknown."""
        body = {**request_body(request)}
        if request.webhook_url:
            body["callback"] = request.webhook_url
        url = f"{self.base_url}/v1/{ENDPOINTS[request.operation]}"
        response = self.send_create(url, body)
        try:
            data = _json(response)
            job_id = str((data or {}).get("job_id") or "").strip()
            if job_id:
                return task_from_job(data or {})
            if response.status_code < 300:
                raise OutcomeUnknown("the answer named no job", status_code=response.status_code)
            error = _error(response, data)
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
    def webhook_is_authentic(cls, *, headers: Mapping[str, str], token: str, secret: str) -> bool:
        return secrets_match(token, secret)

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


def request_body(request: TaskRequest) -> dict[str, Any]:
    """The JSON body of the operation's endpoint."""
    parameters = request.parameters
    operation = request.operation
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
        actions=action_names(output.get("available_actions")),
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
}


def action_names(available: Any) -> list[str]:
    """`{"upscale": [0, 1, 2, 3], …, "reroll": true}` as Studio's action names, image by
    image ("upscale_subtle:1" acts on the first image)."""
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
