"""Which picture recipe (pictures.py) each task's result is, read from the task and its
origins. Nothing is stored but the tasks: a follow-up's pictures are made from its
origin's, which are redrawn (deterministically) from the origin's own task, and so on
back to the imagine, describe or blend at the root of the tree.
"""

import base64
import uuid
from functools import lru_cache

from django.conf import settings

from studio.sandbox import art, images, pictures, prompts, videos
from studio.sandbox.models import ResultKind, Task
from studio.sandbox.pictures import Grid, Picture
from studio.sandbox.validation import BLEND_DIMENSIONS, ZOOM_RATIOS
from studio.sandbox.videos import Clip

# How far each kind of variation strays from its source (see art.Jittered).
VARIATION_STRENGTHS = {"grid": 0.1, "low_variation": 0.05, "high_variation": 0.25}


def result_for(task: Task) -> Grid | Picture | None:
    """The task's pictures: a grid, one upscaled picture (or cutout), or None (describe,
    seed, and a task whose input images are not fetched)."""
    if task.result_kind == ResultKind.GRID:
        return _grid(task, seed=task.seed, prompt=None, aspect_ratio=None)
    if task.result_kind == ResultKind.UPSCALE:
        return _upscale(task)
    if task.result_kind == ResultKind.CUTOUT:
        png = task.fetched_png("image_url")
        return pictures.Cutout(pictures.Fetched(png)) if png is not None else None
    return None


# Tasks' results by task id, once known (the newest SANDBOX_IMAGE_CACHE of them): a
# task's result never changes, so the five fetches of a grid's images (the grid, then
# its quadrants), like a CDN's, read the task once, or not at all once it was drawn
# ahead. Reading it took about half of the 3.5 ms the sandbox spent on each image.
def result_by_id(task_id: uuid.UUID) -> Grid | Picture | None:
    """result_for the task `task_id` (None also when there is no such task)."""
    try:
        return _known_result(task_id)
    except LookupError:
        return None


@lru_cache(maxsize=settings.SANDBOX_IMAGE_CACHE)
def _known_result(task_id: uuid.UUID) -> Grid | Picture:
    # None is raised, not returned: lru_cache keeps no exception, and the task may be
    # made (or its input images fetched) later.
    task = Task.objects.filter(task_id=task_id).first()
    result = result_for(task) if task is not None else None
    if result is None:
        raise LookupError(f"task {task_id} has no pictures yet")
    return result


def forget_results() -> None:
    """Forget every task's result (tests start afresh with images.clear_cache)."""
    _known_result.cache_clear()


def picture_of(task: Task, index: str = "") -> Picture:
    """The picture a follow-up starts from: a grid's quadrant ("1"-"4"), or the task's
    upscaled picture."""
    result = result_for(task)
    if result is None:
        raise LookupError(f"task {task.task_id} has no pictures")
    if isinstance(result, Grid):
        return result.quadrants[int(index) - 1]
    return result


def follow_up_source(origin: Task, index: str = "") -> Picture:
    """The picture an edit (pan, zoom out, vary region) or a second upscale works on:
    the origin's upscaled picture, or, when the follow-up names one of a grid's images
    (LegNext's follow-ups take the grid and an imageNo), that image upscaled, as
    Midjourney upscales it before it edits it."""
    if origin.result_kind == ResultKind.GRID:
        return pictures.upscale(picture_of(origin, index))
    return picture_of(origin)


def seed_of_quadrant(seed: int, index: int) -> int:
    return art.derived_seed(seed, index)


def remix_hue(prompt: str | None) -> float:
    """How far a new prompt turns a follow-up's colours: a small, stable amount (5 to
    12 % of the colour wheel, either way) from the prompt's words; none without one."""
    if not prompt:
        return 0.0
    fraction = art.derived_seed("remix", prompts.subject(prompt)) / 2**32
    turn = 0.05 + 0.07 * (fraction * 2 % 1)
    return turn if fraction < 0.5 else -turn


def _upscale(task: Task) -> Picture:
    """U1-U4 of a grid, or an upscaled image upscaled again. Every second upscale is
    twice the size, 4x included (the sandbox keeps its pictures light); creative (and
    v4's beta) add texture, subtle, 2x, 4x and light do not.

    A LegNext upscale names a grid's image and the upscaler at once (input "upscale":
    subtle or creative): that image upscaled, then upscaled again. A LegNext enhance
    (input "enhance") redraws a draft's image at full size: what U1-U4 give."""
    origin = _origin(task)
    index = str(task.input["index"])
    if origin.result_kind == ResultKind.GRID:
        upscaled = pictures.upscale(picture_of(origin, index))
        upscaler = task.input.get("upscale")
        if not upscaler:
            return upscaled
        detail_seed = task.seed if upscaler == "creative" else None
        return pictures.upscale_again(upscaled, detail_seed=detail_seed)
    detail_seed = task.seed if index in ("creative", "beta") else None
    return pictures.upscale_again(picture_of(origin), detail_seed=detail_seed)


