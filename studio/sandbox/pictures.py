"""Pictures as recipes: every picture a task shows is a frozen, hashable description of
how to make it from another picture (or from a sketch, or from fetched input images),
so that any process can redraw it, identically, from what the database holds.

Each kind of follow-up is one recipe, and each does to the pixels what Midjourney's
button does to the picture:

- ``Drawn``: a sketch drawn at a size (imagine quadrants, their variations, U1-U4).
- ``Resized``: an upscaler's output; a creative upscale adds texture.
- ``Varied``: a variation of a picture that has no sketch (a pan, a blend…): warped and
  turned in hue, composition kept.
- ``Panned``: the canvas extended on one side (by half its size unless told otherwise);
  the original kept on the other side, new content continuing into the extension.
- ``ZoomedOut``: the original shrunk into the middle of a frame of new content.
- ``Inpainted``: only the mask's white area repainted; every other pixel untouched.
- ``Blended``: two to five input images mixed, a different mix per quadrant.
- ``Fetched``: an image fetched from a URL, as it is (LegNext's edits start from one).
- ``Retextured``: the same composition in another material: the picture's light and
  shade kept, its colours and surface made new (LegNext's retexture).
- ``Placed``: a picture scaled into a box of a canvas, the canvas around it painted
  new as a zoom out paints it (LegNext's upload-paint and edit; an ``Inpainted`` of it
  repaints their mask).
- ``Cutout``: the background (what is close to the colours along the border) made
  transparent, with a soft edge: the only RGBA picture (LegNext's remove-background).

A grid's quadrants are GRID_LONG_SIDE px on their long side, an upscale
UPSCALE_LONG_SIDE; a vary-region keeps its origin's size so that the unmasked pixels
stay exactly the origin's, and a placed picture keeps its canvas's size (at most
UPSCALE_LONG_SIDE on its long side).
"""

import io
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from studio.sandbox import art
from studio.sandbox.art import RGB, Sketch

GRID_LONG_SIDE = 512
UPSCALE_LONG_SIDE = 2 * GRID_LONG_SIDE
# A pan adds half the picture's width (or height): 1:1 panned left becomes 3:2.
PAN_GROWTH = 0.5
# Mask pixels at least this light are repainted.
MASK_THRESHOLD = 128
# A retexture's four materials, one per quadrant (see _retextured).
MATERIALS = ("poster", "stone", "fabric", "metal")
# Cutout: a pixel this close to a border colour (the largest difference of its
# channels, 0-255) is background, one this far is subject; between, partly see-through.
BACKGROUND_DISTANCE = 24
SUBJECT_DISTANCE = 64
# A border colour covering less than this share of the border is taken for the subject
# touching it, not for background.
BORDER_COLOUR_SHARE = 0.1

Size = tuple[int, int]


@dataclass(frozen=True)
class Drawn:
    sketch: Sketch
    long_side: int

    @property
    def size(self) -> Size:
        return art.fit(self.sketch.aspect_ratio, self.long_side)


@dataclass(frozen=True)
class Resized:
    source: "Picture"
    size: Size
    # Set for a creative upscale: the seed of the texture it adds.
    detail_seed: int | None = None


@dataclass(frozen=True)
class Varied:
    source: "Picture"
    size: Size
    strength: float
    seed: int
    hue_shift: float = 0.0


@dataclass(frozen=True)
class Panned:
    source: "Picture"
    direction: str
    seed: int
    hue_shift: float = 0.0
    # How much longer the panned side grows: PiAPI's pan adds half, LegNext's `scale`
    # (1.1 to 3.0, the new length over the old) adds scale - 1.
    growth: float = PAN_GROWTH

    @property
    def canvas(self) -> Size:
        """The panned picture at the source's scale: one side `growth` longer."""
        width, height = self.source.size
        if self.direction in ("left", "right"):
            return width + round(width * self.growth), height
        return width, height + round(height * self.growth)

    @property
    def size(self) -> Size:
        return art.fit(self.canvas, GRID_LONG_SIDE)


@dataclass(frozen=True)
class ZoomedOut:
    source: "Picture"
    ratio: float
    seed: int
    hue_shift: float = 0.0

    @property
    def size(self) -> Size:
        return art.fit(self.source.size, GRID_LONG_SIDE)


