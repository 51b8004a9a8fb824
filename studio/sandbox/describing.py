"""Describe: four prompts read from an image, formatted as Midjourney writes them
(one string, each prompt after a keycap emoji and ending in the image's --ar).

What the sandbox can see in an image it names: its main colours, how light, contrasted
and saturated it is, where its light sits, and its shape. Deterministic: the same image
is always described the same way.
"""

import colorsys
import io
import math
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageStat

from studio.sandbox.models import Task
from studio.sandbox.pictures import main_colours

KEYCAPS = ("1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3", "4\ufe0f\u20e3")
# The aspect ratios a description rounds an image's shape to.
COMMON_RATIOS = (
    (1, 1), (5, 4), (4, 5), (4, 3), (3, 4), (3, 2), (2, 3), (16, 9), (9, 16), (2, 1), (1, 2),
    (21, 9), (9, 21), (3, 1), (1, 3),
)  # fmt: skip
# Hue names by the degree they end at.
HUE_NAMES = (
    (12, "red"), (40, "orange"), (68, "yellow"), (95, "lime green"), (160, "green"),
    (195, "teal"), (255, "blue"), (285, "violet"), (320, "magenta"), (345, "pink"),
    (361, "red"),
)  # fmt: skip
# A colour covering less of the image than this is not one of its colours.
MIN_SHARE = 0.04

RGB = tuple[int, int, int]


def description_for(task: Task) -> str:
    """The describe task's four prompts; empty while its image is not fetched."""
    image = task.input_images.order_by("position").first()
    if image is None:
        return ""
    return describe(bytes(image.png), image.width, image.height)


@lru_cache(maxsize=32)
def describe(png: bytes, width: int, height: int) -> str:
    """Four prompts for the image (`width` × `height` is its size before it was scaled
    down for keeping)."""
    look = _look(Image.open(io.BytesIO(png)).convert("RGB"))
    aspect = f"--ar {aspect_ratio(width, height)}"
    shape = "square" if width == height else "wide" if width > height else "tall"
    first, second, third = look.colours
    prompts = (
        f"{_article(look.mood)} {look.mood} {look.scene} in {first} and {second}, "
        f"{look.light}, {look.contrast}, {look.saturation} colours",
        f"abstract composition of {first}, {second} and {third} shapes, {look.layout}, "
        f"digital art, {look.saturation} palette",
        f"{look.scene} bathed in {first} light, a soft {second} haze, {look.texture}, "
        "cinematic, wide angle",
        f"minimalist {shape} poster, {first} background with {second} accents, "
        f"{look.contrast}, flat colour, graphic design",
    )
    return "\n\n".join(
        f"{keycap} {prompt} {aspect}" for keycap, prompt in zip(KEYCAPS, prompts, strict=True)
    )


def aspect_ratio(width: int, height: int) -> str:
    """The common aspect ratio closest to the image's shape, as "W:H"."""
    shape = math.log(width / height)
    best = min(COMMON_RATIOS, key=lambda ratio: abs(math.log(ratio[0] / ratio[1]) - shape))
    return f"{best[0]}:{best[1]}"


def colour_name(rgb: RGB) -> str:
    hue, saturation, value = colorsys.rgb_to_hsv(*(channel / 255 for channel in rgb))
    if value < 0.12:
        return "black"
    if saturation < 0.12 or (saturation < 0.2 and value < 0.3):
        if value > 0.9:
            return "white"
        return "light grey" if value > 0.65 else "grey" if value > 0.35 else "charcoal grey"
    degrees = hue * 360
    name = next(name for limit, name in HUE_NAMES if degrees < limit)
    if name == "orange" and value < 0.6:
        return "brown"
    if value < 0.4:
        return f"deep {name}"
    if saturation < 0.45 and value > 0.75:
        return f"pale {name}"
    return name


@dataclass(frozen=True)
class _Look:
    colours: tuple[str, str, str]
    mood: str
    light: str
    contrast: str
    saturation: str
    layout: str
    scene: str
    texture: str


def _look(image: Image.Image) -> _Look:
    small = image.resize((64, 64), Image.Resampling.BOX)
    grey = small.convert("L")
    brightness = ImageStat.Stat(grey).mean[0] / 255
    spread = ImageStat.Stat(grey).stddev[0] / 255
    saturation = ImageStat.Stat(small.convert("HSV")).mean[1] / 255
    third = grey.height // 3
    top = ImageStat.Stat(grey.crop((0, 0, grey.width, third))).mean[0]
    bottom = ImageStat.Stat(grey.crop((0, grey.height - third, grey.width, grey.height))).mean[0]
    left = ImageStat.Stat(grey.crop((0, 0, grey.width // 2, grey.height))).mean[0]
    right = ImageStat.Stat(grey.crop((grey.width // 2, 0, grey.width, grey.height))).mean[0]
    if top - bottom > 20:
        layout, scene = "light falling from above", "landscape under an open sky"
    elif bottom - top > 20:
        layout, scene = "a glow rising from below", "scene lit from the ground"
    elif abs(left - right) > 20:
        side = "left" if left > right else "right"
        layout, scene = f"light from the {side}", "still life by a window"
    else:
        layout, scene = "a centred, balanced layout", "dreamlike space"
    dark, bright = brightness < 0.3, brightness > 0.62
    return _Look(
        colours=_main_colours(small, brightness),
        mood="dark, moody" if dark else "bright, airy" if bright else "softly lit",
        light="low-key lighting" if dark else "high-key lighting" if bright else "diffused light",
        contrast=(
            "high contrast"
            if spread > 0.25
            else "low contrast"
            if spread < 0.1
            else "gentle contrast"
        ),
        saturation="vivid" if saturation > 0.55 else "muted" if saturation < 0.25 else "rich",
        layout=layout,
        scene=scene,
        texture="crisp details" if spread > 0.2 else "smooth gradients",
    )


def _main_colours(image: Image.Image, brightness: float) -> tuple[str, str, str]:
    """The names of the image's three main colours, most of the image first; an image
    of fewer colours gets the tones its light suggests."""
    names: list[str] = []
    for share, rgb in main_colours(image, 8):
        if share < MIN_SHARE and names:
            break
        name = colour_name(rgb)
        if name not in names:
            names.append(name)
    tones = ["black", "charcoal grey"] if brightness < 0.5 else ["white", "silver"]
    names += [tone for tone in tones if tone not in names]
    return names[0], names[1], names[2]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
