import io
import tracemalloc
from typing import Any

import pytest
from PIL import Image, ImageFile

from studio.inputs.errors import InputImageError, InputImageTooLarge
from studio.inputs.validation import validate_image
from tests.inputs.images import (
    HEIC,
    SVG,
    animated_gif,
    animated_webp,
    image_bytes,
    noisy_png,
    png_claiming_size,
)


def refusal(data: bytes, **kwargs: Any) -> str:
    with pytest.raises(InputImageError) as caught:
        validate_image(data, **kwargs)
    return caught.value.message


@pytest.mark.parametrize(
    ("image_format", "content_type"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
    ],
)
def test_it_accepts_the_four_formats_midjourney_takes(image_format: str, content_type: str) -> None:
    info = validate_image(image_bytes(image_format, size=(640, 480)))

    assert (info.width, info.height) == (640, 480)
    assert info.format == image_format
    assert info.content_type == content_type


def test_it_accepts_an_animated_gif_by_its_first_frame() -> None:
    info = validate_image(animated_gif(size=(320, 300), frames=4))

    assert (info.format, info.width, info.height) == ("GIF", 320, 300)


def test_it_accepts_an_animated_webp() -> None:
    info = validate_image(animated_webp(size=(400, 260)))

    assert (info.format, info.width, info.height) == ("WEBP", 400, 260)


def test_it_accepts_the_smallest_and_largest_sides_allowed() -> None:
    assert validate_image(image_bytes("PNG", size=(256, 4096))).height == 4096


def test_it_reads_a_file_object_from_its_start() -> None:
    stream = io.BytesIO(image_bytes("JPEG"))
    stream.seek(10)

    assert validate_image(stream).format == "JPEG"


def test_it_refuses_an_empty_file() -> None:
    assert refusal(b"") == "The file is empty."


def test_it_refuses_a_text_file_named_like_a_png() -> None:
    message = refusal(b"just some notes, not a picture\n" * 20, name="notes.png")

    assert message == "“notes.png” is not an image Studio can read (JPEG, PNG, GIF or WebP), " + (
        "or it is damaged."
    )


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (image_bytes("BMP"), "BMP"),
        (image_bytes("TIFF"), "TIFF"),
        (SVG, "SVG"),
        (HEIC, "HEIC"),
        (b"%PDF-1.7\n" + b"0" * 100, "PDF"),
    ],
    ids=["bmp", "tiff", "svg", "heic", "pdf"],
)
def test_it_refuses_other_formats_by_name(data: bytes, name: str) -> None:
    assert refusal(data) == f"{name} images are not accepted; use JPEG, PNG, GIF or WebP instead."


def test_it_refuses_a_truncated_png() -> None:
    data = noisy_png()

    message = refusal(data[: len(data) // 2], name="cut.png")

    assert message == "“cut.png” is damaged or incomplete (perhaps cut off while uploading)."


def test_it_refuses_a_truncated_jpeg() -> None:
    data = image_bytes("JPEG", size=(600, 600))

    assert "damaged or incomplete" in refusal(data[: len(data) // 3])


def test_it_refuses_an_image_with_a_side_under_256_px_and_says_which() -> None:
    message = refusal(image_bytes("PNG", size=(255, 512)))

    assert message == "The image is 255 × 512 px; its width must be at least 256 px."


def test_it_refuses_an_image_with_a_side_over_4096_px_and_says_which() -> None:
    message = refusal(image_bytes("PNG", size=(300, 4097)))

    assert message == "The image is 300 × 4097 px; its height must be at most 4096 px."


def test_it_refuses_a_file_over_the_byte_limit_saying_both_sizes(settings: Any) -> None:
    settings.INPUT_IMAGE_MAX_BYTES = 25 * 1024 * 1024
    data = b"\x89PNG" + b"\x00" * (32_715_571 - 4)

    with pytest.raises(InputImageTooLarge) as caught:
        validate_image(data)

    assert caught.value.message == "The image is 31.2 MB; the limit is 25 MB."
    assert caught.value.status_code == 413


def test_a_file_one_byte_over_the_limit_does_not_read_as_the_limit(settings: Any) -> None:
    settings.INPUT_IMAGE_MAX_BYTES = 2048

    assert refusal(image_bytes("BMP")) == "The image is 576.1 KB; the limit is 2 KB."


def test_it_refuses_an_oversized_file_object_without_reading_it_all(settings: Any) -> None:
    settings.INPUT_IMAGE_MAX_BYTES = 1000
    stream = io.BytesIO(b"\xff" * 5000)

    with pytest.raises(InputImageTooLarge):
        validate_image(stream)
    assert stream.tell() == 0


@pytest.fixture
def pixels_never_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse_to_load(self: Any) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse_to_load)


def test_it_refuses_a_decompression_bomb_from_its_header_with_bounded_memory(
    pixels_never_decoded: None,
) -> None:
    bomb = png_claiming_size(60_000, 60_000)  # 3.6 gigapixels, 10 GB decoded
    limit_before = Image.MAX_IMAGE_PIXELS

    tracemalloc.start()
    try:
        message = refusal(bomb)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert message == (
        "The image claims to be far larger than 4096 × 4096 px, "
        "so Studio refused it without opening it."
    )
    assert peak < 5 * 1024 * 1024
    assert Image.MAX_IMAGE_PIXELS == limit_before


def test_it_refuses_a_header_over_its_own_limit_before_decoding_pixels(
    pixels_never_decoded: None,
) -> None:
    # Under Pillow's global bomb limit, over Studio's: Studio's own check must stop it.
    message = refusal(png_claiming_size(5000, 5000))

    assert message == "The image is 5000 × 5000 px; its width and height must be at most 4096 px."


def test_it_keeps_pillows_global_pixel_limit_as_it_was() -> None:
    limit_before = Image.MAX_IMAGE_PIXELS

    validate_image(image_bytes("PNG"))
    refusal(png_claiming_size(60_000, 60_000))

    assert Image.MAX_IMAGE_PIXELS == limit_before
