"""New results land at the top of every open gallery: when a job's images are stored,
their tiles are pushed to the project's group, in the same push as the job's card."""

from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from studio.gallery.live import new_tiles_html
from studio.generation import live
from studio.generation.models import ResultImage, Status
from studio.generation.services import job_store_results
from studio.providers.base import ProviderError
from studio.providers.piapi import PiAPI
from tests.factories import make_job, make_png

URLS = {
    "image_url": "https://cdn.example/grid.png",
    "quadrant_urls": [f"https://cdn.example/{n}.png" for n in range(1, 5)],
}
GALLERY_TOP = '<div hx-swap-oob="afterbegin:#gallery-grid">'


def tiles_of(html: str) -> str:
    """The gallery's part of a push (after the card's)."""
    return html[html.index(GALLERY_TOP) :]


def test_storing_a_jobs_images_pushes_its_tiles_to_the_top_of_the_gallery(
    project: Any, bob: Any
) -> None:
    job = make_job(
        project=project,
        user=bob,
        prompt="a kite over dunes",
        status=Status.COMPLETED,
        output={**URLS, "actions": ["upscale1"]},
    )
    with (
        mock.patch.object(PiAPI, "download", autospec=True, return_value=make_png(size=(96, 64))),
        mock.patch.object(live, "push_project_html", autospec=True) as push_html,
    ):
        job_store_results(job_id=job.pk, attempt=1)

    push_html.assert_called_once()  # the card and the tiles together
    project_id, pushed = push_html.call_args.args
    assert project_id == project.pk
    assert pushed.lstrip().startswith(f'<article id="job-{job.pk}"')
    html = tiles_of(pushed)
    tiles = list(ResultImage.objects.in_gallery().order_by("-created_at", "-id"))
    assert len(tiles) == 4
    positions = [html.index(f'id="tile-{tile.pk}"') for tile in tiles]
    assert positions == sorted(positions)  # newest first, as the page orders them
    grid = ResultImage.objects.get(job=job, index=0)
    assert f'id="tile-{grid.pk}"' not in html  # the whole grid is not a gallery image
    assert "a kite over dunes" in html
    assert 'class="tile ar-15"' in html  # 96×64: a 3:2 tile
    assert 'aria-pressed="false"' in html  # nobody's favourite, whoever receives it


def test_an_upscale_is_pushed_as_one_tile(project: Any, bob: Any) -> None:
    parent = make_job(project=project, user=bob, status=Status.COMPLETED)
    job = make_job(
        project=project,
        user=bob,
        operation="upscale",
        parent=parent,
        parameters={"index": "2"},
        status=Status.COMPLETED,
        output={"image_url": "https://cdn.example/u.png"},
    )
    with (
        mock.patch.object(PiAPI, "download", autospec=True, return_value=make_png()),
        mock.patch.object(live, "push_project_html", autospec=True) as push_html,
    ):
        job_store_results(job_id=job.pk, attempt=1)

    html = tiles_of(push_html.call_args.args[1])
    upscale = ResultImage.objects.get(job=job)
    assert html.count('<figure class="tile') == 1 and f'id="tile-{upscale.pk}"' in html


def test_a_job_without_gallery_images_pushes_no_tiles(project: Any, bob: Any) -> None:
    job = make_job(
        project=project,
        user=bob,
        operation="describe",
        status=Status.COMPLETED,
        output={"description": "1️⃣ a cat"},
    )
    with mock.patch.object(live, "push_project_html", autospec=True) as push_html:
        job_store_results(job_id=job.pk, attempt=1)

    push_html.assert_called_once()  # its card
    assert "#gallery-grid" not in push_html.call_args.args[1]


def test_a_retry_pushes_the_tiles_of_the_images_it_stored_not_those_pushed_before(
    project: Any, bob: Any
) -> None:
    job = make_job(project=project, user=bob, status=Status.COMPLETED, output=URLS)
    png = make_png(size=(96, 64))

    def third_fails(client: Any, url: str, **kwargs: Any) -> bytes:
        if url.endswith("/3.png"):
            raise ProviderError("Downloading a result failed with HTTP 503", retryable=True)
        return png

    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=third_fails),
        mock.patch.object(live, "push_project_html", autospec=True) as first_push,
    ):
        job_store_results(job_id=job.pk, attempt=1)
    with (
        mock.patch.object(PiAPI, "download", autospec=True, return_value=png),
        mock.patch.object(live, "push_project_html", autospec=True) as retry_push,
    ):
        job_store_results(job_id=job.pk, attempt=2)

    assert tiles_of(first_push.call_args.args[1]).count('<figure class="tile') == 3
    html = tiles_of(retry_push.call_args.args[1])
    third = ResultImage.objects.get(job=job, index=3)
    assert html.count('<figure class="tile') == 1 and f'id="tile-{third.pk}"' in html


def test_the_tiles_come_from_the_job_loaded_for_its_card_with_no_query_of_their_own(
    project: Any, bob: Any, django_assert_num_queries: Any
) -> None:
    job = make_job(project=project, user=bob, prompt="a kite", status=Status.COMPLETED, output=URLS)
    with (
        mock.patch.object(PiAPI, "download", autospec=True, return_value=make_png()),
        mock.patch.object(live, "push_project_html", autospec=True),
    ):
        job_store_results(job_id=job.pk, attempt=1)
    card = live.job_for_card(job.pk)

    with django_assert_num_queries(0):
        html = new_tiles_html(card, kept_before=())

    assert html.count('<figure class="tile') == 4 and "a kite" in html
    assert new_tiles_html(card, kept_before=(1, 2, 3, 4)) == ""


@pytest.mark.parametrize(
    ("operation", "index", "archived", "shown"),
    [
        ("imagine", ResultImage.GRID, False, False),  # the whole grid: its four are
        ("imagine", 2, False, True),
        ("imagine", 2, True, False),
        ("upscale", ResultImage.GRID, False, True),  # a single image
        ("remove_bg", ResultImage.GRID, False, True),
        ("animate", 3, False, True),  # a clip
        ("upscale", ResultImage.GRID, True, False),
    ],
)
def test_one_image_is_shown_in_the_gallery_as_the_gallery_s_query_selects(
    project: Any, bob: Any, operation: str, index: int, archived: bool, shown: bool
) -> None:
    job = make_job(project=project, user=bob, operation=operation, status=Status.COMPLETED)
    image = ResultImage.objects.create(
        job=job, index=index, archived_at=timezone.now() if archived else None
    )

    assert image.shown_in_gallery is shown
    assert ResultImage.objects.in_gallery().filter(pk=image.pk).exists() is shown