@dataclass(frozen=True)
class Inpainted:
    source: "Picture"
    mask: bytes  # PNG, white = repaint; the source's size (else it is scaled to it)
    seed: int
    hue_shift: float = 0.0

    @property
    def size(self) -> Size:
        return self.source.size


@dataclass(frozen=True)
class Blended:
    inputs: tuple[bytes, ...]  # PNGs
    aspect_ratio: str
    index: int
    seed: int

    @property
    def size(self) -> Size:
        return art.fit(self.aspect_ratio, GRID_LONG_SIDE)


@dataclass(frozen=True)
class Fetched:
    png: bytes = field(repr=False)  # the sandbox's PNG copy of a fetched image

    @property
    def size(self) -> Size:
        with Image.open(io.BytesIO(self.png)) as image:
            return image.size


@dataclass(frozen=True)
class Retextured:
    source: "Picture"
    # The seed of the material's colours and surface: from the prompt's words.
    seed: int
    material: str  # one of MATERIALS

    @property
    def size(self) -> Size:
        return art.fit(self.source.size, GRID_LONG_SIDE)


@dataclass(frozen=True)
class Placed:
    source: "Picture"
    canvas: Size
    # Where the source goes on the canvas, in the canvas's pixels: x, y, width, height
    # (LegNext's imgPos); it may reach past the canvas's edges.
    box: tuple[int, int, int, int]
    seed: int
    hue_shift: float = 0.0

    @property
    def size(self) -> Size:
        if max(self.canvas) <= UPSCALE_LONG_SIDE:
            return self.canvas
        return art.fit(self.canvas, UPSCALE_LONG_SIDE)


@dataclass(frozen=True)
class Cutout:
    source: "Picture"

    @property
    def size(self) -> Size:
        return self.source.size


Picture = (
    Drawn
    | Resized
    | Varied
    | Panned
    | ZoomedOut
    | Inpainted
    | Blended
    | Fetched
    | Retextured
    | Placed
    | Cutout
)


@dataclass(frozen=True)
class Grid:
    """Four pictures of one size, numbered like Midjourney's: 1 top left, 2 top right,
    3 bottom left, 4 bottom right."""

    quadrants: tuple[Picture, Picture, Picture, Picture]

    @property
    def quadrant_size(self) -> Size:
        return self.quadrants[0].size

    @property
    def size(self) -> Size:
        width, height = self.quadrant_size
        return 2 * width, 2 * height


# --- making recipes -----------------------------------------------------------------


def upscale(picture: Picture) -> Picture:
    """U1-U4: the quadrant alone at UPSCALE_LONG_SIDE. A drawn quadrant is drawn again,
    larger (the same composition, finer); anything else is scaled up."""
    if isinstance(picture, Drawn):
        return Drawn(picture.sketch, UPSCALE_LONG_SIDE)
    size = art.fit(picture.size, UPSCALE_LONG_SIDE)
    if size == picture.size:  # a vary-region quadrant is already full size
        return picture
    return Resized(picture, size)


def upscale_again(picture: Picture, *, detail_seed: int | None) -> Resized:
    """Upscale (Subtle / Creative, 2x / 4x): the same picture at twice the size."""
    width, height = picture.size
    return Resized(picture, (2 * width, 2 * height), detail_seed)


def sketch_of(picture: Picture) -> Sketch | None:
    """The sketch a picture is a faithful drawing of, if it is one."""
    if isinstance(picture, Drawn):
        return picture.sketch
    if isinstance(picture, Resized) and picture.detail_seed is None:
        return sketch_of(picture.source)
    return None


def vary(
    picture: Picture, *, strength: float, seed: int, hue_shift: float, aspect_ratio: str = ""
) -> Picture:
    """One picture of a variation grid: the same composition with changed detail. A
    drawn picture is redrawn with nudged parameters; any other is warped."""
    sketch = sketch_of(picture)
    if sketch is not None:
        varied = sketch.varied(
            seed=seed, strength=strength, hue_shift=hue_shift, aspect_ratio=aspect_ratio
        )
        return Drawn(varied, GRID_LONG_SIDE)
    size = art.fit(aspect_ratio or picture.size, GRID_LONG_SIDE)
    return Varied(picture, size, strength, seed, hue_shift)


# --- rendering ----------------------------------------------------------------------


