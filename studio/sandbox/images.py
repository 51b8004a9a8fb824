"""The sandbox's pictures as the provider serves them: PNGs at expiring signed URLs,
like the provider's CDN links. What a picture is comes from pictures.py (how to make
it) and recipes.py (which recipe a task's result is); this module names the files.

A grid task serves ``grid``, its quadrants ``1``-``4`` and a blurred ``preview`` of the
grid while it is processing; an upscale serves ``image`` and a ``preview`` of it.
"""

import io
import threading
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from PIL import Image, ImageFilter

from studio.sandbox import pictures
from studio.sandbox.art import Art
from studio.sandbox.pictures import Grid, Picture

GRID = "grid"
PREVIEW = "preview"
IMAGE = "image"
QUADRANTS = ("1", "2", "3", "4")
GRID_NAMES = (GRID, PREVIEW, *QUADRANTS)
SINGLE_NAMES = (IMAGE, PREVIEW)
SIGNING_SALT = "studio.sandbox.images"
# Twice as fast as zlib's default for a little more size: the sandbox is local.
PNG_COMPRESS_LEVEL = 3


def names_for(result: Grid | Picture) -> tuple[str, ...]:
    return GRID_NAMES if isinstance(result, Grid) else SINGLE_NAMES


def imagine_grid(drawing: Art) -> Grid:
    """The four drawn quadrants of an imagine."""
    first, second, third, fourth = (
        pictures.Drawn(drawing.sketch(index), pictures.GRID_LONG_SIDE) for index in range(4)
    )
    return Grid((first, second, third, fourth))


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


# One result's images are drawn one at a time (a lock per stripe of results), so that a
# fetch of an image being drawn ahead waits for it instead of drawing it again.
_DRAWING = tuple(threading.Lock() for _ in range(32))


def render_png(result: Grid | Picture, name: str) -> bytes:
    """PNG bytes of one of a result's images (see names_for)."""
    if name not in names_for(result):
        raise ValueError(f"no image named {name!r}")
    with _DRAWING[hash(result) % len(_DRAWING)]:
        return _png(result, name)


@lru_cache(maxsize=settings.SANDBOX_IMAGE_CACHE)
def _png(result: Grid | Picture, name: str) -> bytes:
    if name == PREVIEW:
        image = _preview(result)
    elif isinstance(result, Grid):
        image = (
            _grid(result)
            if name == GRID
            else pictures.render(result.quadrants[QUADRANTS.index(name)])
        )
    else:
        image = pictures.render(result)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def clear_cache() -> None:
    """Forget every rendered image (tests use it to prove rendering is deterministic)."""
    for cached in (_png, _grid, pictures.render):
        cached.cache_clear()


@lru_cache(maxsize=2)
def _grid(grid: Grid) -> Image.Image:
    return pictures.render_grid(grid)


def _preview(result: Grid | Picture) -> Image.Image:
    image = _grid(result) if isinstance(result, Grid) else pictures.render(result)
    small = image.resize(
        (max(1, image.width // 32), max(1, image.height // 32)), Image.Resampling.BILINEAR
    )
    return small.resize(image.size, Image.Resampling.NEAREST).filter(ImageFilter.GaussianBlur(6))
