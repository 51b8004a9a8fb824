"""Validating a create-task body the way the provider does, and normalising what the
task echoes back. One function per task type; a new type is one more entry in
INPUT_NORMALISERS (https://piapi.ai/docs/midjourney-api lists the input fields)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from studio.sandbox import prompts

MODEL = "midjourney"
PROCESS_MODES = ("relax", "fast", "turbo")
SERVICE_MODES = ("", "public", "private")
DEFAULT_ASPECT_RATIO = "1:1"
DEFAULT_PROCESS_MODE = "fast"
MAX_ASPECT = 4  # Midjourney renders from 1:4 to 4:1

# Every task type the provider knows, so that a known-but-not-emulated one gets a
# message that says so rather than "invalid".
PROVIDER_TASK_TYPES = (
    "imagine",
    "upscale",
    "variation",
    "reroll",
    "describe",
    "blend",
    "inpaint",
    "outpaint",
    "pan",
    "seed",
)


class InvalidRequest(Exception):
    """The body breaks the provider's rules; answered with HTTP 400."""


@dataclass(frozen=True)
class CreateRequest:
    model: str
    task_type: str
    input: dict[str, Any]
    config: dict[str, Any]


def parse_ratio(value: object) -> tuple[int, int]:
    """ "W:H" with positive integers between 1:4 and 4:1, as (W, H)."""
    if not isinstance(value, str):
        raise InvalidRequest('input.aspect_ratio must be a string like "16:9"')
    width_text, colon, height_text = value.strip().partition(":")
    if not colon or not width_text.isdigit() or not height_text.isdigit():
        raise InvalidRequest(f'input.aspect_ratio {value!r} is not of the form "W:H"')
    width, height = int(width_text), int(height_text)
    if width <= 0 or height <= 0:
        raise InvalidRequest(f"input.aspect_ratio {value!r} needs positive numbers")
    if width > MAX_ASPECT * height or height > MAX_ASPECT * width:
        raise InvalidRequest(f"input.aspect_ratio {value!r} must be between 1:4 and 4:1")
    return width, height


def normalise_imagine(raw: dict[str, Any]) -> dict[str, Any]:
    prompt = raw.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("input.prompt is required and must be a non-empty string")
    # The field wins over an --ar flag: PiAPI appends the field to the prompt, and
    # Midjourney takes the last --ar.
    aspect = raw.get("aspect_ratio") or prompts.aspect_flag(prompt) or DEFAULT_ASPECT_RATIO
    width, height = parse_ratio(aspect)
    process_mode = raw.get("process_mode") or DEFAULT_PROCESS_MODE
    if not isinstance(process_mode, str) or process_mode.lower() not in PROCESS_MODES:
        raise InvalidRequest(
            f"input.process_mode {process_mode!r} must be one of {', '.join(PROCESS_MODES)}"
        )
    skip_prompt_check = raw.get("skip_prompt_check", False)
    if not isinstance(skip_prompt_check, bool):
        raise InvalidRequest("input.skip_prompt_check must be true or false")
    return {
        "prompt": prompt,
        "aspect_ratio": f"{width}:{height}",
        "process_mode": process_mode.lower(),
        "skip_prompt_check": skip_prompt_check,
        "bot_id": 0,
    }


INPUT_NORMALISERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "imagine": normalise_imagine,
}


def normalise_config(raw: object) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidRequest("config must be an object")
    service_mode = raw.get("service_mode") or ""
    if service_mode not in SERVICE_MODES:
        raise InvalidRequest('config.service_mode must be "public", "private" or empty')
    webhook = raw.get("webhook_config") or {}
    if not isinstance(webhook, dict):
        raise InvalidRequest("config.webhook_config must be an object")
    endpoint = webhook.get("endpoint") or ""
    secret = webhook.get("secret") or ""
    if not isinstance(endpoint, str) or not isinstance(secret, str):
        raise InvalidRequest("config.webhook_config endpoint and secret must be strings")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidRequest("config.webhook_config.endpoint must be an http(s) URL")
    return {
        "service_mode": service_mode,
        "webhook_config": {"endpoint": endpoint, "secret": secret},
    }


def normalise_create(body: object) -> CreateRequest:
    """The create body, checked and with defaults filled in; InvalidRequest if not."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    model = body.get("model")
    if model != MODEL:
        raise InvalidRequest(f'model {model!r} is not supported; use "{MODEL}"')
    task_type = body.get("task_type")
    if not isinstance(task_type, str) or task_type not in INPUT_NORMALISERS:
        if task_type in PROVIDER_TASK_TYPES:
            supported = ", ".join(INPUT_NORMALISERS)
            raise InvalidRequest(
                f"task_type {task_type!r} is not emulated by the sandbox yet "
                f"(supported: {supported})"
            )
        raise InvalidRequest(f"task_type {task_type!r} is not a Midjourney task type")
    raw_input = body.get("input")
    if not isinstance(raw_input, dict):
        raise InvalidRequest("input must be an object")
    return CreateRequest(
        model=model,
        task_type=task_type,
        input=INPUT_NORMALISERS[task_type](raw_input),
        config=normalise_config(body.get("config")),
    )
