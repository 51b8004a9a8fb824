"""A video job's card: its four clips two by two, each a muted looping video that shows
its poster until pointed at, with its length, opening in the lightbox; and a cut-out's
card, its image on a checkerboard."""

import re
from typing import Any

import pytest
from django.test import Client

from studio.generation.models import Job
from tests.factories import make_clip_job, make_cutout_job, make_job

HX = {"HX-Request": "true"}


@pytest.fixture
def clips_job(project: Any, bob: Any) -> Job:
    return make_clip_job(project=project, user=bob, prompt="waves rolling in")


def card(client: Client, job: Job) -> str:
    response = client.get(f"/jobs/{job.pk}/", headers=HX)
    assert response.status_code == 200
    return response.content.decode()


def test_the_card_shows_four_clips_that_play_their_previews(
    client: Client, clips_job: Job, bob: Any
) -> None:
    client.force_login(bob)

    html = card(client, clips_job)

    videos = re.findall(r"<video [^>]*>\s*<source [^>]*>", html)
    assert len(videos) == 4
    for clip, video in zip(clips_job.clips, videos, strict=True):
        assert 'muted loop playsinline preload="none"' in video
        assert f'poster="/images/{clip.pk}/small/"' in video
        assert f'src="/images/{clip.pk}/video-preview/" type="video/mp4"' in video
        assert f'width="{clip.width}" height="{clip.height}"' in video
    assert "Saving" not in html


def test_each_clip_says_its_length_and_opens_in_the_lightbox(
    client: Client, clips_job: Job, bob: Any
) -> None:
    client.force_login(bob)

    html = card(client, clips_job)

    assert html.count('class="clip-badge"') == 4
    assert re.search(r'<span class="clip-badge"[^>]*><svg[^>]*>.*?</svg>0:03</span>', html)
    for clip in clips_job.clips:
        assert f'hx-get="/images/{clip.pk}/view/?from=feed"' in html
    assert "data-clip" in html


def test_the_card_has_the_clips_shape(client: Client, clips_job: Job, bob: Any) -> None:
    client.force_login(bob)

    assert " ar-18" in card(client, clips_job)  # 320 × 180


def test_the_project_page_shows_the_clips_too(client: Client, clips_job: Job, bob: Any) -> None:
    client.force_login(bob)

    html = client.get(f"/projects/{clips_job.project_id}/").content.decode()

    assert html.count("/video-preview/") == 4


def test_a_video_job_still_running_shows_its_placeholder(
    client: Client, project: Any, bob: Any
) -> None:
    job = make_job(project=project, user=bob, operation="animate", status="processing")
    client.force_login(bob)

    html = card(client, job)

    assert "<video" not in html and 'class="placeholder"' in html


def test_a_cutouts_card_shows_it_on_a_checkerboard_and_opens_it_large(
    client: Client, project: Any, bob: Any
) -> None:
    job = make_cutout_job(project=project, user=bob)
    cutout = job.grid_image
    assert cutout is not None
    client.force_login(bob)

    html = card(client, job)

    assert re.search(r'<img class="job-image checker" src="/images/\d+/thumb/"', html)
    assert f'hx-get="/images/{cutout.pk}/view/?from=feed"' in html
