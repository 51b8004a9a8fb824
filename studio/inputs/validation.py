"""Is this an image Studio can give Midjourney? One function answers, or says why not.

Studio's limits (DESIGN.md): JPEG, PNG, GIF or WebP; at most INPUT_IMAGE_MAX_BYTES; each
side from INPUT_IMAGE_MIN_SIDE to INPUT_IMAGE_MAX_SIDE pixels. The bytes are kept as
they came: nothing is stripped or re-encoded.

Files come from strangers, so the checks run cheapest first and pixels are decoded
last, only once the header's dimensions are within the limits: a decompression bomb (a
tiny file whose header claims 60000 × 60000 px) is refused before it costs memory.
"""

import io
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from PIL import Image

from studio.inputs.errors import InputImageError, InputImageTooLarge, describe_size

# Pillow's names for the formats Studio accepts; only their decoders ever run.
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
ACCEPTED_LIST = "JPEG, PNG, GIF or WebP"

# How many leading bytes are enough to recognise a format.
HEAD_BYTES = 1024
# The DIB header sizes a real BMP file carries after its 14-byte file header.
BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str  # one of ACCEPTED_FORMATS
    content_type: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def validate_image(data: bytes | IO[bytes], *, name: str = "") -> ImageInfo:
    """The image's dimensions and format, or `InputImageError` saying what is wrong.

    `data` is the file's bytes or a binary file (read from its start); `name` is the
    file's name as the user knows it, used in messages only.
    """
    if not isinstance(data, bytes):
        data = read_limited(data)
    check_size(len(data))

    other_format = sniff_refused_format(data[:HEAD_BYTES])
    if other_format:
        raise InputImageError(
            f"{other_format} images are not accepted; use {ACCEPTED_LIST} instead."
        )

    label = f"“{name}”" if name else "The file"
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            width, height = image.size
            # A JPEG with a second picture in it (cameras' MPO) is still a JPEG file.
            image_format = "JPEG" if image.format == "MPO" else str(image.format)
    except Image.DecompressionBombError:
        raise InputImageError(
            f"The image claims to be far larger than {max_side()} × {max_side()} px, "
            "so Studio refused it without opening it."
        ) from None
    except Exception:  # Pillow raises many kinds of errors on hostile input.
        raise InputImageError(
            f"{label} is not an image Studio can read ({ACCEPTED_LIST}), or it is damaged."
        ) from None

    check_dimensions(width, height)
    # Only now, with at most max_side² pixels, is decoding bounded: it proves that the
    # file is whole (a truncated upload fails here) and readable by the provider.
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            image.verify()  # chunk structure and checksums (PNG)
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            image.load()  # the pixels of the first frame
    except Exception:
        raise InputImageError(
            f"{label} is damaged or incomplete (perhaps cut off while uploading)."
        ) from None

    return ImageInfo(
        width=width,
        height=height,
        format=image_format,
        content_type=CONTENT_TYPES[image_format],
    )


def max_bytes() -> int:
    return int(settings.INPUT_IMAGE_MAX_BYTES)


def max_side() -> int:
    return int(settings.INPUT_IMAGE_MAX_SIDE)


def min_side() -> int:
    return int(settings.INPUT_IMAGE_MIN_SIDE)


def check_size(size: int) -> None:
    """Refuse an empty file or one over the byte limit."""
    if size == 0:
        raise InputImageError("The file is empty.")
    if size > max_bytes():
        raise InputImageTooLarge(
            f"The image is {describe_size(size, round_up=True)}; "
            f"the limit is {describe_size(max_bytes())}."
        )


def check_dimensions(width: int, height: int) -> None:
    """Refuse an image with a side outside Studio's limits, naming the side."""
    size = f"{width} × {height} px"
    too_small = [
        side for side, value in (("width", width), ("height", height)) if value < min_side()
    ]
    if too_small:
        raise InputImageError(
            f"The image is {size}; its {' and '.join(too_small)} must be at least {min_side()} px."
        )
    too_large = [
        side for side, value in (("width", width), ("height", height)) if value > max_side()
    ]
    if too_large:
        raise InputImageError(
            f"The image is {size}; its {' and '.join(too_large)} must be at most {max_side()} px."
        )


def read_limited(file: IO[bytes]) -> bytes:
    """A binary file's bytes from its start, refusing without reading past the limit."""
    size = getattr(file, "size", None)  # Django's uploaded files know their size.
    try:
        if not isinstance(size, int):
            size = file.seek(0, io.SEEK_END)
        file.seek(0)
    except (AttributeError, OSError, ValueError):
        pass  # a stream that cannot seek is read from where it is, up to the limit
    if isinstance(size, int):
        check_size(size)
    data = file.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise InputImageTooLarge(
            f"The image is larger than the {describe_size(max_bytes())} limit."
        )
    return data


def sniff_refused_format(head: bytes) -> str | None:
    """The name of a well-known image format Studio refuses, from the file's first bytes.

    These are recognised by their signatures alone, so that the user learns what they
    sent (a HEIC photo from a phone, an SVG drawing, …) without Studio ever running a
    parser for a format it does not accept.
    """
    if (
        head[:2] == b"BM"
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in BMP_HEADER_SIZES
    ):
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in HEIF_BRANDS:
            return "HEIC"
        if brand in (b"avif", b"avis"):
            return "AVIF"
        return None  # a video or another ISO container: "not an image" says enough
    if head.startswith(b"%PDF-"):
        return "PDF"
    if head.startswith(b"8BPS"):
        return "Photoshop (PSD)"
    if head.startswith((b"\xff\x4f\xff\x51", b"\x00\x00\x00\x0cjP  \r\n\x87\n")):
        return "JPEG 2000"
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "JPEG XL"
    icon_count = int.from_bytes(head[4:6], "little")
    if head[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00") and 0 < icon_count < 256:
        return "ICO"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<") and b"<svg" in text:
        return "SVG"
    return None
