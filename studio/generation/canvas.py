"""An edit on a canvas: the image placed and scaled on a larger canvas, the areas to
repaint painted in white on a mask of the canvas's size, and a prompt.

Made in the browser by the canvas editor (static/studio/canvas.js); checked here before
any job or hold is made. The provider gets the canvas's size, where the image sits
(`imgPos`) and the mask as a link (LegNext: `edit` / `upload-paint`).
"""

import base64
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

# LegNext's mask sizes run from 500 to 4096 px a side.
CANVAS_MIN, CANVAS_MAX = 500, 4096


class CanvasRefused(ValueError):
    """The canvas, placement or mask cannot make an edit; the message is for people."""


@dataclass(frozen=True)
class CanvasEdit:
    width: int
    height: int
    # Where the image sits on the canvas, at what size (px of the canvas).
    x: int
    y: int
    placed_width: int
    placed_height: int
    mask: str  # base64 PNG of the canvas's size, white = repaint

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> "CanvasEdit":
        """From the editor's form: `canvas` and `placed` as JSON, `mask` a PNG data URL."""
        try:
            canvas = json.loads(str(fields.get("canvas") or ""))
            placed = json.loads(str(fields.get("placed") or ""))
            width, height = int(canvas["width"]), int(canvas["height"])
            x, y = int(placed["x"]), int(placed["y"])
            placed_width, placed_height = int(placed["width"]), int(placed["height"])
        except (ValueError, TypeError, KeyError):
            raise CanvasRefused("The canvas could not be read; place the image again.") from None
        for side in (width, height):
            if not CANVAS_MIN <= side <= CANVAS_MAX:
                raise CanvasRefused(
                    f"The canvas must be {CANVAS_MIN} to {CANVAS_MAX} px a side; "
                    f"it is {width}×{height}."
                )
        if placed_width < 1 or placed_height < 1:
            raise CanvasRefused("The image has no size on the canvas; place it again.")
        if x >= width or y >= height or x + placed_width <= 0 or y + placed_height <= 0:
            raise CanvasRefused("The image is off the canvas; drag it back onto it.")
        mask = mask_of(str(fields.get("mask") or ""), size=(width, height))
        return cls(width, height, x, y, placed_width, placed_height, mask)

    def parameters(self) -> dict[str, Any]:
        return {
            "canvas": {"width": self.width, "height": self.height},
            "placed": {
                "width": self.placed_width,
                "height": self.placed_height,
                "x": self.x,
                "y": self.y,
            },
            "mask": self.mask,
        }


def read_mask(drawn: str) -> tuple[str, tuple[int, int], bool]:
    """A mask drawn in the browser (a PNG, as a data URL or base64): its base64, its size
    and whether anything is painted (white = repaint). ValueError if it is no PNG."""
    encoded = drawn.split(",", 1)[1] if drawn.startswith("data:") else drawn
    try:
        raw = base64.b64decode(encoded, validate=True)
        with Image.open(io.BytesIO(raw)) as image:
            if image.format != "PNG":
                raise ValueError("not a PNG")
            brightest = image.convert("L").getextrema()[1]
            return encoded, image.size, isinstance(brightest, (int, float)) and brightest >= 128
    except OSError as exc:
        raise ValueError(str(exc)) from None


def scaled_mask(drawn: str, size: tuple[int, int]) -> str:
    """A mask (base64 PNG or data URL) at `size`, as base64 PNG: white stays white, with
    no grey edges. ValueError if it is no PNG."""
    encoded, mask_size, _painted = read_mask(drawn)
    if mask_size == size:
        return encoded
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
        resized = image.convert("L").resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    resized.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def mask_of(drawn: str, *, size: tuple[int, int]) -> str:
    """The painted mask as base64 PNG, checked: a PNG of the canvas's size with some white."""
    if not drawn:
        raise CanvasRefused("Paint the areas to repaint first.")
    try:
        encoded, mask_size, painted = read_mask(drawn)
    except ValueError:
        raise CanvasRefused("The painted areas could not be read; paint them again.") from None
    if mask_size != size:
        raise CanvasRefused(
            f"The painted areas are {mask_size[0]}×{mask_size[1]} px but the canvas is "
            f"{size[0]}×{size[1]} px; paint them again."
        )
    if not painted:
        raise CanvasRefused("Nothing is painted: paint over the parts to repaint.")
    return encoded
