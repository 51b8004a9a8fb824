"""What the worker keeps of a cut-out and of a clip: a remove-background result stays a
PNG with its transparency (its thumbnails too); a clip is kept as it came with a poster
and a small preview, and a download that is not a video stores nothing."""

import io
from typing import Any

import pytest
from PIL import Image

from studio.generation import services
from studio.generation.models import ResultImage
from studio.media.video import VideoError, clip_facts
from studio.sandbox import videos
from tests.factories import make_art, make_job
from tests.sandbox.helpers import png_bytes

pytestmark = pytest.mark.django_db


def cut_out_png() -> bytes:
    image = Image.new("RGBA", (600, 400), (0, 0, 0, 0))
    image.paste((200, 60, 40, 255), (150, 100, 450, 300))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_cut_out_keeps_its_transparency_in_the_file_and_the_thumbnails(
    project: Any, bob: Any
) -> None:
    job = make_job(project=project, user=bob, operation="remove_bg", status="completed")

    services._store_image(job, ResultImage.GRID, cut_out_png())

    stored = job.images.get()
    assert stored.has_alpha and stored.file.name.endswith(".png")
    for field in (stored.file, stored.thumbnail, stored.thumbnail_small):
        with Image.open(field.path) as image:
            rgba = image.convert("RGBA")
            assert rgba.getpixel((0, 0))[3] == 0, field.name  # a corner: see-through
            middle = (rgba.width // 2, rgba.height // 2)
            assert rgba.getpixel(middle)[3] == 255, field.name  # the subject: solid


def small_clip(tmp_path: Any) -> bytes:
    art = make_art(("#264653", "#2a9d8f", "#e9c46a", "#e76f51"), size=640)
    clip = videos.Clip(png_bytes(art), (426, 240), (videos.first_segment(0, "low"),))
    path = tmp_path / "clip.mp4"
    videos.write_mp4(clip, path)
    return path.read_bytes()


def test_a_clip_is_kept_with_its_poster_and_preview(project: Any, bob: Any, tmp_path: Any) -> None:
    job = make_job(project=project, user=bob, operation="animate", status="completed")
    data = small_clip(tmp_path)

    services._store_clip(job, 2, data)

    clip = job.images.get()
    assert clip.is_clip and clip.index == 2
    assert clip.video.read() == data
    assert (clip.width, clip.height) == (426, 240) and clip.duration == pytest.approx(5, abs=0.1)
    assert clip_facts(clip.video_preview.path).width <= 480
    with Image.open(clip.thumbnail.path) as poster:
        assert poster.format == "WEBP" and poster.size == (426, 240)


def test_a_download_that_is_no_video_stores_nothing(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, operation="animate", status="completed")

    with pytest.raises(VideoError):
        services._store_clip(job, 1, b"<html>not found</html>")

    assert not ResultImage.objects.exists()
