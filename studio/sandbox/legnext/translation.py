"""LegNext's request bodies, checked the way LegNext checks them and translated into the
sandbox's internal task (the CreateRequest PiAPI's API makes too), so that one engine
draws, paces and misbehaves for both. One function per endpoint, in ENDPOINTS; the
fields are legnext-protocol.md §2's, and where LegNext's docs spell one two ways, both
are accepted.

The internal task is PiAPI's where PiAPI has the same task (diffusion is an imagine,
remix a variation with a prompt, enhance an upscale); what PiAPI lacks is said in its
input: the image of the grid a follow-up works on (``index``), how strong a variation
is, which upscaler an upscale uses, a pan's or a zoom's ``scale``, a mask by URL.
``input["legnext"]`` keeps what LegNext shows that the internal task does not say: its
task type and its price.

A follow-up's job is looked up by the caller (same key, completed, at most 3 days old),
who raises ActionRefused otherwise; this module reads no database itself. Whether the
account may use /edit (LegNext keeps it for whitelisted accounts) is the setting
SANDBOX_LEGNEXT_EDIT_WHITELISTED, read at each call.
"""

import base64
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from PIL import Image, ImageDraw, UnidentifiedImageError

from studio.sandbox import fetching, pictures, prompts, recipes, videos
from studio.sandbox.legnext.payloads import MODEL, available_actions, is_v7_draft
from studio.sandbox.models import ResultKind, Task
from studio.sandbox.validation import CreateRequest, InvalidRequest, Origin, parse_ratio

MAX_PROMPT_LENGTH = 8192
MIN_BLEND_IMAGES, MAX_BLEND_IMAGES = 2, 5
# Pan directions by their code (legnext-protocol.md §2: the docs, not the SDK's enum).
DIRECTIONS = ("down", "right", "up", "left")
PAN_SCALES = (1.1, 3.0)
OUTPAINT_SCALES = (1.1, 2.0)
MASK_SIDES = (500, 4096)
# upload-paint and edit: the canvas's sides, in the mask's range (the mask is drawn on
# the canvas: its areas must be the canvas's size); the image placed on it may be
# scaled up to PLACED_SIDES and put anywhere it still overlaps the canvas.
CANVAS_SIDES = MASK_SIDES
PLACED_SIDES = (1, 8192)
PLACED_OFFSETS = (-8192, 8192)
# The longest imgUrl LegNext takes (retexture, upload-paint, remove-background).
MAX_IMAGE_URL_LENGTH = 1024
# LegNext's answer to /edit from an account that is not whitelisted (legnext-protocol.md
# §3, body shape B, observed live).
EDIT_WHITELIST_MESSAGE = (
    "This feature is only available for whitelisted accounts. Please upgrade your plan "
    "or contact customer support to access this feature."
)
# Blend shapes, both spellings, and the internal dimension each stands for.
BLEND_ASPECT_RATIOS = {"2:3": "portrait", "1:1": "square", "3:2": "landscape"}
BLEND_DIMENSIONS = ("portrait", "square", "landscape")
DEFAULT_MODE = "fast"

# Credits per job (legnext-protocol.md §4), fast mode; turbo is twice, --draft half.
PRICES = {
    "diffusion": 80,
    "reroll": 80,  # not listed: as a diffusion
    "variation": 120,
    "upscale": 120,  # subtle
    "upscale_creative": 160,
    "inpaint": 120,
    "remix": 120,
    "pan": 80,
    "outpaint": 80,
    "enhance": 80,
    "blend": 80,
    "describe": 20,
    "shorten": 20,
    "retexture": 120,
    "upload_paint": 120,
    "edit": 120,
    "remove_background": 80,
}
# Video credits by resolution (extend-video is priced as a video-diffusion), and the
# upscale's; turbo is twice.
VIDEO_PRICES = {"480p": 480, "720p": 1536}
VIDEO_UPSCALE_PRICE = 480
# videoType 0 = 480p (the default), 1 = 720p.
VIDEO_TYPES = ("480p", "720p")
MOTION_FLAG = re.compile(r"--motion\s+(\S+)", re.IGNORECASE)
LOOP_FLAG = re.compile(r"(?:^|\s)--loop(?:\s|$)", re.IGNORECASE)
END_FLAG = re.compile(r"(?:^|\s)--end\b(?:\s+(\S+))?", re.IGNORECASE)
MOTIONS = ("low", "high")
ONE_PRICE = ("blend", "describe", "shorten")
DRAFT_PRICED = ("diffusion", "reroll")


