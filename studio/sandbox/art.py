"""The sandbox's art: scenes drawn with Pillow, deterministic from a subject and a seed.

Each prompt gets a palette and a kind of scene (a landscape, waves, glowing orbs or a
geometric poster, picked from words in the prompt, else from its hash); each of the four
quadrants of an imagine grid is one of four compositions of it. A Sketch is everything
one drawn picture depends on: equal sketches draw identical pixels.

Variations keep a composition and change its detail: a sketch carries "jitters", each a
(seed, strength) pair that nudges every number the scene draws from a uniform range and,
now and then, swaps a choice it makes (a poster cell's shape, a colour); the structure
(how many ridges, stars or cells) stays the same, so the picture stays recognisably the
same picture.
"""

import colorsys
import hashlib
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from PIL import Image, ImageDraw, ImageFilter

from studio.sandbox import prompts
from studio.sandbox.validation import parse_ratio

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

# Shapes are drawn at twice the size and scaled down: Pillow's polygons have no
# anti-aliasing of their own.
SUPERSAMPLE = 2

RGB = tuple[int, int, int]
T = TypeVar("T")


def derived_seed(*parts: object) -> int:
    """A 32-bit seed from anything printable; stable across processes (unlike hash())."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def fit(aspect_ratio: str | tuple[int, int], long_side: int) -> tuple[int, int]:
    """The size of a picture of this aspect ratio (or this size's) with this long side."""
    width, height = parse_ratio(aspect_ratio) if isinstance(aspect_ratio, str) else aspect_ratio
    if width >= height:
        return long_side, max(1, round(long_side * height / width))
    return max(1, round(long_side * width / height)), long_side


@dataclass(frozen=True)
class Sketch:
    """One drawn picture: a composition of a subject and seed, with any variations."""

    subject: str
    seed: int
    # Which of the subject's four compositions (0-3: the quadrants of its imagine grid).
    composition: int
    aspect_ratio: str
    # (seed, strength) of each variation made on the way here, oldest first.
    jitters: tuple[tuple[int, float], ...] = ()
    # A remix prompt turns the palette's hues a little (fractions of the colour wheel).
    hue_shift: float = 0.0

    def varied(
        self, *, seed: int, strength: float, hue_shift: float = 0.0, aspect_ratio: str = ""
    ) -> "Sketch":
        return replace(
            self,
            jitters=(*self.jitters, (seed, strength)),
            hue_shift=self.hue_shift + hue_shift,
            aspect_ratio=aspect_ratio or self.aspect_ratio,
        )


@dataclass(frozen=True)
class Art:
    """An imagine's four pictures: the subject and seed of its prompt."""

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

    def sketch(self, composition: int) -> Sketch:
        return Sketch(self.subject, self.seed, composition, self.aspect_ratio)


class Jittered(random.Random):
    """A Random that draws the same sequence as random.Random(seed), with every
    uniform() nudged and some choice()s swapped by the jitters' own generators.

    Only uniform() and choice() are touched: random() decides branches (stars or not)
    and the integers decide counts, so the structure of the picture never changes."""

    def __init__(self, seed: str, jitters: Sequence[tuple[int, float]], stream: str):
        super().__init__(seed)
        self.jitters = [
            (random.Random(f"{jitter_seed}|{stream}"), strength)
            for jitter_seed, strength in jitters
        ]
        self.swaps_choices = stream == "detail"

    def uniform(self, a: float, b: float) -> float:
        value = super().uniform(a, b)
        if not self.jitters:
            return value
        nudge = sum(noise.uniform(-1.0, 1.0) * strength for noise, strength in self.jitters)
        return min(max(a, b), max(min(a, b), value + nudge * (b - a)))

    def choice(self, seq: "SupportsLenAndGetItem[T]") -> T:
        chosen = super().choice(seq)
        if self.swaps_choices:
            for noise, strength in self.jitters:
                # Always draw twice, so that one swap does not shift the next ones.
                swap, other = noise.random(), noise.choice(seq)
                if swap < strength:
                    chosen = other
        return chosen


def draw(sketch: Sketch, size: tuple[int, int]) -> Image.Image:
    """The sketch drawn at `size` (its aspect ratio's shape; everything in a scene is
    placed relative to the size, so a bigger size is the same picture, finer)."""
    width, height = size
    supersampled = (width * SUPERSAMPLE, height * SUPERSAMPLE)
    scene_rng = Jittered(f"{sketch.subject}|{sketch.seed}", sketch.jitters, "palette")
    scene = _scene_for(sketch.subject, scene_rng)
    palette = _palette(scene_rng, hue_shift=(sketch.composition - 1.5) * 0.02 + sketch.hue_shift)
    detail_rng = Jittered(
        f"{sketch.subject}|{sketch.seed}|{sketch.composition}", sketch.jitters, "detail"
    )
    image = scene(supersampled, palette, detail_rng)
    return image.resize(size, Image.Resampling.LANCZOS)


# --- colour ---------------------------------------------------------------------------


def hsv(hue: float, saturation: float, value: float) -> RGB:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, _clamp(saturation), _clamp(value))
    return round(red * 255), round(green * 255), round(blue * 255)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def mix(first: RGB, second: RGB, amount: float) -> RGB:
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
        deep=hsv(shadow, rng.uniform(0.55, 0.8), rng.uniform(0.22, 0.38)),
        glow=hsv(light, rng.uniform(0.4, 0.65), rng.uniform(0.9, 1.0)),
        accent=hsv(light + 0.02, rng.uniform(0.12, 0.35), 1.0),
        ground=hsv(shadow, rng.uniform(0.5, 0.75), rng.uniform(0.07, 0.13)),
        bold=(
            hsv(light, rng.uniform(0.6, 0.8), rng.uniform(0.85, 0.97)),
            hsv(shadow, rng.uniform(0.55, 0.8), rng.uniform(0.6, 0.8)),
            hsv(middle, rng.uniform(0.45, 0.7), rng.uniform(0.75, 0.92)),
            hsv(light + 0.5, rng.uniform(0.5, 0.75), rng.uniform(0.7, 0.9)),
        ),
    )


