"""Clips and cut-outs in the gallery: the Kind filter, a clip's tile (its poster, a video
badge with its length, its preview on hover), the lightbox that plays it, and a ZIP that
holds clips as .mp4 and cut-outs as .png."""

import csv
import io
import re
import zipfile
from typing import Any

import pytest
from django.test import Client

from studio.generation.models import Job, ResultImage
from tests.factories import make_clip_job, make_cutout_job, make_mp4, make_rgba_png
from tests.gallery.conftest import HX, gallery_url, make_grid


@pytest.fixture
def stills(project: Any, bob: Any) -> list[ResultImage]:
    return make_grid(project=project, user=bob, prompt="a quiet harbour", files=True)


@pytest.fixture
def clips_job(project: Any, bob: Any, stills: list[ResultImage]) -> Job:
    return make_clip_job(project=project, user=bob, prompt="the harbour at dawn, moving")


@pytest.fixture
def cutout(project: Any, bob: Any, clips_job: Job) -> ResultImage:
    job = make_cutout_job(project=project, user=bob)
    return job.images.get()


def shown(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'<figure class="tile[^"]*" id="tile-(\d+)"', html)}


def test_the_kind_filter_shows_only_clips_or_only_stills(
    client: Client,
    project: Any,
    bob: Any,
    stills: list[ResultImage],
    clips_job: Job,
    cutout: ResultImage,
) -> None:
    client.force_login(bob)
    clip_ids = {clip.pk for clip in clips_job.clips}
    still_ids = {still.pk for still in stills} | {cutout.pk}

    everything = client.get(gallery_url(project)).content.decode()
    videos = client.get(gallery_url(project, "?kind=videos")).content.decode()
    images = client.get(gallery_url(project, "?kind=images")).content.decode()

    assert shown(everything) == clip_ids | still_ids
    assert shown(videos) == clip_ids
    assert shown(images) == still_ids


def test_the_kind_is_kept_in_the_url_and_checked_in_the_form(
    client: Client, project: Any, bob: Any, clips_job: Job
) -> None:
    client.force_login(bob)

    swap = client.get(gallery_url(project, "?kind=videos&q="), headers=HX)
    page = client.get(gallery_url(project, "?kind=videos")).content.decode()

    assert swap["HX-Push-Url"] == gallery_url(project, "?kind=videos")
    assert re.search(r'<input type="radio" name="kind" value="videos" checked>', page)
    assert '<input type="radio" name="kind" value=""><span>All</span>' in page  # not checked


def test_an_unknown_kind_shows_everything(
    client: Client, project: Any, bob: Any, stills: list[ResultImage], clips_job: Job
) -> None:
    client.force_login(bob)

    html = client.get(gallery_url(project, "?kind=holograms")).content.decode()

    assert len(shown(html)) == 8


def test_a_clips_tile_shows_its_poster_a_badge_and_plays_its_preview(
    client: Client, project: Any, bob: Any, clips_job: Job
) -> None:
    client.force_login(bob)
    clip = clips_job.clips[0]

    html = client.get(gallery_url(project, "?kind=videos")).content.decode()

    tile = html[html.index(f'id="tile-{clip.pk}"') :]
    tile = tile[: tile.index("</figure>")]
    assert "data-clip" in tile
    assert re.search(
        rf'<video muted loop playsinline preload="none" poster="/images/{clip.pk}/small/"', tile
    )
    assert f'<source src="/images/{clip.pk}/video-preview/" type="video/mp4">' in tile
    assert re.search(r'class="clip-badge".*0:03</span>', tile)
    assert "Clip 1" in tile


def test_a_cutouts_tile_is_on_the_checkerboard(
    client: Client, project: Any, bob: Any, cutout: ResultImage
) -> None:
    client.force_login(bob)

    html = client.get(gallery_url(project, "?kind=images")).content.decode()

    assert re.search(rf'<img class="checker" src="/images/{cutout.pk}/small/"', html)


def test_the_lightbox_plays_the_clip_with_controls_and_downloads_the_mp4(
    client: Client, bob: Any, clips_job: Job
) -> None:
    client.force_login(bob)
    clip = clips_job.clips[1]

    html = client.get(f"/images/{clip.pk}/view/", headers=HX).content.decode()

    video = re.search(r"<video [^>]*>\s*<source [^>]*>", html)
    assert video is not None
    assert "controls autoplay muted loop playsinline" in video[0]
    assert f'poster="/images/{clip.pk}/thumb/"' in video[0]
    assert f'<source src="/images/{clip.pk}/video/" type="video/mp4">' in video[0]
    assert f'href="/images/{clip.pk}/video/?download=1" download="{clip.job_id}-2.mp4"' in html
    assert "<dt>Length</dt><dd>0:03</dd>" in html


def test_the_lightbox_steps_through_the_clips_from_the_feed(
    client: Client, bob: Any, clips_job: Job
) -> None:
    client.force_login(bob)
    first, second = clips_job.clips[:2]

    html = client.get(f"/images/{first.pk}/view/?from=feed", headers=HX).content.decode()

    assert f'href="/images/{second.pk}/view/?from=feed"' in html


def test_the_lightbox_shows_a_cutout_on_the_checkerboard_and_downloads_a_png(
    client: Client, bob: Any, cutout: ResultImage
) -> None:
    client.force_login(bob)

    html = client.get(f"/images/{cutout.pk}/view/", headers=HX).content.decode()

    assert re.search(
        rf'<img class="viewer-image viewer-cutout checker" src="/images/{cutout.pk}/full/"', html
    )
    assert f'download="{cutout.job_id}-0.png"' in html


def test_a_zip_holds_clips_as_mp4_and_cutouts_as_png(
    client: Client, project: Any, bob: Any, clips_job: Job, cutout: ResultImage
) -> None:
    client.force_login(bob)
    clip = clips_job.clips[0]

    response = client.post(
        f"/projects/{project.pk}/gallery/download/", {"images": [clip.pk, cutout.pk]}
    )

    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == [
        f"{cutout.job_id}-0-a-teapot-background-removed.png",
        f"{clip.job_id}-1-the-harbour-at-dawn-moving.mp4",
        "prompts.csv",
    ]
    assert archive.read(archive.namelist()[1]) == make_mp4()
    assert archive.read(archive.namelist()[0]) == make_rgba_png()
    rows = list(csv.DictReader(io.StringIO(archive.read("prompts.csv").decode())))
    assert rows[1]["seconds"] == "3.00" and rows[0]["seconds"] == ""