# --- grids --------------------------------------------------------------------------
# Each grid recipe takes the seed to draw with and, for a reroll, the prompt and aspect
# ratio that replace the task's own (None keeps them). A new prompt turns the colours
# of what is new (remix_hue), except for an imagine, which it redraws; a new aspect
# ratio reshapes an imagine or a variation, while a pan, a zoom out, a vary region
# and a blend keep the shape their origin or dimension gives them.


def _grid(task: Task, *, seed: int, prompt: str | None, aspect_ratio: str | None) -> Grid | None:
    match task.task_type:
        case "imagine":
            return _imagine(task, seed=seed, prompt=prompt, aspect_ratio=aspect_ratio)
        case "reroll":
            # A reroll makes its origin's grid again, with its own seed (and prompt).
            return _grid(
                _origin(task),
                seed=seed,
                prompt=prompt or task.input.get("prompt"),
                aspect_ratio=aspect_ratio or task.input.get("aspect_ratio"),
            )
        case "variation":
            return _variation(task, seed=seed, prompt=prompt, aspect_ratio=aspect_ratio)
        case "pan" | "outpaint" | "inpaint":
            return _edit(task, seed=seed, prompt=prompt)
        case "blend":
            return _blend(task, seed=seed)
        case "retexture":
            return _retexture(task, seed=seed, prompt=prompt)
        case "upload_paint" | "edit":
            return _placed(task, seed=seed, prompt=prompt)
    raise ValueError(f"a {task.task_type} task has no grid")


def _imagine(task: Task, *, seed: int, prompt: str | None, aspect_ratio: str | None) -> Grid:
    # A reroll's new prompt brings its --ar in `aspect_ratio` (validation put it there).
    prompt = prompt or str(task.input["prompt"])
    aspect_ratio = aspect_ratio or str(task.input["aspect_ratio"])
    return images.imagine_grid(art.Art(prompts.subject(prompt), seed, aspect_ratio))


def _variation(task: Task, *, seed: int, prompt: str | None, aspect_ratio: str | None) -> Grid:
    index = str(task.input["index"])
    source = picture_of(_origin(task), index)
    # A LegNext variation of a grid's image says how strong it is (Subtle or Strong).
    strength_name = str(task.input.get("strength") or index)
    strength = VARIATION_STRENGTHS.get(strength_name, VARIATION_STRENGTHS["grid"])
    hue_shift = remix_hue(prompt or task.input.get("prompt"))
    aspect_ratio = aspect_ratio or task.input.get("aspect_ratio") or ""
    first, second, third, fourth = (
        pictures.vary(
            source,
            strength=strength,
            seed=seed_of_quadrant(seed, quadrant),
            hue_shift=hue_shift,
            aspect_ratio=aspect_ratio,
        )
        for quadrant in range(4)
    )
    return Grid((first, second, third, fourth))


def _edit(task: Task, *, seed: int, prompt: str | None) -> Grid | None:
    source = follow_up_source(_origin(task), str(task.input.get("index") or ""))
    hue_shift = remix_hue(prompt or task.input.get("prompt"))
    mask = _mask(task) if task.task_type == "inpaint" else b""
    if mask is None:
        return None  # a mask named by URL, not fetched (yet, or ever)
    quadrants: list[Picture] = []
    for quadrant in range(4):
        quadrant_seed = seed_of_quadrant(seed, quadrant)
        if task.task_type == "pan":
            direction = str(task.input["direction"])
            # LegNext's scale is the panned side's new length over its old one.
            scale = task.input.get("scale")
            growth = float(scale) - 1 if scale else pictures.PAN_GROWTH
            quadrants.append(
                pictures.Panned(source, direction, quadrant_seed, hue_shift, growth=growth)
            )
        elif task.task_type == "outpaint":
            scale = task.input.get("scale")  # LegNext's, 1.1 to 2.0
            ratio = float(scale) if scale else ZOOM_RATIOS[str(task.input["zoom_ratio"])]
            quadrants.append(pictures.ZoomedOut(source, ratio, quadrant_seed, hue_shift))
        else:
            quadrants.append(pictures.Inpainted(source, mask, quadrant_seed, hue_shift))
    return Grid((quadrants[0], quadrants[1], quadrants[2], quadrants[3]))


def _mask(task: Task) -> bytes | None:
    """A task's mask PNG: given in its input, or fetched from the URL it named (None
    while it is not); b"" if it has none (an edit's is optional)."""
    if "mask" in task.input:
        return base64.b64decode(str(task.input["mask"]))
    if task.input.get("mask_url"):
        return task.fetched_png("mask_url")
    return b""