def gradient(size: tuple[int, int], stops: list[RGB], angle: float = 0.0) -> Image.Image:
    """A smooth gradient through `stops` from top to bottom, turned by `angle` degrees."""
    line = Image.new("RGB", (1, 256))
    last = len(stops) - 1
    for y in range(256):
        position = y / 255 * last
        left = min(int(position), last - 1)
        line.putpixel((0, y), mix(stops[left], stops[left + 1], position - left))
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


def glow(
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
    horizon = mix(palette.glow, palette.accent, 0.5)
    sky = gradient(
        size, [palette.deep, mix(palette.deep, palette.glow, 0.45), palette.glow, horizon]
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
    glow(sky, sun, sun_radius * 3.5, palette.accent, 0.6)
    sun_colour = mix(palette.accent, (255, 255, 255), 0.55)
    draw.ellipse(
        (sun[0] - sun_radius, sun[1] - sun_radius, sun[0] + sun_radius, sun[1] + sun_radius),
        fill=(*sun_colour, 245),
    )
    ridges = rng.randint(4, 6)
    far = mix(palette.glow, palette.deep, 0.3)
    for layer in range(ridges):
        depth = (layer + 1) / ridges
        colour = mix(far, palette.ground, depth)
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
        mist = mix(colour, palette.glow, 0.3 * (1 - depth) + 0.08)
        fill = gradient((width, max(1, height - top)), [colour, mist])
        sky.paste(fill, (0, top), mask.crop((0, top, width, height)))
    return _vignette(sky, palette.ground, 0.45)


def _waves(size: tuple[int, int], palette: Palette, rng: random.Random) -> Image.Image:
    width, height = size
    image = gradient(
        size,
        [palette.deep, mix(palette.deep, palette.glow, 0.6), palette.glow],
        angle=rng.uniform(-15, 15),
    )
    glow(
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
        crest = mix(palette.glow, palette.bold[rng.choice((0, 2))], 0.55)
        colour = mix(crest, palette.ground, depth**0.9 * 0.9)
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
        draw.line(curve, fill=(*mix(colour, (255, 255, 255), 0.5), 170), width=2 * SUPERSAMPLE)
    return _vignette(image, palette.ground, 0.4)


def _orbs(size: tuple[int, int], palette: Palette, rng: random.Random) -> Image.Image:
    width, height = size
    short = min(size)
    background = gradient(
        size,
        [
            mix(palette.deep, (0, 0, 0), 0.35),
            palette.deep,
            mix(palette.deep, palette.bold[1], 0.4),
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
        colour = mix(rng.choice(colours), (255, 255, 255), 0.25)
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius),
            fill=(*colour, rng.randint(90, 170)),
            outline=(*mix(colour, (255, 255, 255), 0.6), 200),
            width=SUPERSAMPLE * 2,
        )
    background.alpha_composite(sharp.filter(ImageFilter.GaussianBlur(SUPERSAMPLE * 0.8)))
    return _vignette(background.convert("RGB"), (0, 0, 0), 0.5)


def _poster(size: tuple[int, int], palette: Palette, rng: random.Random) -> Image.Image:
    width, height = size
    light = rng.random() < 0.6
    paper = mix(palette.accent, (250, 246, 238), 0.8) if light else palette.ground
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