class InvalidParameters(Exception):
    """The body breaks LegNext's rules: HTTP 400, shape A, naming the field."""


class ActionRefused(Exception):
    """A follow-up the named job does not allow: shape B, HTTP `status`."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


JobFinder = Callable[[object], Task]


@dataclass(frozen=True)
class Body:
    """A request's fields: a JSON object's, or a multipart form's (every value a string,
    and maybe a mask file: the official SDK posts inpaint that way)."""

    fields: dict[str, Any]
    form: bool = False
    mask_file: bytes | None = field(default=None, repr=False)

    def prompt(self, name: str, *, required: bool = True) -> str:
        value = self.fields.get(name)
        if value is None or value == "":
            if required:
                raise InvalidParameters(f"{name} is required: a prompt")
            return ""
        if not isinstance(value, str) or not value.strip():
            raise InvalidParameters(f"{name} must be a non-empty string")
        if len(value) > MAX_PROMPT_LENGTH:
            raise InvalidParameters(f"{name} is longer than {MAX_PROMPT_LENGTH} characters")
        return value

    def integer(self, name: str, choices: range, *, default: int | None = None) -> int:
        value = self.fields.get(name)
        if value is None and default is not None:
            return default
        # A form carries numbers as text; JSON must carry them as numbers.
        if self.form and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        allowed = f"an integer from {choices.start} to {choices.stop - 1}"
        if value is None:
            raise InvalidParameters(f"{name} is required: {allowed}")
        if not isinstance(value, int) or isinstance(value, bool) or value not in choices:
            raise InvalidParameters(f"{name} {value!r} must be {allowed}")
        return value

    def number(self, name: str, low: float, high: float) -> float:
        value = self.fields.get(name)
        if self.form and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if value is None:
            raise InvalidParameters(f"{name} is required: a number from {low} to {high}")
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not low <= value <= high
        ):
            raise InvalidParameters(f"{name} {value!r} must be a number from {low} to {high}")
        return float(value)

    def json_object(self, name: str, fields: str) -> dict[str, Any]:
        """An object field; a form carries it as JSON text (as LegNext's playground
        posts upload-paint)."""
        value = self.fields.get(name)
        if self.form and isinstance(value, str) and value.strip():
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise InvalidParameters(f"{name} must be a JSON object {fields}") from None
        if value is None or value == "":
            raise InvalidParameters(f"{name} is required: an object {fields}")
        if not isinstance(value, dict):
            raise InvalidParameters(f"{name} {value!r} must be an object {fields}")
        return value

    def job_id(self) -> str:
        value = self.fields.get("jobId")
        if not isinstance(value, str) or not value.strip():
            raise InvalidParameters("jobId is required: the job_id of a completed job")
        return value.strip()

    def callback(self) -> str:
        value = self.fields.get("callback")
        if value is None or value == "":
            return ""
        if not isinstance(value, str) or not _is_http_url(value.strip()):
            raise InvalidParameters("callback must be an http(s) URL")
        return value.strip()


Translator = Callable[[Body, JobFinder], CreateRequest]


# --- one function per endpoint ------------------------------------------------------------


def diffusion(body: Body, find_job: JobFinder) -> CreateRequest:
    text = body.prompt("text")
    mode = prompts.speed_flag(text) or DEFAULT_MODE
    draft = prompts.is_draft(text, prompts.model_version(text))
    task_input = {"prompt": text, "aspect_ratio": _aspect_ratio(text, "text"), "process_mode": mode}
    return _request(body, "imagine", task_input, "diffusion", _price("diffusion", mode, draft))


def reroll(body: Body, find_job: JobFinder) -> CreateRequest:
    job = find_job(body.job_id())
    _require_action(job, "reroll")
    mode = _mode(job, "")
    draft = is_v7_draft(job)
    task_input = {"origin_task_id": str(job.task_id), "process_mode": mode}
    return _request(body, "reroll", task_input, "reroll", _price("reroll", mode, draft), job)


def variation(body: Body, find_job: JobFinder) -> CreateRequest:
    image_no = body.integer("imageNo", range(4))
    strong = body.integer("type", range(2)) == 1  # 0 = Subtle, 1 = Strong
    remix_prompt = body.prompt("remixPrompt", required=False)
    return _variation(body, find_job, image_no, strong, remix_prompt, "variation")


def remix(body: Body, find_job: JobFinder) -> CreateRequest:
    image_no = body.integer("imageNo", range(4))
    remix_prompt = body.prompt("remixPrompt")
    strong = body.integer("mode", range(2), default=0) == 0  # 0 = Strong, 1 = Subtle
    return _variation(body, find_job, image_no, strong, remix_prompt, "remix")


def upscale(body: Body, find_job: JobFinder) -> CreateRequest:
    image_no = body.integer("imageNo", range(4))
    if body.fields.get("type") in (2, 3, "2", "3"):
        raise InvalidParameters(
            "type 2 (2x) and 3 (4x) upscale v5 images only; the sandbox offers "
            "0 (Subtle) and 1 (Creative)"
        )
    creative = body.integer("type", range(2)) == 1
    job = find_job(body.job_id())
    _require_action(job, "upscale", image_no)
    mode = _mode(job, "")
    task_input = {
        **_follow_up(job, image_no),
        "upscale": "creative" if creative else "subtle",
        "process_mode": mode,
    }
    price = _price("upscale_creative" if creative else "upscale", mode)
    return _request(body, "upscale", task_input, "upscale", price, job)


def enhance(body: Body, find_job: JobFinder) -> CreateRequest:
    image_no = body.integer("imageNo", range(4))
    job = find_job(body.job_id())
    if job.result_kind == ResultKind.GRID and not is_v7_draft(job):
        raise ActionRefused(
            400,
            f"job {job.task_id} was not made with --v 7 --draft: only a draft's images "
            "can be enhanced",
        )
    _require_action(job, "enhance", image_no)
    mode = _mode(job, "")
    task_input = {**_follow_up(job, image_no), "enhance": True, "process_mode": mode}
    return _request(body, "upscale", task_input, "enhance", _price("enhance", mode), job)


def pan(body: Body, find_job: JobFinder) -> CreateRequest:
    image_no = body.integer("imageNo", range(4))
    direction = DIRECTIONS[body.integer("direction", range(len(DIRECTIONS)))]
    scale = body.number("scale", *PAN_SCALES)
    remix_prompt = body.prompt("remixPrompt", required=False)
    job = find_job(body.job_id())
    _require_action(job, "pan", image_no)
    mode = _mode(job, remix_prompt)
    task_input = {
        **_follow_up(job, image_no),
        "direction": direction,
        "scale": scale,
        **_own_prompt(remix_prompt),
        "process_mode": mode,
    }
    return _request(body, "pan", task_input, "pan", _price("pan", mode), job)


def outpaint(body: Body, find_job: JobFinder) -> CreateRequest:
    image_no = body.integer("imageNo", range(4))
    scale = body.number("scale", *OUTPAINT_SCALES)
    remix_prompt = body.prompt("remixPrompt", required=False)
    job = find_job(body.job_id())
    _require_action(job, "outpaint", image_no)
    mode = _mode(job, remix_prompt)
    task_input = {
        **_follow_up(job, image_no),
        "scale": scale,
        **_own_prompt(remix_prompt),
        "process_mode": mode,
    }
    return _request(body, "outpaint", task_input, "outpaint", _price("outpaint", mode), job)


def inpaint(body: Body, find_job: JobFinder) -> CreateRequest:
    image_no = body.integer("imageNo", range(4))
    remix_prompt = body.prompt("remixPrompt", required=False)
    mask = _mask_field(body)
    job = find_job(body.job_id())
    _require_action(job, "inpaint", image_no)
    size = recipes.follow_up_source(job, str(image_no + 1)).size
    mode = _mode(job, remix_prompt)
    task_input = {
        **_follow_up(job, image_no),
        **_mask(mask, size),
        **_own_prompt(remix_prompt),
        "process_mode": mode,
    }
    return _request(body, "inpaint", task_input, "inpaint", _price("inpaint", mode), job)


def blend(body: Body, find_job: JobFinder) -> CreateRequest:
    if body.fields.get("imgUrls") is not None:
        urls = _image_list(body, "imgUrls", _http_url)
    else:
        urls = _image_list(body, "base64Array", _data_url)
    task_input = {
        "image_urls": urls,
        "dimension": _blend_dimension(body),
        "process_mode": DEFAULT_MODE,
    }
    return _request(body, "blend", task_input, "blend", _price("blend", DEFAULT_MODE))


def describe(body: Body, find_job: JobFinder) -> CreateRequest:
    given = [name for name in ("imgUrl", "imageLink", "imageBase64") if body.fields.get(name)]
    if len(given) != 1:
        raise InvalidParameters(
            "give the image in one of imgUrl, imageLink (an http(s) URL) or imageBase64 "
            f"(a base64 data URL); got {', '.join(given) or 'none'}"
        )
    name = given[0]
    value = body.fields[name]
    link = _data_url(value, name) if name == "imageBase64" else _http_url(value, name)
    task_input = {"image_url": link, "process_mode": DEFAULT_MODE}
    return _request(body, "describe", task_input, "describe", _price("describe", DEFAULT_MODE))


def shorten(body: Body, find_job: JobFinder) -> CreateRequest:
    prompt = body.prompt("prompt")
    task_input = {"prompt": prompt, "process_mode": DEFAULT_MODE}
    return _request(body, "shorten", task_input, "shorten", _price("shorten", DEFAULT_MODE))


def retexture(body: Body, find_job: JobFinder) -> CreateRequest:
    link = _image_link(body)
    remix_prompt = body.prompt("remixPrompt")
    mode = _prompt_mode(remix_prompt)
    task_input = {"image_url": link, "prompt": remix_prompt, "process_mode": mode}
    return _request(body, "retexture", task_input, "retexture", _price("retexture", mode))


def remove_background(body: Body, find_job: JobFinder) -> CreateRequest:
    link = _image_link(body)
    task_input = {"image_url": link, "process_mode": DEFAULT_MODE}
    price = _price("remove_background", DEFAULT_MODE)
    return _request(body, "remove_background", task_input, "remove_background", price)


def upload_paint(body: Body, find_job: JobFinder) -> CreateRequest:
    link = _image_link(body)
    canvas = _canvas(body)
    placed = _image_position(body, canvas)
    remix_prompt = body.prompt("remixPrompt")
    mask = _canvas_mask(_mask_field(body), canvas)
    mode = _prompt_mode(remix_prompt)
    task_input = {
        "image_url": link,
        "canvas": canvas,
        "img_pos": placed,
        **mask,
        "prompt": remix_prompt,
        "process_mode": mode,
    }
    price = _price("upload_paint", mode)
    return _request(body, "upload_paint", task_input, "upload_paint", price)


def edit(body: Body, find_job: JobFinder) -> CreateRequest:
    # An account-wide permission: refused before the body is read, as LegNext does.
    if not settings.SANDBOX_LEGNEXT_EDIT_WHITELISTED:
        raise ActionRefused(403, EDIT_WHITELIST_MESSAGE)
    image_no = body.integer("imageNo", range(4))
    canvas = _canvas(body)
    placed = _image_position(body, canvas)
    remix_prompt = body.prompt("remixPrompt")
    given_mask = body.mask_file is not None or any(
        body.fields.get(name) not in (None, "") for name in ("mask", "area")
    )
    mask = _canvas_mask(_mask_field(body), canvas) if given_mask else {}
    job = find_job(body.job_id())
    _require_action(job, "edit", image_no)
    mode = _mode(job, remix_prompt)
    task_input = {
        **_follow_up(job, image_no),
        "canvas": canvas,
        "img_pos": placed,
        **mask,
        "prompt": remix_prompt,
        "process_mode": mode,
    }
    return _request(body, "edit", task_input, "edit", _price("edit", mode), job)


def video_diffusion(body: Body, find_job: JobFinder) -> CreateRequest:
    resolution = VIDEO_TYPES[body.integer("videoType", range(len(VIDEO_TYPES)), default=0)]
    job: Task | None = None
    if body.fields.get("jobId") is not None:
        # Mode A: a grid's image, the prompt optional.
        image_no = body.integer("imageNo", range(4))
        prompt = body.prompt("prompt", required=False)
        job = find_job(body.job_id())
        if job.result_kind != ResultKind.GRID:
            raise ActionRefused(
                400,
                f"job {job.task_id} ({job.input['legnext']['task_type']}) has no grid: "
                "a video starts from a grid's image",
            )
        source: dict[str, str] = _follow_up(job, image_no)
    else:
        # Mode B: the prompt starts with the image's URL.
        prompt = body.prompt("prompt")
        link = prompt.split()[0]
        if not _is_http_url(link):
            raise InvalidParameters(
                "prompt must start with the http(s) URL of the image to animate "
                "(or give jobId and imageNo)"
            )
        source = {"image_url": link}
    mode = _mode(job, prompt) if job is not None else prompts.speed_flag(prompt) or DEFAULT_MODE
    task_input = {
        **source,
        **_own_prompt(prompt),
        "resolution": resolution,
        "motion": _motion(prompt) or MOTIONS[0],
        "loop": bool(LOOP_FLAG.search(prompt)),
        **_end_image(prompt),
        "process_mode": mode,
    }
    price = _turbo(VIDEO_PRICES[resolution], mode)
    return _request(body, "video", task_input, "video_diffusion", price, job)


def extend_video(body: Body, find_job: JobFinder) -> CreateRequest:
    video_no = body.integer("videoNo", range(videos.CLIP_COUNT))
    prompt = body.prompt("prompt", required=False)
    job = find_job(body.job_id())
    _require_video(job, "extended")
    extensions = int(job.input.get("extensions", 0))
    if extensions >= videos.MAX_EXTENSIONS:
        raise ActionRefused(
            400,
            f"job {job.task_id} is a video extended {extensions} times: a video can be "
            f"extended at most {videos.MAX_EXTENSIONS} times",
        )
    mode = _mode(job, prompt)
    resolution = str(job.input["resolution"])
    task_input = {
        "origin_task_id": str(job.task_id),
        "video_no": video_no,
        **_own_prompt(prompt),
        "resolution": resolution,
        # The motion goes on as it was, unless the prompt names another.
        "motion": _motion(prompt) or str(job.input["motion"]),
        "extensions": extensions + 1,
        "process_mode": mode,
    }
    price = _turbo(VIDEO_PRICES[resolution], mode)
    return _request(body, "extend_video", task_input, "extend_video", price, job)


def video_upscale(body: Body, find_job: JobFinder) -> CreateRequest:
    video_no = body.integer("videoNo", range(videos.CLIP_COUNT))
    job = find_job(body.job_id())
    _require_video(job, "upscaled")
    mode = _mode(job, "")
    task_input = {
        "origin_task_id": str(job.task_id),
        "video_no": video_no,
        "resolution": str(job.input["resolution"]),
        "process_mode": mode,
    }
    price = _turbo(VIDEO_UPSCALE_PRICE, mode)
    return _request(body, "video_upscale", task_input, "video_upscale", price, job)


ENDPOINTS: dict[str, Translator] = {
    "diffusion": diffusion,
    "variation": variation,
    "upscale": upscale,
    "reroll": reroll,
    "blend": blend,
    "describe": describe,
    "shorten": shorten,
    "pan": pan,
    "outpaint": outpaint,
    "inpaint": inpaint,
    "remix": remix,
    "enhance": enhance,
    "video-diffusion": video_diffusion,
    "extend-video": extend_video,
    "video-upscale": video_upscale,
    "retexture": retexture,
    "remove-background": remove_background,
    "upload-paint": upload_paint,
    "edit": edit,
}
# LegNext's endpoints the sandbox does not emulate: answered 404, "not available".
NOT_EMULATED = ("enhance-upscale",)


def translate(endpoint: str, body: Body, *, find_job: JobFinder) -> CreateRequest:
    """The internal task a LegNext call to /v1/<endpoint> asks for; InvalidParameters or
    ActionRefused if LegNext would refuse it."""
    return ENDPOINTS[endpoint](body, find_job)


def credits_in(request: CreateRequest) -> int:
    return int(request.input["legnext"]["credits"])


# --- the parts -----------------------------------------------------------------------


def _request(
    body: Body,
    task_type: str,
    task_input: dict[str, Any],
    legnext_task_type: str,
    credits: int,
    job: Task | None = None,
) -> CreateRequest:
    config = {
        "service_mode": "public",
        "webhook_config": {"endpoint": body.callback(), "secret": ""},
    }
    origin = None
    if job is not None:
        origin = Origin(
            task=job,
            kind=job.result_kind,
            model_version=job.model_version,
            process_mode=str(job.input.get("process_mode") or ""),
        )
    return CreateRequest(
        model=MODEL,
        task_type=task_type,
        input={**task_input, "legnext": {"task_type": legnext_task_type, "credits": credits}},
        config=config,
        origin=origin,
    )


def _price(name: str, mode: str, draft: bool = False) -> int:
    credits = PRICES[name]
    if name in ONE_PRICE:
        return credits
    if mode == "turbo":
        credits *= 2
    if draft and name in DRAFT_PRICED:
        credits //= 2
    return credits


def _mode(job: Task, own_prompt: str) -> str:
    """A follow-up's mode: its own prompt's, else its job's (relax is not offered)."""
    named = prompts.speed_flag(own_prompt) or str(job.input.get("process_mode") or DEFAULT_MODE)
    return named if named == "turbo" else DEFAULT_MODE


