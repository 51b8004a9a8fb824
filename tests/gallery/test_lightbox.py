"""The lightbox: the full image and everything about it, the follow-ups the viewer may
start, and ← → through the same (filtered) order as the gallery."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from studio.billing.models import LedgerEntry
from studio.gallery.models import Favourite, ImageTag, Tag
from studio.generation.models import Job, ResultImage, Status
from tests.factories import make_job
from tests.gallery.conftest import HX, make_grid, make_upscale


def ledger(job: Job, kind: str, amount: str) -> None:
    LedgerEntry.objects.create(
        team=job.project.team,
        user=job.created_by,
        project=job.project,
        job=job,
        kind=kind,
        mode=job.process_mode,
        operation=job.operation,
        amount=Decimal(amount),
        month=date.today().replace(day=1),
    )


@pytest.fixture
def grid(project: Any, bob: Any) -> list[ResultImage]:
    tiles = make_grid(
        project=project,
        user=bob,
        prompt="a lighthouse on a cliff --s 250 --c 10",
        process_mode="turbo",
        aspect_ratio="3:2",
        prompt_parameters={
            "aspect_ratio": "3:2",
            "mode": "turbo",
            "stylize": "250",
            "chaos": "10",
            "seed": "",
            "style_raw": "",
            "no": "",
        },
    )
    ledger(tiles[0].job, "hold", "0.10")
    ledger(tiles[0].job, "charge", "0.10")
    return tiles


def view(client: Client, image: ResultImage, query: str = "", **headers: str) -> str:
    response = client.get(f"/images/{image.pk}/view/{query}", headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_lightbox_shows_the_image_and_what_made_it(
    client: Client, project: Any, bob: Any, alice: Any, grid: list[ResultImage]
) -> None:
    tag = Tag.objects.create(project=project, name="cover")
    ImageTag.objects.create(image=grid[1], tag=tag)
    Favourite.objects.create(user=alice, image=grid[1])
    client.force_login(alice)

    html = view(client, grid[1])

    assert f'src="/images/{grid[1].pk}/full/"' in html  # the full-resolution file
    assert "a lighthouse on a cliff --s 250 --c 10" in html
    assert '<dt>Stylize</dt><dd><span class="param-line">250</span>' in html
    assert "<dt>Chaos</dt>" in html and "<dt>Aspect ratio</dt>" in html
    assert "<dt>Leave out</dt>" not in html and "<dt>Style raw</dt>" not in html  # empty ones
    assert "<dt>Cost</dt><dd>$0.10</dd>" in html
    assert "<dt>Seed</dt><dd>—</dd>" in html
    assert "<strong>bob</strong>" in html
    assert ">Turbo</span>" in html
    assert f'href="/jobs/{grid[1].job_id}/"' in html and "Open in tree" in html
    assert '<li class="tag-chip">cover' in html
    assert f'id="heart-view-{grid[1].pk}" aria-pressed="true"' in html
    assert f"Imagine #{grid[1].job_id} · image 2" in html


def test_the_seed_comes_from_a_seed_job_of_the_grid(
    client: Client, project: Any, bob: Any, grid: list[ResultImage]
) -> None:
    make_job(
        project=project,
        user=bob,
        operation="seed",
        parent=grid[0].job,
        status=Status.COMPLETED,
        output={"seed": 1234567},
    )
    upscale = make_upscale(parent=grid[0].job, user=bob)
    client.force_login(bob)

    assert "<code>1234567</code>" in view(client, grid[2])
    assert "<code>1234567</code>" in view(client, upscale)  # the same grid's seed


def test_a_running_jobs_cost_reads_held(project: Any, bob: Any) -> None:
    from studio.gallery.queries import cost_of

    job = make_job(project=project, user=bob, status=Status.PROCESSING)
    ledger(job, "hold", "0.045")

    assert cost_of(job) == "$0.045 held"


def test_a_tile_offers_its_own_upscale_and_variation(
    client: Client, project: Any, bob: Any, grid: list[ResultImage]
) -> None:
    client.force_login(bob)

    html = view(client, grid[2])  # tile 3

    assert '{"action": "upscale3"}' in html and '{"action": "variation3"}' in html
    assert '"upscale1"' not in html and '"reroll"' not in html
    assert f'hx-post="/jobs/{grid[2].job_id}/follow-up/"' in html
    assert 'hx-swap="none"' in html


def test_an_upscale_offers_what_its_job_offers(
    client: Client, project: Any, bob: Any, grid: list[ResultImage]
) -> None:
    upscale = make_upscale(parent=grid[0].job, user=bob)
    client.force_login(bob)

    html = view(client, upscale)

    for action in ("high_variation", "low_variation", "outpaint_2x", "pan_left"):
        assert f'{{"action": "{action}"}}' in html
    assert f'href="/jobs/{upscale.job_id}/region/"' in html  # vary region opens its editor


def test_a_follow_up_from_the_lightbox_makes_a_child_job(
    client: Client, project: Any, bob: Any
) -> None:
    tiles = make_grid(project=project, user=bob, process_mode="fast")
    client.force_login(bob)

    response = client.post(
        f"/jobs/{tiles[2].job_id}/follow-up/", {"action": "upscale3"}, headers=HX
    )

    assert response.status_code == 201
    child = Job.objects.get(parent=tiles[2].job)
    assert (child.operation, child.parameters.get("index")) == ("upscale", "3")


def test_a_viewer_sees_no_actions(
    client: Client, project: Any, vera: Any, grid: list[ResultImage]
) -> None:
    client.force_login(vera)

    html = view(client, grid[0])

    assert "follow-up" not in html and "Make more from it" not in html
    assert "tag-add" not in html and "viewer-archive" not in html


def test_previous_and_next_follow_the_gallery_order(
    client: Client, project: Any, bob: Any, grid: list[ResultImage]
) -> None:
    client.force_login(bob)
    newest_first = list(reversed(grid))

    middle = view(client, newest_first[1], **HX)
    newest = view(client, newest_first[0], **HX)
    oldest = view(client, newest_first[-1], **HX)

    assert f'data-nav="prev" href="/images/{newest_first[0].pk}/view/"' in middle
    assert f'data-nav="next" href="/images/{newest_first[2].pk}/view/"' in middle
    assert 'data-nav="prev"' not in newest
    assert 'data-nav="next"' not in oldest


def test_previous_and_next_follow_the_filtered_order(
    client: Client, project: Any, bob: Any, grid: list[ResultImage]
) -> None:
    others = make_grid(project=project, user=bob, prompt="a harbour at night")
    owls = make_grid(project=project, user=bob, prompt="an owl on a cliff")
    client.force_login(bob)

    html = view(client, grid[0], "?q=cliff", **HX)  # the oldest lighthouse tile

    # Newest first, "cliff" only: owls 4…1, then lighthouse 4…1; the harbour is skipped.
    assert f'data-nav="prev" href="/images/{grid[1].pk}/view/?q=cliff"' in html
    assert 'data-nav="next"' not in html
    first_owl = view(client, owls[0], "?q=cliff", **HX)
    assert f'data-nav="next" href="/images/{grid[3].pk}/view/?q=cliff"' in first_owl
    assert all(f"/images/{image.pk}/view/" not in first_owl for image in others)


def test_the_lightbox_fragment_is_the_viewer_and_the_direct_url_a_whole_page(
    client: Client, project: Any, bob: Any, grid: list[ResultImage]
) -> None:
    client.force_login(bob)

    fragment = view(client, grid[1], "?q=lighthouse", **HX)
    page = view(client, grid[1], "?q=lighthouse")

    assert fragment.lstrip().startswith('<article class="viewer"')
    assert 'hx-target="#lightbox-body"' in fragment and "hx-replace-url" in fragment
    assert "data-close-lightbox" in fragment
    assert "<html" in page and 'class="viewer-standalone"' in page
    assert f'href="/projects/{project.pk}/gallery/?q=lighthouse" data-close' in page
    assert "hx-replace-url" not in page  # plain links on a page of its own