def _retexture(task: Task, *, seed: int, prompt: str | None) -> Grid | None:
    """Four materials the prompt's words choose the colours of (with the seed, so that
    a reroll finds others), over the fetched image's composition."""
    png = task.fetched_png("image_url")
    if png is None:
        return None  # not fetched (yet, or ever)
    source = pictures.Fetched(png)
    words = prompts.subject(prompt or str(task.input["prompt"]))
    first, second, third, fourth = (
        pictures.Retextured(source, art.derived_seed("retexture", words, seed, material), material)
        for material in pictures.MATERIALS
    )
    return Grid((first, second, third, fourth))


def _placed(task: Task, *, seed: int, prompt: str | None) -> Grid | None:
    """An upload-paint (of a fetched image) or an edit (of a grid's image, upscaled):
    the image placed on the canvas, the canvas around it and the mask repainted, each
    quadrant its own way."""
    if task.task_type == "edit":
        source: Picture = follow_up_source(_origin(task), str(task.input["index"]))
    else:
        png = task.fetched_png("image_url")
        if png is None:
            return None  # not fetched (yet, or ever)
        source = pictures.Fetched(png)
    mask = _mask(task)
    if mask is None:
        return None
    canvas = (int(task.input["canvas"]["width"]), int(task.input["canvas"]["height"]))
    position = task.input["img_pos"]
    box = (
        int(position["x"]),
        int(position["y"]),
        int(position["width"]),
        int(position["height"]),
    )
    hue_shift = remix_hue(prompt or task.input.get("prompt"))
    quadrants: list[Picture] = []
    for quadrant in range(4):
        quadrant_seed = seed_of_quadrant(seed, quadrant)
        placed = pictures.Placed(source, canvas, box, quadrant_seed, hue_shift)
        quadrants.append(
            pictures.Inpainted(placed, mask, quadrant_seed, hue_shift) if mask else placed
        )
    return Grid((quadrants[0], quadrants[1], quadrants[2], quadrants[3]))


def _blend(task: Task, *, seed: int) -> Grid | None:
    inputs = tuple(bytes(image.png) for image in task.input_images.order_by("position"))
    if not inputs or len(inputs) != len(task.input["image_urls"]):
        return None  # not fetched (yet, or ever)
    aspect_ratio = BLEND_DIMENSIONS[str(task.input["dimension"])]
    first, second, third, fourth = (
        pictures.Blended(inputs, aspect_ratio, quadrant, seed) for quadrant in range(4)
    )
    return Grid((first, second, third, fourth))


def _origin(task: Task) -> Task:
    if task.origin is None:
        raise LookupError(f"{task.task_type} task {task.task_id} has no origin")
    return task.origin


# --- video clips (LegNext) -----------------------------------------------------------


def clips_for(task: Task) -> tuple[Clip, ...] | None:
    """A video task's clips: four from a video-diffusion (one per path) or an extension
    (the named clip, going on four ways), one from an upscale (the named clip at twice
    the size); None for a video whose image is not fetched (yet, or ever)."""
    match task.task_type:
        case "video":
            source = _video_source(task)
            if source is None:
                return None
            end = task.fetched_png("end_url")
            if task.input.get("end_url") and end is None:
                return None
            size = videos.frame_size(videos.source_size(source), str(task.input["resolution"]))
            motion = str(task.input["motion"])
            # With --loop and --end, the camera goes out and back, and the clip still
            # fades into the end image: the end wins.
            loop = bool(task.input.get("loop"))
            return tuple(
                Clip(source, size, (videos.first_segment(number, motion, loop=loop),), end)
                for number in range(videos.CLIP_COUNT)
            )
        case "extend_video":
            clip = _origin_clip(task)
            if clip is None:
                return None
            motion = str(task.input["motion"])
            return tuple(
                Clip(
                    clip.source,
                    clip.size,
                    (*clip.segments, videos.extension_segment(clip, number, motion)),
                    clip.end,
                )
                for number in range(videos.CLIP_COUNT)
            )
        case "video_upscale":
            clip = _origin_clip(task)
            if clip is None:
                return None
            width, height = clip.size
            return (Clip(clip.source, (2 * width, 2 * height), clip.segments, clip.end),)
    return None


def _video_source(task: Task) -> Picture | bytes | None:
    """The image a video-diffusion animates: a grid's image, upscaled as Midjourney
    upscales it first, or the image its prompt named."""
    if "image_url" not in task.input:
        return follow_up_source(_origin(task), str(task.input["index"]))
    return task.fetched_png("image_url")


def _origin_clip(task: Task) -> Clip | None:
    clips = clips_for(_origin(task))
    return clips[int(task.input["video_no"])] if clips is not None else None