def _variation(
    body: Body,
    find_job: JobFinder,
    image_no: int,
    strong: bool,
    remix_prompt: str,
    legnext_task_type: str,
) -> CreateRequest:
    job = find_job(body.job_id())
    _require_action(job, legnext_task_type, image_no)
    mode = _mode(job, remix_prompt)
    task_input: dict[str, Any] = {
        **_follow_up(job, image_no),
        "strength": "high_variation" if strong else "low_variation",
        **_own_prompt(remix_prompt),
        "process_mode": mode,
    }
    if remix_prompt and prompts.aspect_flag(remix_prompt):
        task_input["aspect_ratio"] = _aspect_ratio(remix_prompt, "remixPrompt")
    price = _price(legnext_task_type, mode)
    return _request(body, "variation", task_input, legnext_task_type, price, job)


def _prompt_mode(prompt: str) -> str:
    """The mode a job that follows no other runs in: its prompt's (relax is not
    offered: it runs fast)."""
    return "turbo" if prompts.speed_flag(prompt) == "turbo" else DEFAULT_MODE


def _turbo(credits: int, mode: str) -> int:
    return 2 * credits if mode == "turbo" else credits


def _motion(prompt: str) -> str:
    """The prompt's --motion (low or high), or "" if it names none."""
    found = MOTION_FLAG.search(prompt)
    if found is None:
        return ""
    motion = found.group(1).lower()
    if motion not in MOTIONS:
        raise InvalidParameters(f"prompt: --motion {found.group(1)} must be low or high")
    return motion


