"""Validating a create-task body the way the provider does, and normalising what the
task echoes back. One function per task type; a new type is one more entry in
INPUT_NORMALISERS (https://piapi.ai/docs/midjourney-api lists the input fields).

A follow-up (upscale, variation, reroll, pan, outpaint, inpaint, seed) is checked against
its origin too: the caller looks the origin up (same x-api-key, completed) and passes
what the rules need to know of it as an Origin; this module reads no database.
"""

import base64
import binascii
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from studio.sandbox import prompts
from studio.sandbox.models import ResultKind

if TYPE_CHECKING:
    from studio.sandbox.models import Task

MODEL = "midjourney"
PROCESS_MODES = ("relax", "fast", "turbo")
SERVICE_MODES = ("", "public", "private")
DEFAULT_ASPECT_RATIO = "1:1"
DEFAULT_PROCESS_MODE = "fast"
MAX_ASPECT = 4  # Midjourney renders from 1:4 to 4:1

QUADRANT_INDICES = ("1", "2", "3", "4")
VARY_INDICES = ("high_variation", "low_variation")
DIRECTIONS = ("up", "down", "left", "right")
# zoom_ratio as echoed, and the factor it stands for.
ZOOM_RATIOS = {"1.5": 1.5, "2": 2.0}
# A blend's dimension and the aspect ratio of its pictures.
BLEND_DIMENSIONS = {"square": "1:1", "portrait": "2:3", "landscape": "3:2"}
DEFAULT_DIMENSION = "square"
MIN_BLEND_IMAGES, MAX_BLEND_IMAGES = 2, 5
MASK_DATA_PREFIX = "data:image/png;base64,"


class InvalidRequest(Exception):
    """The body breaks the provider's rules; answered with HTTP 400."""


@dataclass(frozen=True)
class Origin:
    """What the rules need to know of the task a follow-up is made from."""

    task: "Task"
    kind: ResultKind
    model_version: str
    process_mode: str
    # An upscale made from an upscale (it cannot be upscaled again).
    upscale_of_upscale: bool = False
    # The upscaled image's size in pixels (an inpaint mask must match it).
    image_size: tuple[int, int] | None = None

    @property
    def task_id(self) -> str:
        return str(self.task.task_id)


OriginFinder = Callable[[object], Origin]
Normaliser = Callable[[dict[str, Any], Origin | None], dict[str, Any]]


@dataclass(frozen=True)
class CreateRequest:
    model: str
    task_type: str
    input: dict[str, Any]
    config: dict[str, Any]
    origin: Origin | None = None


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


