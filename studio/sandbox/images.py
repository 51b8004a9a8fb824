"""The sandbox's pictures: drawn with Pillow, deterministic from prompt and seed, served
at expiring signed URLs like the provider's CDN links.

Each prompt gets a palette and a kind of scene (a landscape, waves, glowing orbs or a
geometric poster, picked from words in the prompt, else from its hash); each of the four
quadrants of the grid is a related variation of it. A quadrant's long side is 512 px
and the grid is exactly 2 × 2 quadrants, in the requested aspect ratio.
"""

import colorsys
import io
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from PIL import Image, ImageDraw, ImageFilter

from studio.sandbox import prompts
from studio.sandbox.validation import parse_ratio

QUADRANT_LONG_SIDE = 512
# Shapes are drawn at twice the size and scaled down: Pillow's polygons have no
# anti-aliasing of their own.
SUPERSAMPLE = 2
GRID = "grid"
PREVIEW = "preview"
QUADRANTS = ("1", "2", "3", "4")
IMAGE_NAMES = (GRID, PREVIEW, *QUADRANTS)
SIGNING_SALT = "studio.sandbox.images"

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Art:
    """Everything a task's pictures depend on; equal Arts draw identical bytes."""

    subject: str
    seed: int
    aspect_ratio: str

    @classmethod
    def for_input(cls, task_input: dict[str, Any]) -> "Art":
        prompt = str(task_input.get("prompt", ""))
        return cls(
            subject=prompts.subject(prompt),
            seed=prompts.seed(prompt),
            aspect_ratio=str(task_input.get("aspect_ratio") or "1:1"),
        )


def quadrant_size(aspect_ratio: str) -> tuple[int, int]:
    width, height = parse_ratio(aspect_ratio)
    if width >= height:
        return QUADRANT_LONG_SIDE, max(1, round(QUADRANT_LONG_SIDE * height / width))
    return max(1, round(QUADRANT_LONG_SIDE * width / height)), QUADRANT_LONG_SIDE


def grid_size(aspect_ratio: str) -> tuple[int, int]:
    width, height = quadrant_size(aspect_ratio)
    return 2 * width, 2 * height


# --- signed URLs ----------------------------------------------------------------------


def image_path(task_id: object, name: str) -> str:
    return reverse("sandbox:image", kwargs={"task_id": str(task_id), "name": name})


def signature(path: str, expires: int) -> str:
    return salted_hmac(SIGNING_SALT, f"{path}?expires={expires}", algorithm="sha256").hexdigest()


def url_expiry(created_at: datetime) -> int:
    """Unix time the task's image URLs stop working; fixed per task so that every GET
    and every webhook carries the same URL."""
    return int(created_at.timestamp()) + int(settings.SANDBOX_URL_TTL_SECONDS)


def signed_image_url(task_id: object, name: str, *, base_url: str, expires: int) -> str:
    """Absolute URL of one of a task's images, valid until `expires` (unix seconds)."""
    path = image_path(task_id, name)
    return f"{base_url}{path}?expires={expires}&signature={signature(path, expires)}"


def signature_is_valid(path: str, expires: str, given: str) -> bool:
    if not expires.isdigit():
        return False
    return constant_time_compare(signature(path, int(expires)), given)


# --- rendering ------------------------------------------------------------------------


@lru_cache(maxsize=48)
def render_png(art: Art, name: str) -> bytes:
    """PNG bytes of the grid, one quadrant ("1"-"4") or the blurred in-progress preview."""
    if name == GRID:
        image = _grid(art)
    elif name == PREVIEW:
        image = _preview(art)
    elif name in QUADRANTS:
        image = _quadrant(art, QUADRANTS.index(name))
    else:
        raise ValueError(f"no image named {name!r}")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def clear_cache() -> None:
    """Forget every rendered image (tests use it to prove rendering is deterministic)."""
    for cached in (render_png, _grid, _quadrant):
        cached.cache_clear()


