"""Finding images: search over prompts, each filter, filters together, and the URL that
holds them."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from studio.gallery.models import Favourite, ImageTag, Tag
from studio.generation.models import ResultImage
from studio.projects.models import Project
from tests.factories import make_job
from tests.gallery.conftest import HX, gallery_url, make_grid, make_upscale


def shown(response: Any) -> list[int]:
    return [
        int(pk)
        for pk in re.findall(
            r'<figure class="tile[^"]*" id="tile-(\d+)"', response.content.decode()
        )
    ]


@pytest.fixture
def library(project: Any, alice: Any, bob: Any) -> dict[str, list[ResultImage]]:
    """Four grids and an upscale, made by different people in different ways."""
    long_ago = timezone.now() - timedelta(days=30)
    return {
        "fox": make_grid(project=project, user=bob, prompt="A red Fox in deep snow", at=long_ago),
        "owl": make_grid(
            project=project,
            user=alice,
            prompt="an owl in snow at night",
            process_mode="relax",
            aspect_ratio="16:9",
        ),
        "harbour": make_grid(
            project=project, user=bob, prompt="harbour, foxgloves", process_mode="turbo"
        ),
        "variation": make_grid(
            project=project, user=alice, prompt="an owl in snow at night", operation="variation"
        ),
    }


@pytest.fixture
def bob_client(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


def pks(*groups: list[ResultImage]) -> set[int]:
    return {image.pk for group in groups for image in group}


def test_the_gallery_shows_tiles_and_upscales_newest_first_but_not_whole_grids(
    bob_client: Client, project: Any, bob: Any, library: dict[str, list[ResultImage]]
) -> None:
    upscale = make_upscale(parent=library["owl"][0].job, user=bob)

    order = shown(bob_client.get(gallery_url(project)))

    expected = list(
        ResultImage.objects.in_gallery().order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    assert order == expected and order[0] == upscale.pk
    assert len(order) == 17  # 4 grids × 4 tiles + 1 upscale; no index-0 grids


def test_search_wants_every_word_in_any_case(
    bob_client: Client, project: Any, library: dict[str, list[ResultImage]]
) -> None:
    assert set(shown(bob_client.get(gallery_url(project, "?q=snow")))) == pks(
        library["fox"], library["owl"], library["variation"]
    )
    assert set(shown(bob_client.get(gallery_url(project, "?q=SNOW+fox")))) == pks(library["fox"])
    assert set(shown(bob_client.get(gallery_url(project, "?q=fox")))) == pks(
        library["fox"],
        library["harbour"],  # "foxgloves" holds "fox"
    )
    assert shown(bob_client.get(gallery_url(project, "?q=snow+harbour"))) == []


def test_search_treats_like_wildcards_as_plain_characters(
    bob_client: Client, project: Any, bob: Any, library: dict[str, list[ResultImage]]
) -> None:
    discount = make_grid(project=project, user=bob, prompt="100% off_sale")

    assert set(shown(bob_client.get(gallery_url(project, "?q=100%25")))) == pks(discount)
    assert shown(bob_client.get(gallery_url(project, "?q=%25"))) == shown(
        bob_client.get(gallery_url(project, "?q=100%25"))
    )
    assert shown(bob_client.get(gallery_url(project, "?q=_"))) == [i.pk for i in reversed(discount)]


def test_each_filter_narrows_the_gallery(
    bob_client: Client, project: Any, alice: Any, bob: Any, library: dict[str, list[ResultImage]]
) -> None:
    upscale = make_upscale(parent=library["fox"][0].job, user=alice)
    today = timezone.now().date()
    cases = {
        f"?member={alice.pk}": pks(library["owl"], library["variation"], [upscale]),
        "?operation=variation": pks(library["variation"]),
        "?operation=upscale": {upscale.pk},
        "?mode=relax": pks(library["owl"]),
        "?mode=turbo": pks(library["harbour"]),
        "?aspect=16:9": pks(library["owl"]),
        f"?from={today.isoformat()}": pks(
            library["owl"], library["harbour"], library["variation"], [upscale]
        ),
        f"?to={(today - timedelta(days=1)).isoformat()}": pks(library["fox"]),
        f"?from={today - timedelta(days=31)}&to={today - timedelta(days=29)}": pks(library["fox"]),
    }
    for query, expected in cases.items():
        assert set(shown(bob_client.get(gallery_url(project, query)))) == expected, query


def test_the_aspect_filter_offers_each_ratio_this_project_used_once_narrowest_first(
    bob_client: Client, project: Any, bob: Any, library: dict[str, list[ResultImage]]
) -> None:
    for ratio in ("2:3", "16:9", "21:9", "2:3"):
        make_job(project=project, user=bob, aspect_ratio=ratio)
    elsewhere = Project.objects.create(team=project.team, name="Elsewhere")
    make_job(project=elsewhere, user=bob, aspect_ratio="4:5")

    page = bob_client.get(gallery_url(project)).content.decode()

    select = re.search(r'<select name="aspect">(.*?)</select>', page, re.S)
    assert select is not None
    offered = re.findall(r'<option value="([^"]*)"', select.group(1))
    assert offered == ["", "2:3", "1:1", "16:9", "21:9"]  # "" is Any


def test_favourites_only_shows_mine_not_someone_elses(
    bob_client: Client, project: Any, alice: Any, bob: Any, library: dict[str, list[ResultImage]]
) -> None:
    Favourite.objects.create(user=bob, image=library["owl"][1])
    Favourite.objects.create(user=alice, image=library["fox"][2])

    assert shown(bob_client.get(gallery_url(project, "?fav=1"))) == [library["owl"][1].pk]


def test_tags_show_images_with_any_of_the_chosen_tags_once(
    bob_client: Client, project: Any, bob: Any, library: dict[str, list[ResultImage]]
) -> None:
    winter = Tag.objects.create(project=project, name="winter")
    birds = Tag.objects.create(project=project, name="birds")
    Tag.objects.create(project=project, name="unused")
    for image in library["fox"][:2] + library["owl"][:1]:
        ImageTag.objects.create(image=image, tag=winter)
    ImageTag.objects.create(image=library["owl"][0], tag=birds)  # tagged twice: shown once

    both = shown(bob_client.get(gallery_url(project, f"?tag={winter.pk}&tag={birds.pk}")))

    assert sorted(both) == sorted(
        [library["fox"][0].pk, library["fox"][1].pk, library["owl"][0].pk]
    )
    assert shown(bob_client.get(gallery_url(project, f"?tag={birds.pk}"))) == [library["owl"][0].pk]


def test_another_projects_tag_finds_nothing_here(
    bob_client: Client, project: Any, acme: Any, library: dict[str, list[ResultImage]]
) -> None:
    from tests.factories import make_project

    elsewhere = Tag.objects.create(project=make_project(team=acme, name="Other"), name="winter")
    ImageTag.objects.create(image=library["fox"][0], tag=elsewhere)

    assert shown(bob_client.get(gallery_url(project, f"?tag={elsewhere.pk}"))) == []


def test_filters_combine(
    bob_client: Client, project: Any, alice: Any, bob: Any, library: dict[str, list[ResultImage]]
) -> None:
    Favourite.objects.create(user=bob, image=library["owl"][0])
    Favourite.objects.create(user=bob, image=library["variation"][0])
    Favourite.objects.create(user=bob, image=library["harbour"][0])

    response = bob_client.get(
        gallery_url(project, f"?q=owl&member={alice.pk}&operation=imagine&fav=1")
    )

    assert shown(response) == [library["owl"][0].pk]


def test_nonsense_in_the_url_is_ignored_not_refused(
    bob_client: Client, project: Any, library: dict[str, list[ResultImage]]
) -> None:
    response = bob_client.get(
        gallery_url(project, "?member=abc&mode=warp&aspect=wide&from=yesterday&tag=x&after=zz")
    )

    assert response.status_code == 200
    assert len(shown(response)) == 16


def test_the_filter_form_pushes_a_clean_url_and_swaps_only_the_results(
    bob_client: Client, project: Any, alice: Any, library: dict[str, list[ResultImage]]
) -> None:
    response = bob_client.get(
        gallery_url(project, f"?q=owl++night&member={alice.pk}&operation=&mode=&aspect=&from=&to="),
        headers=HX,
    )
    body = response.content.decode()

    assert (
        response["HX-Push-Url"] == f"/projects/{project.pk}/gallery/?q=owl+night&member={alice.pk}"
    )
    assert body.lstrip().startswith('<section id="gallery-results"')
    assert 'id="gallery-filters"' not in body  # the form keeps what the user is typing
    # The lightbox links carry the filters, so ← and → follow this order.
    assert f'href="/images/{library["owl"][0].pk}/view/?q=owl+night&amp;member={alice.pk}"' in body


def test_a_shared_url_reproduces_the_view_with_its_filters_filled_in(
    client: Client, project: Any, alice: Any, library: dict[str, list[ResultImage]]
) -> None:
    Tag.objects.create(project=project, name="winter")
    tag = Tag.objects.get()
    client.force_login(alice)

    page = client.get(
        gallery_url(project, f"?q=owl&mode=relax&aspect=16:9&fav=&tag={tag.pk}&from=2026-01-02")
    ).content.decode()

    assert 'name="q" value="owl"' in page
    assert '<option value="relax" selected>' in page
    assert '<option value="16:9" selected>' in page
    assert f'name="tag" value="{tag.pk}" checked' in page
    assert 'name="from" value="2026-01-02"' in page
    assert '<details class="filter-drawer" open>' in page


def test_only_the_unfiltered_gallery_receives_live_tiles(
    bob_client: Client, project: Any, library: dict[str, list[ResultImage]]
) -> None:
    unfiltered = bob_client.get(gallery_url(project)).content.decode()
    filtered = bob_client.get(gallery_url(project, "?q=owl")).content.decode()
    archived = bob_client.get(gallery_url(project, "?archived=1")).content.decode()

    assert 'id="gallery-grid"' in unfiltered
    assert 'id="gallery-grid"' not in filtered and 'id="gallery-grid"' not in archived