def _end_image(prompt: str) -> dict[str, str]:
    """The image a video ends on (its prompt's --end <url>), as the input to fetch."""
    found = END_FLAG.search(prompt)
    if found is None:
        return {}
    link = found.group(1) or ""
    if not _is_http_url(link):
        raise InvalidParameters(
            f"prompt: --end {link} must be followed by the http(s) URL of the image to end on"
        )
    return {"end_url": link}


def _require_video(job: Task, what: str) -> None:
    """Only the clips of a video-diffusion or an extension can be extended or upscaled."""
    legnext_task_type = job.input["legnext"]["task_type"]
    if job.result_kind != ResultKind.VIDEO or job.task_type == "video_upscale":
        raise ActionRefused(
            400,
            f"job {job.task_id} ({legnext_task_type}) has no clips that can be {what}: "
            "name a video_diffusion or extend_video job",
        )


def _follow_up(job: Task, image_no: int) -> dict[str, str]:
    # Internally a grid's images are numbered like PiAPI's: "1"-"4".
    return {"origin_task_id": str(job.task_id), "index": str(image_no + 1)}


def _own_prompt(remix_prompt: str) -> dict[str, str]:
    return {"prompt": remix_prompt} if remix_prompt else {}


def _require_action(job: Task, action: str, image_no: int | None = None) -> None:
    offered = available_actions(job).get(action)
    if not offered:
        raise ActionRefused(
            400,
            f"job {job.task_id} ({job.input['legnext']['task_type']}) does not offer {action}",
        )
    if image_no is not None and image_no not in offered:
        raise ActionRefused(
            400, f"imageNo {image_no} is not available for {action} on job {job.task_id}"
        )


