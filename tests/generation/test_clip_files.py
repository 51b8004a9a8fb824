"""A clip's videos and a cut-out's PNG, served to the team: the whole file or the byte
range a browser asks for when it seeks, behind the same access checks as images."""

import io
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from studio.generation.models import Job, ResultImage
from studio.generation.services import _store_image
from tests.factories import (
    make_clip_job,
    make_cutout_job,
    make_job,
    make_mp4,
    make_result_image,
    make_rgba_png,
)


@pytest.fixture
def clip(project: Any, bob: Any) -> ResultImage:
    return make_clip_job(project=project, user=bob).images.get(index=2)


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_a_member_gets_the_whole_clip_and_is_told_ranges_are_welcome(
    client: Client, clip: ResultImage, alice: Any
) -> None:
    client.force_login(alice)

    response = client.get(f"/images/{clip.pk}/video/")

    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"
    assert body(response) == make_mp4()


def test_a_range_request_gets_exactly_the_bytes_asked_for(
    client: Client, clip: ResultImage, bob: Any
) -> None:
    client.force_login(bob)
    size = len(make_mp4())

    response = client.get(f"/images/{clip.pk}/video/", headers={"Range": "bytes=100-1099"})

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-1099/{size}"
    assert response["Content-Length"] == "1000"
    assert body(response) == make_mp4()[100:1100]


def test_the_preview_answers_ranges_too(client: Client, clip: ResultImage, bob: Any) -> None:
    client.force_login(bob)
    with clip.video_preview.open("rb") as stored:
        preview = stored.read()

    response = client.get(f"/images/{clip.pk}/video-preview/", headers={"Range": "bytes=-500"})

    assert response.status_code == 206
    assert response["Content-Type"] == "video/mp4"
    size = len(preview)
    assert response["Content-Range"] == f"bytes {size - 500}-{size - 1}/{size}"
    assert body(response) == preview[-500:]
    assert preview != make_mp4()  # the small one, not the clip itself


def test_a_range_past_the_end_is_refused_with_416(
    client: Client, clip: ResultImage, bob: Any
) -> None:
    client.force_login(bob)
    size = len(make_mp4())

    response = client.get(f"/images/{clip.pk}/video/", headers={"Range": f"bytes={size}-"})

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


def test_asked_to_download_the_clip_comes_as_an_mp4_attachment(
    client: Client, clip: ResultImage, bob: Any
) -> None:
    client.force_login(bob)

    response = client.get(f"/images/{clip.pk}/video/?download=1")

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{clip.job_id}-{clip.index}.mp4"'
    )
    assert body(response) == make_mp4()


def test_a_still_image_has_no_video(client: Client, project: Any, bob: Any) -> None:
    still = make_result_image(project=project, user=bob)
    client.force_login(bob)

    assert client.get(f"/images/{still.pk}/video/").status_code == 404
    assert client.get(f"/images/{still.pk}/video-preview/").status_code == 404


@pytest.mark.parametrize("suffix", ["video/", "video-preview/"])
def test_outsiders_get_what_they_get_for_images(
    client: Client, clip: ResultImage, charlie: Any, suffix: str
) -> None:
    image_answer = client.get(f"/images/{clip.pk}/full/")
    video_answer = client.get(f"/images/{clip.pk}/{suffix}", headers={"Range": "bytes=0-9"})
    assert video_answer.status_code == image_answer.status_code == 302  # to log in
    assert video_answer["Location"].startswith("/accounts/login/")

    client.force_login(charlie)
    image_answer = client.get(f"/images/{clip.pk}/full/")
    video_answer = client.get(f"/images/{clip.pk}/{suffix}", headers={"Range": "bytes=0-9"})
    assert video_answer.status_code == image_answer.status_code == 404


def test_a_clips_full_image_is_its_poster_frame(
    client: Client, clip: ResultImage, bob: Any
) -> None:
    client.force_login(bob)

    response = client.get(f"/images/{clip.pk}/full/")

    with Image.open(io.BytesIO(body(response))) as poster:
        assert poster.size == (320, 180)


def cutout_of(job: Job) -> ResultImage:
    return job.images.get(index=ResultImage.GRID)


def test_a_cutout_is_served_as_png_with_its_transparency(
    client: Client, project: Any, bob: Any
) -> None:
    cutout = cutout_of(make_cutout_job(project=project, user=bob))
    client.force_login(bob)

    response = client.get(f"/images/{cutout.pk}/full/")

    assert response["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(body(response))) as served:
        assert served.format == "PNG" and served.mode == "RGBA"
        assert served.getpixel((0, 0))[3] == 0  # the corner is see-through
        assert served.getpixel((128, 128))[3] == 255


def test_a_cutout_downloads_as_png(client: Client, project: Any, bob: Any) -> None:
    cutout = cutout_of(make_cutout_job(project=project, user=bob))
    client.force_login(bob)

    response = client.get(f"/images/{cutout.pk}/full/?download=1")

    assert response["Content-Disposition"] == (f'attachment; filename="{cutout.job_id}-0.png"')
    assert body(response) == make_rgba_png()


def test_a_cutout_the_provider_sent_as_webp_is_still_served_as_png(
    client: Client, project: Any, bob: Any
) -> None:
    job = make_job(project=project, user=bob, operation="remove_bg", status="completed")
    buffer = io.BytesIO()
    Image.open(io.BytesIO(make_rgba_png())).save(buffer, "WEBP", lossless=True)
    _store_image(job, ResultImage.GRID, buffer.getvalue())
    client.force_login(bob)

    response = client.get(f"/images/{cutout_of(job).pk}/full/")

    assert response["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(body(response))) as served:
        assert served.format == "PNG" and served.getpixel((0, 0))[3] == 0


def test_a_cutouts_thumbnails_keep_its_transparency(project: Any, bob: Any) -> None:
    cutout = cutout_of(make_cutout_job(project=project, user=bob))

    for field in (cutout.thumbnail, cutout.thumbnail_small):
        with field.open("rb") as stored, Image.open(stored) as thumbnail:
            assert thumbnail.mode == "RGBA"
            assert thumbnail.getpixel((0, 0))[3] == 0