# Pictures a follow-up is made from are drawn again for each of its images: keep some.
# (Up to 2048 px on a side, 12 MB each at most.)
@lru_cache(maxsize=16)
def render(picture: Picture) -> Image.Image:
    """The picture's pixels (RGB; a cutout's RGBA). Cached: callers must not change the
    image."""
    match picture:
        case Drawn():
            return art.draw(picture.sketch, picture.size)
        case Resized():
            return _resized(picture)
        case Varied():
            source = cover(render(picture.source), picture.size)
            rng = random.Random(picture.seed)
            turn = picture.hue_shift + rng.uniform(-1, 1) * picture.strength * 0.15
            return _turn_hue(_warp(source, picture.strength, picture.seed), turn)
        case Panned():
            return _panned(picture)
        case ZoomedOut():
            return _zoomed_out(picture)
        case Inpainted():
            return _inpainted(picture)
        case Blended():
            return _blended(picture)
        case Fetched():
            return Image.open(io.BytesIO(picture.png)).convert("RGB")
        case Retextured():
            return _retextured(picture)
        case Placed():
            return _placed(picture)
        case Cutout():
            return _cutout(picture)


def render_grid(grid: Grid) -> Image.Image:
    width, height = grid.quadrant_size
    image = Image.new("RGB", grid.size)
    for index, quadrant in enumerate(grid.quadrants):
        image.paste(render(quadrant), ((index % 2) * width, (index // 2) * height))
    return image


def mask_image(mask_png: bytes) -> Image.Image:
    """The mask as 0 (keep) / 255 (repaint)."""
    mask = Image.open(io.BytesIO(mask_png)).convert("L")
    return mask.point(lambda value: 255 if value >= MASK_THRESHOLD else 0)


def _resized(picture: Resized) -> Image.Image:
    image = render(picture.source).resize(picture.size, Image.Resampling.LANCZOS)
    image = image.filter(ImageFilter.UnsharpMask(radius=1.5, percent=50, threshold=2))
    if picture.detail_seed is None:
        return image
    # Creative: grain laid over in soft light, then the fine detail brought out.
    textured = ImageChops.soft_light(image, _grain(picture.size, picture.detail_seed))
    return textured.filter(ImageFilter.DETAIL).filter(
        ImageFilter.UnsharpMask(radius=2.5, percent=70, threshold=0)
    )


def _panned(picture: Panned) -> Image.Image:
    width, height = picture.size
    canvas_width, canvas_height = picture.canvas
    source_width, source_height = picture.source.size
    scaled = (
        max(1, round(source_width * width / canvas_width)),
        max(1, round(source_height * height / canvas_height)),
    )
    # The original stays on the side opposite to the pan.
    left = width - scaled[0] if picture.direction == "left" else 0
    top = height - scaled[1] if picture.direction == "up" else 0
    source = render(picture.source).resize(scaled, Image.Resampling.LANCZOS)
    return _extend(source, picture.size, (left, top), picture.seed, picture.hue_shift)


def _zoomed_out(picture: ZoomedOut) -> Image.Image:
    width, height = picture.size
    scaled = (max(1, round(width / picture.ratio)), max(1, round(height / picture.ratio)))
    source = render(picture.source).resize(scaled, Image.Resampling.LANCZOS)
    place = ((width - scaled[0]) // 2, (height - scaled[1]) // 2)
    return _extend(source, picture.size, place, picture.seed, picture.hue_shift)


def _inpainted(picture: Inpainted) -> Image.Image:
    source = render(picture.source)
    mask = mask_image(picture.mask)
    if mask.size != source.size:  # a mask fetched by URL is kept smaller
        mask = mask.resize(source.size, Image.Resampling.NEAREST)
    rng = random.Random(picture.seed)
    reworked = _turn_hue(
        _warp(source, 0.35, picture.seed), picture.hue_shift + rng.uniform(-0.08, 0.08)
    )
    fresh = _new_content(source.size, source, picture.seed, picture.hue_shift)
    repaint = Image.blend(reworked, fresh, 0.55)
    # Feathered inwards only: the soft edge never reaches a pixel outside the mask.
    inside = ImageChops.multiply(mask.filter(ImageFilter.GaussianBlur(3)), mask)
    result = source.copy()
    result.paste(repaint, (0, 0), inside)
    return result


def _blended(picture: Blended) -> Image.Image:
    size = picture.size
    inputs = [cover(Image.open(io.BytesIO(data)).convert("RGB"), size) for data in picture.inputs]
    # Each quadrant leads with another input and mixes them another way.
    turn = (picture.index + picture.seed) % len(inputs)
    ordered = inputs[turn:] + inputs[:turn]
    lead, rest = ordered[0], _average(ordered[1:])
    mode = (picture.index + picture.seed // 7) % 4
    if mode == 0:
        return _crossfade(ordered, horizontal=True)
    if mode == 1:
        return _crossfade(ordered, horizontal=False)
    if mode == 2:
        # The lead in the middle, fading (with the square of the distance) into the
        # others around it.
        ring = Image.radial_gradient("L").resize(size, Image.Resampling.BICUBIC)
        return Image.composite(rest, lead, ring.point(lambda value: min(255, value * value // 255)))
    # The lead's light and shade in the others' colours.
    _, blue, red = rest.convert("YCbCr").split()
    luma = lead.convert("YCbCr").split()[0]
    recoloured = Image.merge("YCbCr", (luma, blue, red)).convert("RGB")
    return Image.blend(recoloured, _average(ordered), 0.5)


def _retextured(picture: Retextured) -> Image.Image:
    """The source's light and shade (so its shapes and edges stay where they were) in
    a material of three colours from the seed: flat posterised paint, grainy stone,
    woven fabric or embossed metal."""
    source = cover(render(picture.source), picture.size)
    rng = random.Random(f"retexture|{picture.seed}")
    hue = rng.random()
    dark = art.hsv(hue, rng.uniform(0.5, 0.9), rng.uniform(0.08, 0.22))
    middle = art.hsv(hue + rng.uniform(0.08, 0.25), rng.uniform(0.5, 0.9), rng.uniform(0.45, 0.6))
    light = art.hsv(hue + rng.uniform(0.25, 0.45), rng.uniform(0.15, 0.45), rng.uniform(0.85, 1))
    shade = ImageOps.autocontrast(source.convert("L"), cutoff=1)
    if picture.material == "poster":
        levels = rng.randint(3, 5)
        shade = shade.point(lambda value: round(value * levels // 256 * 255 / (levels - 1)))
    elif picture.material == "stone":
        grain = _grain(picture.size, picture.seed).convert("L").filter(ImageFilter.GaussianBlur(1))
        shade = ImageChops.overlay(shade, grain)
    elif picture.material == "fabric":
        weave = Image.new("L", picture.size, 150)
        draw = ImageDraw.Draw(weave)
        spacing = rng.randint(3, 5)
        for line in range(0, max(picture.size), spacing):
            draw.line((line, 0, line, picture.size[1]), fill=105)
            draw.line((0, line, picture.size[0], line), fill=185)
        shade = ImageChops.soft_light(shade, weave)
    else:  # metal
        relief = shade.filter(ImageFilter.EMBOSS)
        shade = Image.blend(shade, ImageOps.autocontrast(relief), 0.35)
    return ImageOps.colorize(shade, black=dark, mid=middle, white=light)


def _placed(picture: Placed) -> Image.Image:
    width, height = picture.size
    x_scale, y_scale = width / picture.canvas[0], height / picture.canvas[1]
    x, y, box_width, box_height = picture.box
    scaled = (max(1, round(box_width * x_scale)), max(1, round(box_height * y_scale)))
    left, top = round(x * x_scale), round(y * y_scale)
    source = render(picture.source).resize(scaled, Image.Resampling.LANCZOS)
    # Only the part on the canvas is kept (at least a pixel: the box overlaps it).
    visible_left, visible_top = min(width - 1, max(0, left)), min(height - 1, max(0, top))
    visible_right = max(visible_left + 1, min(width, left + scaled[0]))
    visible_bottom = max(visible_top + 1, min(height, top + scaled[1]))
    piece = source.crop(
        (visible_left - left, visible_top - top, visible_right - left, visible_bottom - top)
    )
    return _extend(
        piece, picture.size, (visible_left, visible_top), picture.seed, picture.hue_shift
    )


def _cutout(picture: Cutout) -> Image.Image:
    """The source with its background transparent: every pixel near one of the
    border's main colours, fading over a soft edge into the opaque subject."""
    source = render(picture.source)
    width, height = source.size
    strip = max(1, min(width, height) // 64)
    pieces = [
        source.crop((0, 0, width, strip)),
        source.crop((0, height - strip, width, height)),
        source.crop((0, 0, strip, height)).rotate(90, expand=True),
        source.crop((width - strip, 0, width, height)).rotate(90, expand=True),
    ]
    border = Image.new("RGB", (sum(piece.width for piece in pieces), strip))
    position = 0
    for piece in pieces:
        border.paste(piece, (position, 0))
        position += piece.width
    quantized = border.quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    distance: Image.Image | None = None
    for pixels, index in sorted(quantized.getcolors() or [], reverse=True):
        assert isinstance(index, int)  # a palette image's colours are indices
        if distance is not None and pixels < BORDER_COLOUR_SHARE * border.width * strip:
            continue
        colour = (palette[3 * index], palette[3 * index + 1], palette[3 * index + 2])
        difference = ImageChops.difference(source, Image.new("RGB", source.size, colour))
        red, green, blue = difference.split()
        far = ImageChops.lighter(ImageChops.lighter(red, green), blue)
        distance = far if distance is None else ImageChops.darker(distance, far)
    assert distance is not None
    span = SUBJECT_DISTANCE - BACKGROUND_DISTANCE
    alpha = distance.point(
        lambda value: min(255, max(0, (value - BACKGROUND_DISTANCE) * 255 // span))
    )
    result = source.convert("RGBA")
    result.putalpha(alpha.filter(ImageFilter.GaussianBlur(1.5)))
    return result


# --- pixel helpers ------------------------------------------------------------------


def cover(image: Image.Image, size: Size) -> Image.Image:
    """The image scaled to cover `size` and cropped to it around its centre."""
    if image.size == size:
        return image
    scale = max(size[0] / image.width, size[1] / image.height)
    scaled = (max(size[0], round(image.width * scale)), max(size[1], round(image.height * scale)))
    resized = image.resize(scaled, Image.Resampling.LANCZOS)
    left, top = (scaled[0] - size[0]) // 2, (scaled[1] - size[1]) // 2
    return resized.crop((left, top, left + size[0], top + size[1]))


def _average(images: list[Image.Image]) -> Image.Image:
    result = images[0]
    for count, image in enumerate(images[1:], start=2):
        result = Image.blend(result, image, 1 / count)
    return result


def _crossfade(images: list[Image.Image], *, horizontal: bool) -> Image.Image:
    """The images side by side (or one above the other), fading into each other."""
    size = images[0].size
    length = size[0] if horizontal else size[1]
    result = images[0]
    count = len(images)
    for position, image in enumerate(images[1:], start=1):
        centre, half = length * position / count, length * 0.3 / count
        line = [
            round(255 * min(1.0, max(0.0, (step - centre + half) / (2 * half))))
            for step in range(length)
        ]
        ramp = Image.new("L", (length, 1) if horizontal else (1, length))
        ramp.putdata(line)
        result = Image.composite(image, result, ramp.resize(size, Image.Resampling.NEAREST))
    return result


def _turn_hue(image: Image.Image, turn: float) -> Image.Image:
    """The image with every hue turned by `turn` of the colour wheel."""
    offset = round(turn * 256) % 256
    if not offset:
        return image
    hue, saturation, value = image.convert("HSV").split()
    hue = hue.point(lambda channel: (channel + offset) % 256)
    return Image.merge("HSV", (hue, saturation, value)).convert("RGB")


def _warp(image: Image.Image, strength: float, seed: int) -> Image.Image:
    """The image bent by a smooth random displacement: the same picture, drawn by a
    slightly different hand. The border stays in place."""
    cells = 8
    rng = random.Random(f"warp|{seed}")
    width, height = image.size
    cell_width, cell_height = width / cells, height / cells
    nodes: list[list[tuple[float, float]]] = []
    for row in range(cells + 1):
        line = []
        for column in range(cells + 1):
            x, y = column * cell_width, row * cell_height
            if 0 < column < cells:
                x += rng.uniform(-1, 1) * strength * cell_width * 1.2
            if 0 < row < cells:
                y += rng.uniform(-1, 1) * strength * cell_height * 1.2
            line.append((x, y))
        nodes.append(line)
    mesh = []
    for row in range(cells):
        for column in range(cells):
            box = (
                round(column * cell_width),
                round(row * cell_height),
                round((column + 1) * cell_width),
                round((row + 1) * cell_height),
            )
            upper_left, lower_left = nodes[row][column], nodes[row + 1][column]
            lower_right, upper_right = nodes[row + 1][column + 1], nodes[row][column + 1]
            quad = (*upper_left, *lower_left, *lower_right, *upper_right)
            mesh.append((box, quad))
    return image.transform(image.size, Image.Transform.MESH, mesh, Image.Resampling.BICUBIC)


def _grain(size: Size, seed: int) -> Image.Image:
    """Fine mid-grey noise (RGB), tiled from a small deterministic tile."""
    tile_side = 128
    noise = random.Random(f"grain|{seed}").randbytes(tile_side * tile_side)
    tile = Image.frombytes("L", (tile_side, tile_side), noise)
    tile = tile.point(lambda value: 93 + value * 70 // 255)
    tile = tile.resize((2 * tile_side, 2 * tile_side), Image.Resampling.BICUBIC)
    grain = Image.new("L", size)
    for top in range(0, size[1], tile.height):
        for left in range(0, size[0], tile.width):
            grain.paste(tile, (left, top))
    return Image.merge("RGB", (grain, grain, grain))


def main_colours(image: Image.Image, count: int) -> list[tuple[float, RGB]]:
    """The image's `count` main colours and the share of the image each covers, the
    largest first."""
    small = image.resize((64, 64), Image.Resampling.BOX)
    quantized = small.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    found = []
    for pixels, index in quantized.getcolors() or []:
        assert isinstance(index, int)  # a palette image's colours are indices
        rgb = (palette[3 * index], palette[3 * index + 1], palette[3 * index + 2])
        found.append((pixels / (small.width * small.height), rgb))
    return sorted(found, reverse=True)


def _colours_of(image: Image.Image, count: int) -> list[RGB]:
    """The image's main colours, darkest first."""
    colours = [rgb for _, rgb in main_colours(image, count)]
    return sorted(colours, key=lambda rgb: 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _edge_colour(image: Image.Image, box: tuple[int, int, int, int]) -> RGB:
    """The average colour of a box of the image."""
    pixel = image.crop(box).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return int(pixel[0]), int(pixel[1]), int(pixel[2])


def _new_content(size: Size, reference: Image.Image, seed: int, hue_shift: float) -> Image.Image:
    """Fresh scenery in the reference's colours and light: its top colour above, its
    bottom colour below, with glows, soft hills and sparks of its other colours."""
    rng = random.Random(f"content|{seed}")
    width, height = size
    colours = _colours_of(reference, 6)
    strip = max(1, reference.height // 8)
    top = _edge_colour(reference, (0, 0, reference.width, strip))
    bottom = _edge_colour(
        reference, (0, reference.height - strip, reference.width, reference.height)
    )
    image = art.gradient(size, [top, art.mix(top, bottom, 0.5), bottom], angle=rng.uniform(-8, 8))
    for _ in range(rng.randint(4, 8)):
        centre = (rng.uniform(0, width), rng.uniform(0, height))
        art.glow(
            image,
            centre,
            rng.uniform(0.06, 0.22) * min(size),
            rng.choice(colours[len(colours) // 2 :]),
            rng.uniform(0.3, 0.7),
        )
    draw = ImageDraw.Draw(image, "RGBA")
    for layer in range(rng.randint(1, 3)):
        base = height * rng.uniform(0.55, 0.9)
        amplitude = height * rng.uniform(0.03, 0.09)
        frequency, phase = rng.uniform(0.5, 2.5), rng.uniform(0, 6.3)
        outline = [(0.0, float(height))]
        for step in range(65):
            x = width * step / 64
            turns = frequency * step / 64 + phase
            wave = math.sin(math.tau * turns) + rng.uniform(-0.1, 0.1)
            outline.append((x, base - amplitude * wave))
        outline.append((float(width), float(height)))
        colour = art.mix(colours[min(layer, len(colours) - 1)], bottom, 0.35)
        draw.polygon(outline, fill=(*colour, 170 + 25 * layer))
    for _ in range(rng.randint(10, 30)):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.004, 0.012) * min(size)
        colour = art.mix(colours[-1], (255, 255, 255), 0.4)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(*colour, 150))
    return _turn_hue(image.filter(ImageFilter.GaussianBlur(1)), hue_shift)


def _edge_fill(source: Image.Image, size: Size, place: tuple[int, int]) -> Image.Image:
    """The source at `place` on a canvas of `size`, its edges carried on outwards: a
    landscape's sky stays sky and its ridges go on as bands."""
    canvas = Image.new("RGB", size)
    width, height = source.size
    left, top = place
    right, bottom = left + width, top + height
    # Each edge averaged over a thin strip, so that one star on it does not streak,
    # and softened along its length, so that its details do not either.
    strip = max(2, min(width, height) // 64)
    box = Image.Resampling.BOX
    soften = ImageFilter.GaussianBlur(max(1, min(width, height) // 100))
    edges = {
        "left": source.crop((0, 0, strip, height)).resize((1, height), box),
        "right": source.crop((width - strip, 0, width, height)).resize((1, height), box),
        "top": source.crop((0, 0, width, strip)).resize((width, 1), box),
        "bottom": source.crop((0, height - strip, width, height)).resize((width, 1), box),
    }
    edges = {side: edge.filter(soften) for side, edge in edges.items()}
    stretch = Image.Resampling.BILINEAR
    if left > 0:
        canvas.paste(edges["left"].resize((left, height), stretch), (0, top))
    if right < size[0]:
        canvas.paste(edges["right"].resize((size[0] - right, height), stretch), (right, top))
    if top > 0:
        canvas.paste(edges["top"].resize((width, top), stretch), (left, 0))
    if bottom < size[1]:
        canvas.paste(edges["bottom"].resize((width, size[1] - bottom), stretch), (left, bottom))
    corners = (
        ((0, 0, left, top), edges["top"], 0),
        ((right, 0, size[0], top), edges["top"], width - 1),
        ((0, bottom, left, size[1]), edges["bottom"], 0),
        ((right, bottom, size[0], size[1]), edges["bottom"], width - 1),
    )
    for (x0, y0, x1, y1), edge, column in corners:
        if x1 > x0 and y1 > y0:
            pixel = edge.getpixel((column, 0))
            assert isinstance(pixel, tuple)
            canvas.paste((int(pixel[0]), int(pixel[1]), int(pixel[2])), (x0, y0, x1, y1))
    canvas.paste(source, place)
    return canvas


def _bend(image: Image.Image, ramp: Image.Image, seed: int) -> Image.Image:
    """The image displaced by slow waves that grow with the ramp: bands carried out from
    an edge become new hills, dunes or clouds; where the ramp is 0 nothing moves."""
    rng = random.Random(f"bend|{seed}")
    width, height = image.size
    cells = 24
    waves = [
        (rng.uniform(0.5, 2.5), rng.uniform(0, math.tau), rng.uniform(0.04, 0.1)) for _ in range(3)
    ]

    def offset(position: float, weight: float, length: int, shift: int) -> float:
        return sum(
            weight * amplitude * length * math.sin(math.tau * frequency * position + phase + shift)
            for frequency, phase, amplitude in waves
        )

    nodes: list[list[tuple[float, float]]] = []
    for row in range(cells + 1):
        line = []
        for column in range(cells + 1):
            x, y = width * column / cells, height * row / cells
            level = ramp.getpixel((min(width - 1, round(x)), min(height - 1, round(y))))
            weight = float(level if isinstance(level, int | float) else 0) / 255
            # Read from inside the canvas only: outside it Pillow reads black.
            line.append(
                (
                    min(width - 1.0, max(0.0, x + offset(y / height, weight, width, 1))),
                    min(height - 1.0, max(0.0, y + offset(x / width, weight, height, 0))),
                )
            )
        nodes.append(line)
    mesh = []
    for row in range(cells):
        for column in range(cells):
            box = (
                round(width * column / cells),
                round(height * row / cells),
                round(width * (column + 1) / cells),
                round(height * (row + 1) / cells),
            )
            upper_left, lower_left = nodes[row][column], nodes[row + 1][column]
            lower_right, upper_right = nodes[row + 1][column + 1], nodes[row][column + 1]
            mesh.append((box, (*upper_left, *lower_left, *lower_right, *upper_right)))
    return image.transform(image.size, Image.Transform.MESH, mesh, Image.Resampling.BICUBIC)


def _details(
    image: Image.Image, source: Image.Image, place: tuple[int, int], seed: int
) -> Image.Image:
    """The image with new things in the extension around the source at `place`: echoes
    of the source's own shapes (a piece of it, lined up with where it came from), glows
    and specks in its light colours."""
    rng = random.Random(f"details|{seed}")
    width, height = image.size
    result = image.copy()
    margins = {
        "left": place[0],
        "right": width - place[0] - source.width,
        "top": place[1],
        "bottom": height - place[1] - source.height,
    }
    sides = [side for side, margin in margins.items() if margin > 8]
    for _ in range(rng.randint(1, 2) if sides else 0):
        side = rng.choice(sides)
        across = side in ("left", "right")
        margin = margins[side]
        echo_width = round(min(source.width, margin) * rng.uniform(0.6, 0.95))
        echo_height = round(min(source.height, margin) * rng.uniform(0.6, 0.95))
        if across:
            echo_height = round(source.height * rng.uniform(0.25, 0.5))
        else:
            echo_width = round(source.width * rng.uniform(0.25, 0.5))
        left = rng.randrange(0, max(1, source.width - echo_width))
        top = rng.randrange(0, max(1, source.height - echo_height))
        piece = source.crop((left, top, left + echo_width, top + echo_height))
        if side == "left":
            at = (rng.randrange(0, max(1, margin - echo_width)), place[1] + top)
        elif side == "right":
            start = width - margin
            at = (start + rng.randrange(0, max(1, margin - echo_width)), place[1] + top)
        elif side == "top":
            at = (place[0] + left, rng.randrange(0, max(1, margin - echo_height)))
        else:
            start = height - margin
            at = (place[0] + left, start + rng.randrange(0, max(1, margin - echo_height)))
        # An oval that fades out well inside the piece, so that no edge of it shows.
        mask = Image.new("L", piece.size, 0)
        inset_x, inset_y = piece.width * 0.18, piece.height * 0.18
        oval = (inset_x, inset_y, piece.width - inset_x, piece.height - inset_y)
        ImageDraw.Draw(mask).ellipse(oval, fill=235)
        mask = mask.filter(ImageFilter.GaussianBlur(min(piece.size) * 0.08))
        result.paste(piece, at, mask)
    light = _colours_of(source, 6)[-2:]
    for _ in range(rng.randint(1, 2)):
        centre = (rng.uniform(0, width), rng.uniform(0, height))
        art.glow(
            result, centre, rng.uniform(0.05, 0.15) * min(width, height), rng.choice(light), 0.4
        )
    draw = ImageDraw.Draw(result, "RGBA")
    for _ in range(rng.randint(12, 40)):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.6, 1.8)
        colour = art.mix(rng.choice(light), (255, 255, 255), 0.5)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(*colour, 170))
    return result


def _distance_ramp(size: Size, box: tuple[int, int, int, int]) -> Image.Image:
    """0 inside the box and at its border, rising to 255 at the canvas's edges."""

    def line(length: int, start: int, end: int) -> list[int]:
        values = []
        for step in range(length):
            if step < start:
                values.append(round(255 * (start - step) / start))
            elif step >= end:
                values.append(round(255 * (step - end + 1) / (length - end)))
            else:
                values.append(0)
        return values

    horizontal = Image.new("L", (size[0], 1))
    horizontal.putdata(line(size[0], box[0], box[2]))
    vertical = Image.new("L", (1, size[1]))
    vertical.putdata(line(size[1], box[1], box[3]))
    return ImageChops.lighter(
        horizontal.resize(size, Image.Resampling.NEAREST),
        vertical.resize(size, Image.Resampling.NEAREST),
    )


def _extend(
    source: Image.Image, size: Size, place: tuple[int, int], seed: int, hue_shift: float
) -> Image.Image:
    """A canvas of `size` with the source untouched at `place`, and around it new content
    that continues the source from its edges and changes more the further it goes."""
    box = (place[0], place[1], place[0] + source.width, place[1] + source.height)
    ramp = _distance_ramp(size, box)
    continued = _bend(_edge_fill(source, size, place), ramp, seed)
    fresh = _turn_hue(_details(continued, source, place, seed), hue_shift)
    result = Image.composite(fresh, continued, ramp.point(lambda value: min(255, value * 4)))
    result.paste(source, place)
    return result