def _aspect_ratio(prompt: str, name: str) -> str:
    aspect = prompts.aspect_flag(prompt) or "1:1"
    try:
        width, height = parse_ratio(aspect)
    except InvalidRequest:
        raise InvalidParameters(
            f"{name}: --ar {aspect} must be W:H, from 1:4 to 4:1 (positive integers)"
        ) from None
    return f"{width}:{height}"


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _http_url(value: object, name: str) -> str:
    if not isinstance(value, str) or not _is_http_url(value.strip()):
        raise InvalidParameters(f"{name} must be an http(s) URL of an image")
    return value.strip()


def _image_link(body: Body) -> str:
    """imgUrl: the http(s) URL of the image to work on, at most 1024 characters."""
    value = body.fields.get("imgUrl")
    if value is None or value == "":
        raise InvalidParameters("imgUrl is required: the http(s) URL of an image")
    link = _http_url(value, "imgUrl")
    if len(link) > MAX_IMAGE_URL_LENGTH:
        raise InvalidParameters(
            f"imgUrl is {len(link)} characters long; at most {MAX_IMAGE_URL_LENGTH}"
        )
    return link


def _whole_number(value: object, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidParameters(f"{name} {value!r} must be an integer from {low} to {high}")
    return value


def _canvas(body: Body) -> dict[str, int]:
    canvas = body.json_object("canvas", "{width, height}")
    return {
        side: _whole_number(canvas.get(side), f"canvas.{side}", *CANVAS_SIDES)
        for side in ("width", "height")
    }


def _image_position(body: Body, canvas: dict[str, int]) -> dict[str, int]:
    """imgPos: where the image goes on the canvas, which it must overlap."""
    given = body.json_object("imgPos", "{width, height, x, y}")
    placed = {
        **{
            side: _whole_number(given.get(side), f"imgPos.{side}", *PLACED_SIDES)
            for side in ("width", "height")
        },
        **{
            axis: _whole_number(given.get(axis), f"imgPos.{axis}", *PLACED_OFFSETS)
            for axis in ("x", "y")
        },
    }
    if (
        placed["x"] >= canvas["width"]
        or placed["y"] >= canvas["height"]
        or placed["x"] + placed["width"] <= 0
        or placed["y"] + placed["height"] <= 0
    ):
        raise InvalidParameters(
            f"imgPos {placed} puts the image outside the canvas "
            f"({canvas['width']}x{canvas['height']}): it must overlap it"
        )
    return placed


def _data_url(value: object, name: str) -> str:
    """A base64 image as a data: URL; bare base64 is taken for a PNG."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameters(f"{name} must be a base64 image (a data: URL)")
    text = "".join(value.split())
    url = text if text.startswith("data:") else f"data:image/png;base64,{text}"
    if fetching.data_url_bytes(url) is None:
        raise InvalidParameters(f"{name} is not valid base64 (data:image/...;base64,...)")
    return url


def _image_list(body: Body, name: str, read: Callable[[object, str], str]) -> list[str]:
    values = body.fields.get(name)
    if not isinstance(values, list):
        other = "base64Array" if name == "imgUrls" else "imgUrls"
        raise InvalidParameters(
            f"{name} (or {other}) is required: {MIN_BLEND_IMAGES} to {MAX_BLEND_IMAGES} images"
        )
    if not MIN_BLEND_IMAGES <= len(values) <= MAX_BLEND_IMAGES:
        raise InvalidParameters(
            f"{name} has {len(values)} images; a blend takes "
            f"{MIN_BLEND_IMAGES} to {MAX_BLEND_IMAGES}"
        )
    return [read(value, f"{name}[{position}]") for position, value in enumerate(values)]


def _blend_dimension(body: Body) -> str:
    aspect_ratio = body.fields.get("aspect_ratio")
    if aspect_ratio is not None:
        if aspect_ratio not in BLEND_ASPECT_RATIOS:
            raise InvalidParameters(
                f"aspect_ratio {aspect_ratio!r} must be one of {', '.join(BLEND_ASPECT_RATIOS)}"
            )
        return BLEND_ASPECT_RATIOS[aspect_ratio]
    dimension = body.fields.get("dimension")
    if not isinstance(dimension, str) or dimension.strip().lower() not in BLEND_DIMENSIONS:
        raise InvalidParameters(
            "aspect_ratio (2:3, 1:1, 3:2) or dimension (PORTRAIT, SQUARE, LANDSCAPE) "
            f"is required; got dimension {dimension!r}"
        )
    return dimension.strip().lower()


# --- masks ----------------------------------------------------------------------------

# A mask as given: a PNG file, a URL, or polygons.
MaskField = bytes | str | list[dict[str, Any]]


def _mask_field(body: Body) -> MaskField:
    """The mask as given: the multipart file, mask.url, or mask.areas (or the deprecated
    single polygon `area`)."""
    if body.mask_file is not None:
        return body.mask_file
    mask = body.fields.get("mask")
    if isinstance(mask, str) and body.form:  # a form may carry the JSON mask as text
        try:
            mask = json.loads(mask)
        except json.JSONDecodeError:
            raise InvalidParameters("mask must be a file, or JSON {areas} or {url}") from None
    if mask is None and body.fields.get("area") is not None:
        mask = {"areas": [body.fields["area"]]}
    if not isinstance(mask, dict):
        raise InvalidParameters(
            'mask is required: {"areas": [{"width", "height", "points"}]} or {"url"}'
        )
    if mask.get("url"):
        return _http_url(mask["url"], "mask.url")
    areas = mask.get("areas")
    if not isinstance(areas, list) or not areas:
        raise InvalidParameters("mask.areas must be a non-empty list of polygons, or give mask.url")
    for position, area in enumerate(areas):
        _check_polygon(area, f"mask.areas[{position}]")
    return areas


def _check_polygon(area: object, name: str) -> None:
    if not isinstance(area, dict):
        raise InvalidParameters(f"{name} must be an object with width, height and points")
    low, high = MASK_SIDES
    for side in ("width", "height"):
        value = area.get(side)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidParameters(
                f"{name}.{side} {value!r} must be an integer from {low} to {high}"
            )
    points = area.get("points")
    if (
        not isinstance(points, list)
        or len(points) < 6
        or len(points) % 2
        or not all(isinstance(point, int) and not isinstance(point, bool) for point in points)
    ):
        raise InvalidParameters(
            f"{name}.points must be a flat list of integers x1, y1, x2, y2, … (3 points or more)"
        )


def _canvas_mask(mask: MaskField, canvas: dict[str, int]) -> dict[str, str]:
    """An upload-paint's or an edit's mask, drawn on the canvas. Its areas' points are
    the canvas's pixels, so each area must say the canvas's size; a mask file (or one
    named by URL) is scaled to the canvas."""
    if isinstance(mask, list):
        for position, area in enumerate(mask):
            if (area["width"], area["height"]) != (canvas["width"], canvas["height"]):
                raise InvalidParameters(
                    f"mask.areas[{position}] is {area['width']}x{area['height']}: its width "
                    f"and height must be the canvas's ({canvas['width']}x{canvas['height']}), "
                    "the points being canvas pixels"
                )
    return _mask(mask, (canvas["width"], canvas["height"]))


def _mask(mask: MaskField, size: tuple[int, int]) -> dict[str, str]:
    """The internal mask: a base64 PNG of the picture's size (white = repaint), or the
    URL to fetch it from."""
    if isinstance(mask, str):
        return {"mask_url": mask}
    if isinstance(mask, bytes):
        image = _mask_file(mask).resize(size, Image.Resampling.NEAREST)
    else:
        image = Image.new("L", size, 0)
        draw = ImageDraw.Draw(image)
        for area in mask:
            # The points refer to an image of width x height: scale them to the picture.
            x_scale, y_scale = size[0] / area["width"], size[1] / area["height"]
            points = area["points"]
            draw.polygon(
                [
                    (points[index] * x_scale, points[index + 1] * y_scale)
                    for index in range(0, len(points), 2)
                ],
                fill=255,
            )
    if image.getbbox() is None:
        raise InvalidParameters("mask has no white area: white is where to repaint")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return {"mask": base64.b64encode(buffer.getvalue()).decode()}


def _mask_file(data: bytes) -> Image.Image:
    """An uploaded mask as 0 (keep) / 255 (repaint)."""
    try:
        Image.open(io.BytesIO(data)).load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InvalidParameters("mask is not an image") from None
    return pictures.mask_image(data)