@lru_cache(maxsize=8)
def _grid(art: Art) -> Image.Image:
    width, height = quadrant_size(art.aspect_ratio)
    grid = Image.new("RGB", (2 * width, 2 * height))
    # Midjourney's numbering: 1 top left, 2 top right, 3 bottom left, 4 bottom right.
    for index in range(4):
        grid.paste(_quadrant(art, index), ((index % 2) * width, (index // 2) * height))
    return grid


def _preview(art: Art) -> Image.Image:
    grid = _grid(art)
    small = grid.resize(
        (max(1, grid.width // 32), max(1, grid.height // 32)), Image.Resampling.BILINEAR
    )
    return small.resize(grid.size, Image.Resampling.NEAREST).filter(ImageFilter.GaussianBlur(6))


@lru_cache(maxsize=16)
def _quadrant(art: Art, index: int) -> Image.Image:
    width, height = quadrant_size(art.aspect_ratio)
    size = (width * SUPERSAMPLE, height * SUPERSAMPLE)
    scene_rng = random.Random(f"{art.subject}|{art.seed}")
    scene = _scene_for(art.subject, scene_rng)
    palette = _palette(scene_rng, hue_shift=(index - 1.5) * 0.02)
    image = scene(size, palette, random.Random(f"{art.subject}|{art.seed}|{index}"))
    return image.resize((width, height), Image.Resampling.LANCZOS)


# --- colour ---------------------------------------------------------------------------


def _hsv(hue: float, saturation: float, value: float) -> RGB:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, _clamp(saturation), _clamp(value))
    return round(red * 255), round(green * 255), round(blue * 255)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _mix(first: RGB, second: RGB, amount: float) -> RGB:
    return (
        round(first[0] + (second[0] - first[0]) * amount),
        round(first[1] + (second[1] - first[1]) * amount),
        round(first[2] + (second[2] - first[2]) * amount),
    )


@dataclass(frozen=True)
class Palette:
    deep: RGB  # top of the sky, background shadows
    glow: RGB  # horizon light
    accent: RGB  # the sun, highlights
    ground: RGB  # the darkest foreground
    bold: tuple[RGB, ...]  # flat poster colours


# Pairs of (shadow hue, light hue) that read as a deliberate mood: twilight, rose dusk,
# deep ocean, emerald and gold, embers, cotton candy, lavender, cyberpunk, desert, forest.
MOODS = (
    (0.68, 0.05),
    (0.76, 0.95),
    (0.59, 0.50),
    (0.47, 0.13),
    (0.98, 0.09),
    (0.55, 0.98),
    (0.71, 0.82),
    (0.86, 0.52),
    (0.03, 0.11),
    (0.45, 0.08),
)


def _palette(rng: random.Random, hue_shift: float) -> Palette:
    shadow, light = rng.choice(MOODS)
    shadow += rng.uniform(-0.03, 0.03) + hue_shift
    light += rng.uniform(-0.03, 0.03) + hue_shift
    middle = (shadow + light) / 2 if abs(shadow - light) < 0.5 else (shadow + light + 1) / 2
    return Palette(
        deep=_hsv(shadow, rng.uniform(0.55, 0.8), rng.uniform(0.22, 0.38)),
        glow=_hsv(light, rng.uniform(0.4, 0.65), rng.uniform(0.9, 1.0)),
        accent=_hsv(light + 0.02, rng.uniform(0.12, 0.35), 1.0),
        ground=_hsv(shadow, rng.uniform(0.5, 0.75), rng.uniform(0.07, 0.13)),
        bold=(
            _hsv(light, rng.uniform(0.6, 0.8), rng.uniform(0.85, 0.97)),
            _hsv(shadow, rng.uniform(0.55, 0.8), rng.uniform(0.6, 0.8)),
            _hsv(middle, rng.uniform(0.45, 0.7), rng.uniform(0.75, 0.92)),
            _hsv(light + 0.5, rng.uniform(0.5, 0.75), rng.uniform(0.7, 0.9)),
        ),
    )


def _gradient(size: tuple[int, int], stops: list[RGB], angle: float = 0.0) -> Image.Image:
    """A smooth gradient through `stops` from top to bottom, turned by `angle` degrees."""
    line = Image.new("RGB", (1, 256))
    last = len(stops) - 1
    for y in range(256):
        position = y / 255 * last
        left = min(int(position), last - 1)
        line.putpixel((0, y), _mix(stops[left], stops[left + 1], position - left))
    if not angle:
        return line.resize(size, Image.Resampling.BICUBIC)
    # Turned at a small size (a gradient has no detail to lose) and scaled up; the
    # square is larger than the picture so that the turned corners stay filled.
    side = 256
    square = line.resize((side, side), Image.Resampling.BICUBIC).rotate(
        angle, Image.Resampling.BICUBIC
    )
    inner = side / math.hypot(*size)
    crop_width, crop_height = size[0] * inner, size[1] * inner
    crop_left, crop_top = (side - crop_width) / 2, (side - crop_height) / 2
    box = (crop_left, crop_top, crop_left + crop_width, crop_top + crop_height)
    return square.resize(size, Image.Resampling.BICUBIC, box=box)


def _glow(
    image: Image.Image, centre: tuple[float, float], radius: float, colour: RGB, strength: float
) -> None:
    # Blurred at a quarter of the size: a glow has no detail, and blurring is the
    # slowest step of drawing.
    scale = 4
    small = (max(1, image.width // scale), max(1, image.height // scale))
    mask = Image.new("L", small, 0)
    x, y, r = centre[0] / scale, centre[1] / scale, radius / scale
    ImageDraw.Draw(mask).ellipse((x - r, y - r, x + r, y + r), fill=round(255 * strength))
    mask = mask.filter(ImageFilter.GaussianBlur(r * 0.6)).resize(
        image.size, Image.Resampling.BICUBIC
    )
    image.paste(Image.new("RGB", image.size, colour), (0, 0), mask)


def _vignette(image: Image.Image, colour: RGB, strength: float = 0.55) -> Image.Image:
    radial = Image.radial_gradient("L").resize(image.size, Image.Resampling.BICUBIC)
    mask = radial.point(lambda value: round(max(0, value - 110) * strength * 1.6))
    shaded = image.copy()
    shaded.paste(Image.new("RGB", image.size, colour), (0, 0), mask)
    return shaded


# --- scenes ---------------------------------------------------------------------------

Scene = Callable[[tuple[int, int], Palette, random.Random], Image.Image]


def _landscape(size: tuple[int, int], palette: Palette, rng: random.Random) -> Image.Image:
    width, height = size
    horizon = _mix(palette.glow, palette.accent, 0.5)
    sky = _gradient(
        size, [palette.deep, _mix(palette.deep, palette.glow, 0.45), palette.glow, horizon]
    )
    draw = ImageDraw.Draw(sky, "RGBA")
    if rng.random() < 0.6:  # a few stars in the dark upper sky
        for _ in range(rng.randint(25, 60)):
            x, y = rng.uniform(0, width), rng.uniform(0, height * 0.35)
            radius = rng.uniform(0.6, 1.6) * SUPERSAMPLE
            draw.ellipse(
                (x - radius, y - radius, x + radius, y + radius),
                fill=(255, 255, 240, rng.randint(60, 190)),
            )
    short = min(width, height)
    sun = (rng.uniform(0.2, 0.8) * width, rng.uniform(0.3, 0.55) * height)
    sun_radius = rng.uniform(0.05, 0.1) * short
    _glow(sky, sun, sun_radius * 3.5, palette.accent, 0.6)
    sun_colour = _mix(palette.accent, (255, 255, 255), 0.55)
    draw.ellipse(
        (sun[0] - sun_radius, sun[1] - sun_radius, sun[0] + sun_radius, sun[1] + sun_radius),
        fill=(*sun_colour, 245),
    )
    ridges = rng.randint(4, 6)
    far = _mix(palette.glow, palette.deep, 0.3)
    for layer in range(ridges):
        depth = (layer + 1) / ridges
        colour = _mix(far, palette.ground, depth)
        base = height * (0.55 + 0.38 * depth**1.2)
        roughness = height * (0.12 - 0.06 * depth)
        waves = [
            (rng.uniform(0.6, 1.5 + layer), rng.uniform(0, math.tau), rng.random())
            for _ in range(4)
        ]
        outline = [(0.0, float(height))]
        for step in range(161):
            x = width * step / 160
            lift = sum(
                weight * math.sin(frequency * math.tau * x / width + phase)
                for frequency, phase, weight in waves
            )
            outline.append((x, base - roughness * lift / 2))
        outline.append((float(width), float(height)))
        # Each ridge fades into mist towards its foot, which gives the depth.
        mask = Image.new("L", size, 0)
        ImageDraw.Draw(mask).polygon(outline, fill=255)
        top = round(min(y for _, y in outline))
        mist = _mix(colour, palette.glow, 0.3 * (1 - depth) + 0.08)
        fill = _gradient((width, max(1, height - top)), [colour, mist])
        sky.paste(fill, (0, top), mask.crop((0, top, width, height)))
    return _vignette(sky, palette.ground, 0.45)


def _waves(size: tuple[int, int], palette: Palette, rng: random.Random) -> Image.Image:
    width, height = size
    image = _gradient(
        size,
        [palette.deep, _mix(palette.deep, palette.glow, 0.6), palette.glow],
        angle=rng.uniform(-15, 15),
    )
    _glow(
        image,
        (rng.uniform(0.2, 0.8) * width, height * rng.uniform(0.15, 0.35)),
        min(size) * 0.3,
        palette.accent,
        0.7,
    )
    draw = ImageDraw.Draw(image, "RGBA")
    bands = rng.randint(5, 8)
    for band in range(bands):
        depth = band / (bands - 1)
        # Only colours near the light's hue: mixing opposite hues makes grey.
        crest = _mix(palette.glow, palette.bold[rng.choice((0, 2))], 0.55)
        colour = _mix(crest, palette.ground, depth**0.9 * 0.9)
        base = height * (0.38 + 0.56 * depth)
        amplitude = height * rng.uniform(0.025, 0.06)
        frequency = rng.uniform(0.7, 2.0)
        phase = rng.uniform(0, math.tau)
        curve = [
            (
                width * step / 120,
                base
                + amplitude * math.sin(frequency * math.tau * step / 120 + phase)
                + amplitude * 0.35 * math.sin(3.1 * frequency * math.tau * step / 120 + phase),
            )
            for step in range(121)
        ]
        draw.polygon(
            [(0.0, float(height)), *curve, (float(width), float(height))], fill=(*colour, 245)
        )
        draw.line(curve, fill=(*_mix(colour, (255, 255, 255), 0.5), 170), width=2 * SUPERSAMPLE)
    return _vignette(image, palette.ground, 0.4)


def _orbs(size: tuple[int, int], palette: Palette, rng: random.Random) -> Image.Image:
    width, height = size
    short = min(size)
    background = _gradient(
        size,
        [
            _mix(palette.deep, (0, 0, 0), 0.35),
            palette.deep,
            _mix(palette.deep, palette.bold[1], 0.4),
        ],
        angle=rng.uniform(-50, 50),
    ).convert("RGBA")
    colours = [palette.accent, palette.glow, *palette.bold]
    # The out-of-focus orbs are drawn and blurred at a quarter of the size.
    small = (max(1, width // 4), max(1, height // 4))
    soft = Image.new("RGBA", small, (0, 0, 0, 0))
    draw = ImageDraw.Draw(soft)
    for _ in range(rng.randint(18, 32)):
        x, y = rng.uniform(-0.05, 1.05) * small[0], rng.uniform(-0.05, 1.05) * small[1]
        radius = rng.uniform(0.04, 0.16) * min(small)
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius),
            fill=(*rng.choice(colours), rng.randint(70, 150)),
        )
    soft = soft.filter(ImageFilter.GaussianBlur(min(small) * 0.025))
    background.alpha_composite(soft.resize(size, Image.Resampling.BICUBIC))
    sharp = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(sharp)
    for _ in range(rng.randint(7, 14)):
        x, y = rng.uniform(0.05, 0.95) * width, rng.uniform(0.05, 0.95) * height
        radius = rng.uniform(0.015, 0.07) * short
        colour = _mix(rng.choice(colours), (255, 255, 255), 0.25)
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius),
            fill=(*colour, rng.randint(90, 170)),
            outline=(*_mix(colour, (255, 255, 255), 0.6), 200),
            width=SUPERSAMPLE * 2,
        )
    background.alpha_composite(sharp.filter(ImageFilter.GaussianBlur(SUPERSAMPLE * 0.8)))
    return _vignette(background.convert("RGB"), (0, 0, 0), 0.5)


def _poster(size: tuple[int, int], palette: Palette, rng: random.Random) -> Image.Image:
    width, height = size
    light = rng.random() < 0.6
    paper = _mix(palette.accent, (250, 246, 238), 0.8) if light else palette.ground
    image = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(image)
    columns = 3 if width > height * 1.4 else 2
    rows = 3 if height > width * 1.4 else 2
    cell_width, cell_height = width / columns, height / rows
    inset = min(cell_width, cell_height) * 0.06
    for row in range(rows):
        for column in range(columns):
            left, top = column * cell_width + inset, row * cell_height + inset
            right, bottom = left + cell_width - 2 * inset, top + cell_height - 2 * inset
            box = (left, top, right, bottom)
            colour, other = rng.sample(palette.bold, 2)
            shape = rng.choice(
                ("circle", "half", "quarter", "rings", "stripes", "triangle", "block")
            )
            if rng.random() < 0.45:
                draw.rectangle(box, fill=other)
            if shape == "circle":
                draw.ellipse(box, fill=colour)
            elif shape == "half":
                start = rng.choice((0, 90, 180, 270))
                draw.pieslice(box, start, start + 180, fill=colour)
            elif shape == "quarter":
                corner_x, corner_y = rng.choice(
                    ((left, top), (right, top), (left, bottom), (right, bottom))
                )
                radius = min(cell_width, cell_height) - 2 * inset
                start = {
                    (left, top): 0,
                    (right, top): 90,
                    (right, bottom): 180,
                    (left, bottom): 270,
                }[(corner_x, corner_y)]
                draw.pieslice(
                    (corner_x - radius, corner_y - radius, corner_x + radius, corner_y + radius),
                    start,
                    start + 90,
                    fill=colour,
                )
            elif shape == "rings":
                rings = rng.randint(3, 5)
                centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
                for ring in range(rings, 0, -1):
                    radius = min(right - left, bottom - top) / 2 * ring / rings
                    draw.ellipse(
                        (
                            centre_x - radius,
                            centre_y - radius,
                            centre_x + radius,
                            centre_y + radius,
                        ),
                        fill=colour if ring % 2 else paper,
                    )
            elif shape == "stripes":
                stripes = rng.randint(3, 6)
                stripe = (bottom - top) / (2 * stripes - 1)
                for index in range(stripes):
                    y = top + 2 * index * stripe
                    draw.rectangle((left, y, right, y + stripe), fill=colour)
            elif shape == "triangle":
                draw.polygon(
                    [(left, bottom), ((left + right) / 2, top), (right, bottom)], fill=colour
                )
            else:
                draw.rectangle((left, (top + bottom) / 2, right, bottom), fill=colour)
    return image


SCENES: dict[str, Scene] = {
    "landscape": _landscape,
    "waves": _waves,
    "orbs": _orbs,
    "poster": _poster,
}
# A prompt's words pick the scene when they suggest one; the hash picks otherwise.
SCENE_WORDS = {
    "landscape": r"mountain|landscape|sunset|sunrise|valley|hill|desert|forest|lake|dusk|"
    r"dawn|horizon|scenery|canyon|field|castle",
    "waves": r"ocean|sea|wave|water|river|beach|surf|flow|silk|dune|wind|tide|liquid",
    "orbs": r"space|star|galaxy|night|city|neon|light|bokeh|bubble|glow|dream|nebula|"
    r"cosmic|firefl|lantern",
    "poster": r"poster|geometric|abstract|logo|minimal|bauhaus|pattern|shape|icon|"
    r"graphic|flat|typograph",
}


def _scene_for(subject: str, rng: random.Random) -> Scene:
    # The rng is drawn from even when words decide, so that palettes do not depend
    # on whether a word matched.
    fallback = rng.choice(list(SCENES))
    for name, words in SCENE_WORDS.items():
        if re.search(rf"\b(?:{words})", subject):
            return SCENES[name]
    return SCENES[fallback]
