"""Image files, good and bad, made with Pillow at test time."""

import io
import random
import struct
import zlib

from PIL import Image


def image_bytes(
    image_format: str, *, size: tuple[int, int] = (512, 384), color: str = "#5b5bd6"
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, image_format)
    return buffer.getvalue()


def noisy_png(*, size: tuple[int, int] = (300, 300), seed: int = 1) -> bytes:
    """A PNG that does not compress to almost nothing, so cutting it loses pixels."""
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buffer, "PNG")
    return buffer.getvalue()


def animated_gif(*, size: tuple[int, int] = (320, 300), frames: int = 3) -> bytes:
    images = [Image.new("P", size, index * 40) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


def animated_webp(*, size: tuple[int, int] = (320, 300), frames: int = 3) -> bytes:
    colors = ["#c00", "#0c0", "#00c", "#cc0"]
    images = [Image.new("RGB", size, colors[index % 4]) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "WEBP", save_all=True, append_images=images[1:], duration=100)
    return buffer.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A small valid PNG whose header (IHDR) is rewritten to claim width × height."""
    data = bytearray(image_bytes("PNG", size=(300, 300)))
    # Signature (8 bytes), then IHDR: length (4), type (4), width (4), height (4), …
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512">
  <rect width="512" height="512" fill="#5b5bd6"/>
</svg>
"""

# The start of an iPhone photo: an ISO box "ftyp" with the brand "heic".
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200
