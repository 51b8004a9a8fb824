"""The gallery's lightbox opened from the project's feed: ← → through the feed's images
(jobs newest first, each grid's images 1 to 4), closing back to the feed, and what it
offers to use in the next prompt."""

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from studio.generation.models import Job, ResultImage
from tests.gallery.conftest import HX, make_grid, make_upscale


def view(client: Client, image: ResultImage, query: str = "?from=feed") -> str:
    response = client.get(f"/images/{image.pk}/view/{query}", headers=HX)
    assert response.status_code == 200
    return response.content.decode()


def nav(html: str, direction: str) -> str:
    marker = f'data-nav="{direction}" href="'
    if marker not in html:
        return ""
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_the_arrows_step_through_the_feeds_images_in_its_order(
    login: Any, project: Any, bob: Any
) -> None:
    now = timezone.now()
    older = make_grid(project=project, user=bob, prompt="older")
    newer = make_grid(project=project, user=bob, prompt="newer")
    Job.objects.filter(pk=older[0].job_id).update(created_at=now - timedelta(minutes=5))
    # A tile stored later than its neighbours still sits at its place in the grid.
    ResultImage.objects.filter(pk=newer[0].pk).update(created_at=now + timedelta(hours=1))
    client = login(bob)

    first = view(client, newer[0])
    assert nav(first, "prev") == ""  # the newest job's first image
    assert nav(first, "next") == f"/images/{newer[1].pk}/view/?from=feed"
    last = view(client, newer[3])
    assert nav(last, "next") == f"/images/{older[0].pk}/view/?from=feed"  # the next card
    assert nav(view(client, older[0]), "prev") == f"/images/{newer[3].pk}/view/?from=feed"
    assert nav(view(client, older[3]), "next") == ""


def test_an_upscale_in_the_feed_is_one_image_between_its_neighbours(
    login: Any, project: Any, bob: Any
) -> None:
    grid = make_grid(project=project, user=bob)
    Job.objects.filter(pk=grid[0].job_id).update(created_at=timezone.now() - timedelta(hours=1))
    upscale = make_upscale(parent=grid[0].job, user=bob, index=2)

    html = view(login(bob), upscale)

    assert nav(html, "next") == f"/images/{grid[0].pk}/view/?from=feed"


def test_stepping_in_the_feed_leaves_the_address_as_it_is(
    login: Any, project: Any, bob: Any
) -> None:
    grid = make_grid(project=project, user=bob)

    html = view(login(bob), grid[1])

    assert 'hx-replace-url="true"' not in html  # the feed's address stays
    in_gallery = view(login(bob), grid[1], query="")
    assert 'hx-replace-url="true"' in in_gallery  # the gallery's follows the image


def test_its_own_page_goes_back_to_the_project(login: Any, project: Any, bob: Any) -> None:
    grid = make_grid(project=project, user=bob)

    page = login(bob).get(f"/images/{grid[1].pk}/view/?from=feed").content.decode()

    assert f'class="viewer-close" href="/projects/{project.pk}/"' in page
    assert "Back to the project" in page


def test_a_member_may_use_the_image_its_prompt_and_its_seed_in_the_next_prompt(
    login: Any, project: Any, bob: Any
) -> None:
    grid = make_grid(
        project=project, user=bob, prompt="a fox --seed 42", prompt_parameters={"seed": "42"}
    )
    tile = grid[1]

    html = view(login(bob), tile)

    base = f"/projects/{project.pk}/"
    assert (
        f'data-imagine="a fox --seed 42" href="{base}?prompt=a%20fox%20--seed%2042#composer"'
        in html
    )
    for role in ("image_prompts", "style_refs", "character_refs"):
        assert (
            f'data-use-as="{role}" data-result-image="{tile.pk}" '
            f'href="{base}?use_as={role}&amp;image={tile.pk}#composer"'
        ) in html
    assert f'data-use-seed="42" href="{base}?seed=42#composer"' in html


def test_use_seed_is_offered_only_when_the_seed_is_known(
    login: Any, project: Any, bob: Any
) -> None:
    grid = make_grid(project=project, user=bob)

    assert "data-use-seed" not in view(login(bob), grid[0])


def test_a_viewer_gets_nothing_to_use(login: Any, project: Any, bob: Any, vera: Any) -> None:
    grid = make_grid(project=project, user=bob)

    html = view(login(vera), grid[0])

    assert "data-use-as" not in html and "data-imagine" not in html


def test_each_follow_up_in_the_lightbox_shows_its_own_price(
    login: Any, project: Any, bob: Any
) -> None:
    grid = make_grid(project=project, user=bob)

    html = view(login(bob), grid[1])

    assert '>U2<span class="act-price">$0.045</span></button>' in html
    assert "Each follow-up" not in html
