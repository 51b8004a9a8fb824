"""Clips and cut-outs behind a share link: a clip plays on the public page, its video
served with HTTP Range under the link's own rules (live, and showing that clip); a
cut-out shows on the checkerboard and downloads as PNG."""

import io
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from studio.generation.models import Job, ResultImage
from tests.factories import make_clip_job, make_cutout_job, make_mp4
from tests.sharing.helpers import make_grid, make_share


@pytest.fixture
def clips_job(project: Any, bob: Any) -> Job:
    return make_clip_job(project=project, user=bob, prompt="a kite over the dunes")


@pytest.fixture
def clip(clips_job: Job) -> ResultImage:
    return clips_job.clips[0]


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_a_shared_clip_plays_on_its_page(
    client: Client, project: Any, alice: Any, clip: ResultImage
) -> None:
    share = make_share(project=project, user=alice, image=clip)

    html = client.get(f"/s/{share.token}/").content.decode()

    video = re.search(r"<video [^>]*>\s*<source [^>]*>", html)
    assert video is not None
    assert "controls autoplay muted loop playsinline" in video[0]
    assert f'poster="/s/{share.token}/images/{clip.pk}/thumb/"' in video[0]
    assert f'src="/s/{share.token}/images/{clip.pk}/video/" type="video/mp4"' in video[0]
    assert re.search(
        rf'href="/s/{share.token}/images/{clip.pk}/video/" download="launch-{clip.pk}\.mp4"', html
    )
    assert "<dt>Length</dt><dd>0:03</dd>" in html


def test_a_shared_clip_is_served_a_range_at_a_time(
    client: Client, project: Any, alice: Any, clip: ResultImage
) -> None:
    share = make_share(project=project, user=alice, image=clip)
    size = len(make_mp4())

    response = client.get(
        f"/s/{share.token}/images/{clip.pk}/video/", headers={"Range": "bytes=10-2009"}
    )

    assert response.status_code == 206
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Range"] == f"bytes 10-2009/{size}"
    assert response["Cache-Control"] == "private, no-cache"
    assert response["Referrer-Policy"] == "no-referrer"
    assert body(response) == make_mp4()[10:2010]
    whole = client.get(f"/s/{share.token}/images/{clip.pk}/video-preview/")
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    with clip.video_preview.open("rb") as preview:
        assert body(whole) == preview.read()


def test_a_closed_link_or_another_images_link_plays_nothing(
    client: Client, project: Any, alice: Any, bob: Any, clip: ResultImage
) -> None:
    other = make_grid(project=project, user=bob).images.get(index=1)
    one_image_link = make_share(project=project, user=alice, image=other)
    revoked = make_share(project=project, user=alice, revoked_at=timezone.now())

    for token in (one_image_link.token, revoked.token, "no-such-token"):
        for size in ("video", "video-preview"):
            response = client.get(f"/s/{token}/images/{clip.pk}/{size}/")
            assert response.status_code == 404, (token, size)


def test_a_still_behind_a_link_has_no_video(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    still = make_grid(project=project, user=bob).images.get(index=1)
    share = make_share(project=project, user=alice)

    assert client.get(f"/s/{share.token}/images/{still.pk}/video/").status_code == 404


def test_the_shared_gallery_shows_clip_tiles_that_play_on_hover(
    client: Client, project: Any, alice: Any, clips_job: Job
) -> None:
    share = make_share(project=project, user=alice)
    clip = clips_job.clips[0]

    html = client.get(f"/s/{share.token}/").content.decode()

    assert html.count("data-clip") == 4
    assert f'<source src="/s/{share.token}/images/{clip.pk}/video-preview/"' in html
    assert html.count('class="clip-badge"') == 4


def test_a_shared_cutout_shows_on_the_checkerboard_and_is_a_png(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    cutout = make_cutout_job(project=project, user=bob).images.get()
    share = make_share(project=project, user=alice, image=cutout)

    html = client.get(f"/s/{share.token}/").content.decode()
    response = client.get(f"/s/{share.token}/images/{cutout.pk}/full/")

    assert f'<img class="checker" src="/s/{share.token}/images/{cutout.pk}/full/"' in html
    assert f'download="launch-{cutout.pk}.png"' in html
    assert response["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(body(response))) as served:
        assert served.mode == "RGBA" and served.getpixel((0, 0))[3] == 0
