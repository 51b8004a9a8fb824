"""Infinite scroll: pages follow a keyset cursor, join without gaps or repeats, and cost
the same number of queries whatever the gallery's size."""

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from studio.gallery.models import Favourite, ImageTag, Tag
from studio.gallery.queries import PAGE_SIZE, Cursor, Filters, gallery_page, image_url
from studio.generation.models import ResultImage
from tests.gallery.conftest import HX, gallery_url, make_grid, make_image, make_many

TILE = re.compile(r'<figure class="tile[^"]*" id="tile-(\d+)"')
MORE = re.compile(r'class="btn small ghost more-link" href="([^"]+)"')


def walk(client: Client, url: str) -> tuple[list[int], int]:
    """Every tile id, following "more" links as the browser would; and the page count."""
    seen: list[int] = []
    pages = 0
    while url:
        body = client.get(url, headers=HX if pages else {}).content.decode()
        pages += 1
        seen += [int(pk) for pk in TILE.findall(body)]
        match = MORE.search(body)
        url = match[1].replace("&amp;", "&") if match else ""
    return seen, pages


def test_pages_join_without_gaps_or_repeats(client: Client, project: Any, bob: Any) -> None:
    make_many(project=project, user=bob, count=PAGE_SIZE * 2 + 5)
    client.force_login(bob)

    seen, pages = walk(client, gallery_url(project))

    expected = list(
        ResultImage.objects.in_gallery().order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    assert pages == 3
    assert seen == expected


def test_images_made_at_the_same_instant_still_page_exactly_once(project: Any, bob: Any) -> None:
    # Thirty-two tiles sharing one timestamp: only the id tells them apart.
    for _ in range(8):
        make_grid(project=project, user=bob)
    ResultImage.objects.update(created_at=timezone.now())

    collected: list[int] = []
    after = None
    while True:
        page = gallery_page(project=project, user=bob, filters=Filters(), after=after, size=5)
        collected += [item.pk for item in page.items]
        if page.next_cursor is None:
            break
        after = Cursor.parse(page.next_cursor.token)

    expected = list(ResultImage.objects.in_gallery().order_by("-id").values_list("pk", flat=True))
    assert collected == expected and len(expected) == 32


def test_a_new_image_arriving_between_pages_does_not_shift_the_next_page(
    client: Client, project: Any, bob: Any
) -> None:
    make_many(project=project, user=bob, count=PAGE_SIZE + 10)
    client.force_login(bob)
    first = client.get(gallery_url(project)).content.decode()
    more_url = MORE.search(first)[1].replace("&amp;", "&")

    make_grid(project=project, user=bob, prompt="fresh")  # lands on top, not in page two
    second = client.get(more_url, headers=HX).content.decode()

    first_ids = TILE.findall(first)
    second_ids = TILE.findall(second)
    assert len(second_ids) == 10 and not set(first_ids) & set(second_ids)


def test_the_next_page_fragment_appends_tiles_and_replaces_its_own_trigger(
    client: Client, project: Any, bob: Any
) -> None:
    make_many(project=project, user=bob, count=PAGE_SIZE * 3)
    client.force_login(bob)
    first = client.get(gallery_url(project)).content.decode()
    more_url = MORE.search(first)[1].replace("&amp;", "&")

    fragment = client.get(more_url, headers=HX).content.decode()

    assert 'hx-trigger="revealed"' in first and 'hx-target="#gallery-grid"' in first
    assert "<html" not in fragment and 'id="gallery-filters"' not in fragment
    assert len(TILE.findall(fragment)) == PAGE_SIZE
    assert 'id="gallery-more" hx-swap-oob="true"' in fragment
    assert "after=" in fragment  # and another page after it


def test_the_last_page_says_so(client: Client, project: Any, bob: Any) -> None:
    make_grid(project=project, user=bob)
    client.force_login(bob)

    page = client.get(gallery_url(project)).content.decode()

    assert "more-trigger" not in page
    assert "That's all" in page


def test_an_empty_gallery_explains_itself(client: Client, project: Any, bob: Any) -> None:
    client.force_login(bob)

    page = client.get(gallery_url(project)).content.decode()

    assert "No images yet" in page


def with_favourites_and_tags(project: Any, user: Any) -> None:
    """Some of everything a tile shows beside its image, on the first page."""
    tag, _ = Tag.objects.get_or_create(project=project, name="keep")
    for image in ResultImage.objects.in_gallery().order_by("-created_at")[:6]:
        Favourite.objects.get_or_create(user=user, image=image)
        ImageTag.objects.get_or_create(image=image, tag=tag)


def queries_for(client: Client, url: str, **kwargs: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **kwargs)
    assert response.status_code == 200
    return len(captured)


def test_the_page_and_the_next_page_cost_the_same_queries_with_10_or_1000_images(
    client: Client, project: Any, bob: Any, alice: Any
) -> None:
    client.force_login(bob)
    make_many(project=project, user=bob, count=10)
    with_favourites_and_tags(project, bob)
    small_page = queries_for(client, gallery_url(project))
    small_filtered = queries_for(client, gallery_url(project, "?q=bulk&fav=1"))
    oldest = ResultImage.objects.order_by("created_at", "id")[5]
    after = Cursor.after(oldest).token
    small_next = queries_for(client, gallery_url(project, f"?after={after}"), headers=HX)

    make_many(project=project, user=alice, count=990)
    with_favourites_and_tags(project, bob)
    assert ResultImage.objects.in_gallery().count() == 1000
    middle = ResultImage.objects.order_by("created_at", "id")[500]
    after = Cursor.after(middle).token

    assert queries_for(client, gallery_url(project)) == small_page
    assert queries_for(client, gallery_url(project, "?q=bulk&fav=1")) == small_filtered
    assert queries_for(client, gallery_url(project, f"?after={after}"), headers=HX) == small_next


def test_old_images_without_a_small_thumbnail_fall_back_to_the_large_one(
    client: Client, project: Any, bob: Any
) -> None:
    from tests.factories import make_job, make_png

    job = make_job(project=project, user=bob)
    image = make_image(job=job, index=1, png=make_png(size=(40, 30)))
    ResultImage.objects.filter(pk=image.pk).update(thumbnail_small="")
    client.force_login(bob)

    response = client.get(f"/images/{image.pk}/small/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert "immutable" in response["Cache-Control"]


def test_the_first_page_is_the_projects_newest_images_though_another_project_has_newer(
    client: Client, acme: Any, project: Any, bob: Any
) -> None:
    from tests.factories import make_project

    make_many(project=project, user=bob, count=PAGE_SIZE + 12)
    other = make_project(team=acme, name="Elsewhere")
    elsewhere = make_grid(project=other, user=bob, at=timezone.now())
    client.force_login(bob)

    shown, _ = walk(client, gallery_url(project))
    first_page = [int(pk) for pk in TILE.findall(client.get(gallery_url(project)).content.decode())]

    newest = ResultImage.objects.filter(job__project=project).order_by("-created_at", "-id")
    assert first_page == list(newest.values_list("pk", flat=True)[:PAGE_SIZE])
    assert shown == list(newest.values_list("pk", flat=True))
    assert not {image.pk for image in elsewhere} & set(shown)


def test_a_stored_image_belongs_to_its_jobs_project(project: Any, bob: Any) -> None:
    tiles = make_grid(project=project, user=bob)

    assert {image.project_id for image in tiles} == {project.pk}
    assert ResultImage.objects.filter(project=project).count() == 5  # with the whole grid


@pytest.mark.parametrize("script_prefix", ["/", "/studio/"])
def test_a_tiles_links_are_the_urls_django_reverses(script_prefix: str) -> None:
    set_script_prefix(script_prefix)
    try:
        for name in ("gallery:image", "gallery:thumb", "gallery:favourite"):
            for image_id in (1, 42, 987654321):
                assert image_url(name, image_id) == reverse(name, args=[image_id])
    finally:
        set_script_prefix("/")


def test_a_tiles_text_alternative_is_its_prompt_cut_at_140_characters(
    client: Client, project: Any, bob: Any
) -> None:
    long_prompt = "a lighthouse on a cliff at dusk, " * 8  # 264 characters
    make_grid(project=project, user=bob, prompt="a fox in the snow")
    make_grid(project=project, user=bob, prompt=long_prompt)
    client.force_login(bob)

    page = client.get(gallery_url(project)).content.decode()

    alts = re.findall(r'<img[^>]* alt="([^"]*)"', page)
    assert alts.count(long_prompt[:139].strip() + "…") == 4
    assert alts.count("a fox in the snow") == 4