def normalise_imagine(raw: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    prompt = raw.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("input.prompt is required and must be a non-empty string")
    # The field wins over an --ar flag: PiAPI appends the field to the prompt, and
    # Midjourney takes the last --ar.
    aspect = raw.get("aspect_ratio") or prompts.aspect_flag(prompt) or DEFAULT_ASPECT_RATIO
    return {
        "prompt": prompt,
        "aspect_ratio": _ratio_text(aspect),
        "process_mode": _process_mode(raw, DEFAULT_PROCESS_MODE),
        "skip_prompt_check": _skip_prompt_check(raw),
        "bot_id": 0,
    }


def normalise_upscale(raw: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    origin = _given(origin)
    index = _index(raw)
    if origin.kind == ResultKind.GRID:
        if index not in QUADRANT_INDICES:
            raise InvalidRequest(
                f'input.index "{index}" must be "1"-"4" to upscale one image of the grid '
                f"of task {origin.task_id}"
            )
    elif origin.kind == ResultKind.UPSCALE:
        if origin.upscale_of_upscale:
            raise InvalidRequest(
                f"task {origin.task_id} is already an upscale of an upscale; "
                "it cannot be upscaled again"
            )
        allowed = prompts.second_upscales(origin.model_version)
        if index not in allowed:
            what = (
                "picks an image of a grid"
                if index in QUADRANT_INDICES
                else f"is not an upscale that {_version_name(origin)} images offer"
            )
            raise InvalidRequest(
                f'input.index "{index}" {what}, but task {origin.task_id} is an upscaled '
                f'image: use "{allowed[0]}" or "{allowed[1]}"'
            )
    else:
        raise _has_no_image(origin, "upscale")
    return {"origin_task_id": origin.task_id, "index": index, **_follow_up_mode(raw, origin)}


def normalise_variation(raw: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    origin = _given(origin)
    index = _index(raw)
    if origin.kind == ResultKind.GRID:
        if index not in QUADRANT_INDICES:
            raise InvalidRequest(
                f'input.index "{index}" must be "1"-"4" to vary one image of the grid '
                f"of task {origin.task_id}"
            )
    elif origin.kind == ResultKind.UPSCALE:
        if index not in VARY_INDICES:
            raise InvalidRequest(
                f'input.index "{index}" must be "high_variation" or "low_variation" to vary '
                f"the upscaled image of task {origin.task_id}"
            )
        _require_editing(origin, "Vary (Strong) and Vary (Subtle)")
    else:
        raise _has_no_image(origin, "vary")
    return {
        "origin_task_id": origin.task_id,
        "index": index,
        **_remix(raw),
        **_follow_up_mode(raw, origin),
    }


def normalise_reroll(raw: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    origin = _given(origin)
    _require_grid(origin, "rerolled")
    return {"origin_task_id": origin.task_id, **_remix(raw), **_follow_up_mode(raw, origin)}


def normalise_pan(raw: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    origin = _given(origin)
    direction = raw.get("direction")
    if not isinstance(direction, str) or not direction.strip():
        raise InvalidRequest("input.direction is required: up, down, left or right")
    direction = direction.strip().lower()
    if direction not in DIRECTIONS:
        raise InvalidRequest(
            f"input.direction {raw['direction']!r} must be up, down, left or right"
        )
    _require_upscale(origin, "pan")
    _require_editing(origin, "Pan")
    return {
        "origin_task_id": origin.task_id,
        "direction": direction,
        **_optional_prompt(raw),
        **_follow_up_mode(raw, origin),
    }


def normalise_outpaint(raw: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    origin = _given(origin)
    zoom_ratio = _zoom_ratio(raw.get("zoom_ratio"))
    _require_upscale(origin, "zoom out")
    _require_editing(origin, "Zoom Out")
    return {
        "origin_task_id": origin.task_id,
        "zoom_ratio": zoom_ratio,
        **_optional_prompt(raw),
        **_follow_up_mode(raw, origin),
    }


def normalise_inpaint(raw: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    origin = _given(origin)
    encoded, mask = _mask(raw.get("mask"))
    _require_upscale(origin, "vary a region of")
    _require_editing(origin, "Vary (Region)")
    if origin.image_size is not None and mask.size != origin.image_size:
        width, height = origin.image_size
        raise InvalidRequest(
            f"input.mask is {mask.width}x{mask.height} but the image of task "
            f"{origin.task_id} is {width}x{height}: the mask must be {width}x{height}"
        )
    if mask.convert("L").point(lambda value: 255 if value >= 128 else 0).getbbox() is None:
        raise InvalidRequest(
            "input.mask has no white pixels: paint the area to repaint white on black"
        )
    return {
        "origin_task_id": origin.task_id,
        "mask": encoded,
        **_optional_prompt(raw),
        **_follow_up_mode(raw, origin),
    }


def normalise_describe(raw: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    return {
        "image_url": _http_url(raw.get("image_url"), "input.image_url"),
        "process_mode": _process_mode(raw, DEFAULT_PROCESS_MODE),
    }


def normalise_blend(raw: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    urls = raw.get("image_urls")
    if not isinstance(urls, list):
        raise InvalidRequest("input.image_urls is required: a list of 2 to 5 image URLs")
    if not MIN_BLEND_IMAGES <= len(urls) <= MAX_BLEND_IMAGES:
        raise InvalidRequest(
            f"input.image_urls has {len(urls)} URLs; a blend takes "
            f"{MIN_BLEND_IMAGES} to {MAX_BLEND_IMAGES}"
        )
    dimension = raw.get("dimension") or DEFAULT_DIMENSION
    if not isinstance(dimension, str) or dimension.strip().lower() not in BLEND_DIMENSIONS:
        raise InvalidRequest(
            f"input.dimension {dimension!r} must be one of {', '.join(BLEND_DIMENSIONS)}"
        )
    return {
        "image_urls": [
            _http_url(url, f"input.image_urls[{position}]") for position, url in enumerate(urls)
        ],
        "dimension": dimension.strip().lower(),
        "process_mode": _process_mode(raw, DEFAULT_PROCESS_MODE),
    }


def normalise_seed(raw: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    origin = _given(origin)
    _require_grid(origin, "asked for its seed")
    return {"origin_task_id": origin.task_id, **_follow_up_mode(raw, origin)}


# --- the parts ----------------------------------------------------------------------


def _given(origin: Origin | None) -> Origin:
    assert origin is not None, "follow-ups are normalised with their origin"
    return origin


def _ratio_text(value: object) -> str:
    width, height = parse_ratio(value)
    return f"{width}:{height}"


def _process_mode(raw: dict[str, Any], default: str) -> str:
    process_mode = raw.get("process_mode") or default
    if not isinstance(process_mode, str) or process_mode.lower() not in PROCESS_MODES:
        raise InvalidRequest(
            f"input.process_mode {process_mode!r} must be one of {', '.join(PROCESS_MODES)}"
        )
    return process_mode.lower()


def _follow_up_mode(raw: dict[str, Any], origin: Origin) -> dict[str, str]:
    """A follow-up runs in its origin's mode unless it names one."""
    return {"process_mode": _process_mode(raw, origin.process_mode or DEFAULT_PROCESS_MODE)}


def _skip_prompt_check(raw: dict[str, Any]) -> bool:
    skip_prompt_check = raw.get("skip_prompt_check", False)
    if not isinstance(skip_prompt_check, bool):
        raise InvalidRequest("input.skip_prompt_check must be true or false")
    return skip_prompt_check


def _optional_prompt(raw: dict[str, Any]) -> dict[str, str]:
    prompt = raw.get("prompt")
    if prompt is None or prompt == "":
        return {}
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("input.prompt must be a non-empty string when given")
    return {"prompt": prompt}


def _remix(raw: dict[str, Any]) -> dict[str, Any]:
    """The optional remix prompt and aspect ratio of a variation or reroll."""
    fields: dict[str, Any] = _optional_prompt(raw)
    aspect = raw.get("aspect_ratio") or prompts.aspect_flag(fields.get("prompt", ""))
    if aspect:
        fields["aspect_ratio"] = _ratio_text(aspect)
    fields["skip_prompt_check"] = _skip_prompt_check(raw)
    return fields


def _index(raw: dict[str, Any]) -> str:
    """The index as the string the provider wants; an integer 1-4 is accepted too."""
    index = raw.get("index")
    if isinstance(index, int) and not isinstance(index, bool):
        return str(index)
    if not isinstance(index, str) or not index.strip():
        raise InvalidRequest('input.index is required: "1"-"4" on a grid')
    return index.strip().lower()


def _zoom_ratio(value: object) -> str:
    if value is None or value == "":
        raise InvalidRequest('input.zoom_ratio is required: "1.5" or "2"')
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    for text, ratio in ZOOM_RATIOS.items():
        if number == ratio:
            return text
    raise InvalidRequest(f'input.zoom_ratio {value!r} must be "1.5" or "2"')


def _mask(value: object) -> tuple[str, Image.Image]:
    """The mask's base64 without a data: prefix, and the image it holds."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("input.mask is required: a base64 PNG, white where to repaint")
    encoded = "".join(value.split())
    if encoded.startswith(MASK_DATA_PREFIX):
        encoded = encoded.removeprefix(MASK_DATA_PREFIX)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("input.mask is not valid base64") from None
    try:
        mask = Image.open(io.BytesIO(data))
        mask.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InvalidRequest("input.mask is not a PNG image") from None
    if mask.format != "PNG":
        raise InvalidRequest(f"input.mask must be a PNG image, not {mask.format}")
    return encoded, mask


def _http_url(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{field} is required: an http(s) URL of an image")
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest(f"{field} {url!r} must be an http(s) URL")
    return url


def _version_name(origin: Origin) -> str:
    version = origin.model_version
    if version == "unknown":
        return "Midjourney's default version"
    return version if version.startswith("niji") else f"v{version}"


def _has_no_image(origin: Origin, verb: str) -> InvalidRequest:
    return InvalidRequest(
        f"task {origin.task_id} is a {origin.task.task_type} task: it has no image to {verb}"
    )


def _require_grid(origin: Origin, done: str) -> None:
    if origin.kind == ResultKind.GRID:
        return
    if origin.kind == ResultKind.UPSCALE:
        raise InvalidRequest(
            f"task {origin.task_id} is an upscaled image; only a grid can be {done}"
        )
    raise InvalidRequest(
        f"task {origin.task_id} is a {origin.task.task_type} task; only a grid can be {done}"
    )


def _require_upscale(origin: Origin, verb: str) -> None:
    if origin.kind == ResultKind.UPSCALE:
        return
    if origin.kind == ResultKind.GRID:
        raise InvalidRequest(
            f"task {origin.task_id} is a grid; {verb} an upscaled image: "
            'upscale one of its images first (index "1"-"4")'
        )
    raise _has_no_image(origin, verb)


def _require_editing(origin: Origin, feature: str) -> None:
    if not prompts.offers_editing(origin.model_version):
        raise InvalidRequest(
            f"{feature} needs Midjourney v5.2 or later; task {origin.task_id} was made "
            f"with {_version_name(origin)}"
        )


INPUT_NORMALISERS: dict[str, Normaliser] = {
    "imagine": normalise_imagine,
    "upscale": normalise_upscale,
    "variation": normalise_variation,
    "reroll": normalise_reroll,
    "describe": normalise_describe,
    "blend": normalise_blend,
    "inpaint": normalise_inpaint,
    "outpaint": normalise_outpaint,
    "pan": normalise_pan,
    "seed": normalise_seed,
}
# The task types made from another task's result.
FOLLOW_UPS = ("upscale", "variation", "reroll", "inpaint", "outpaint", "pan", "seed")


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


def normalise_create(body: object, *, find_origin: OriginFinder) -> CreateRequest:
    """The create body, checked and with defaults filled in; InvalidRequest if not.

    `find_origin` turns a follow-up's origin_task_id into its Origin, or raises
    InvalidRequest when there is no such completed task for the caller."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    model = body.get("model")
    if model != MODEL:
        raise InvalidRequest(f'model {model!r} is not supported; use "{MODEL}"')
    task_type = body.get("task_type")
    if not isinstance(task_type, str) or task_type not in INPUT_NORMALISERS:
        raise InvalidRequest(f"task_type {task_type!r} is not a Midjourney task type")
    raw_input = body.get("input")
    if not isinstance(raw_input, dict):
        raise InvalidRequest("input must be an object")
    config = normalise_config(body.get("config"))
    origin = find_origin(raw_input.get("origin_task_id")) if task_type in FOLLOW_UPS else None
    return CreateRequest(
        model=model,
        task_type=task_type,
        input=INPUT_NORMALISERS[task_type](raw_input, origin),
        config=config,
        origin=origin,
    )
