"""Keeping images: favourites per member, tags per project, bulk changes, archive and
restore."""

import re
from typing import Any

import pytest
from django.test import Client

from studio.gallery.models import Favourite, ImageTag, Tag
from studio.gallery.services import tag_for_name
from studio.generation.models import ResultImage
from tests.gallery.conftest import HX, gallery_url, make_grid


@pytest.fixture
def tiles(project: Any, bob: Any) -> list[ResultImage]:
    return make_grid(project=project, user=bob, prompt="a quiet harbour")


def bulk(client: Client, project: Any, action: str, images: list[ResultImage], **data: str) -> Any:
    return client.post(
        f"/projects/{project.pk}/gallery/bulk/",
        {"action": action, "images": [image.pk for image in images], **data},
        headers=HX,
    )


# --- favourites ----------------------------------------------------------------------


def test_a_favourite_belongs_to_the_member_who_made_it(
    client: Client, project: Any, alice: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    response = client.post(f"/images/{tiles[0].pk}/favourite/", {"favourite": "1"}, headers=HX)

    assert response.status_code == 200
    body = response.content.decode()
    # Both hearts (on the tile and in the lightbox) turn on, and now offer to turn off.
    assert f'id="heart-tile-{tiles[0].pk}" aria-pressed="true"' in body
    assert f'id="heart-view-{tiles[0].pk}" aria-pressed="true"' in body
    assert '"favourite": "0"' in body
    assert list(Favourite.objects.values_list("user__username", "image")) == [("bob", tiles[0].pk)]
    client.force_login(alice)
    alices_page = client.get(gallery_url(project)).content.decode()
    assert f'id="heart-tile-{tiles[0].pk}" aria-pressed="false"' in alices_page


def test_favouriting_twice_keeps_one_and_unfavouriting_removes_it(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)
    url = f"/images/{tiles[0].pk}/favourite/"

    client.post(url, {"favourite": "1"})
    client.post(url, {"favourite": "1"})  # a double click
    assert Favourite.objects.count() == 1

    response = client.post(url, {"favourite": "0"})
    assert 'aria-pressed="false"' in response.content.decode()
    assert Favourite.objects.count() == 0


def test_a_favourite_without_a_state_is_refused(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    assert client.post(f"/images/{tiles[0].pk}/favourite/", {}).status_code == 400


def test_my_hearts_show_on_my_page(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    Favourite.objects.create(user=bob, image=tiles[2])
    client.force_login(bob)

    page = client.get(gallery_url(project)).content.decode()

    assert f'id="heart-tile-{tiles[2].pk}" aria-pressed="true"' in page
    assert f'id="heart-tile-{tiles[1].pk}" aria-pressed="false"' in page


# --- tags ------------------------------------------------------------------------------


def test_a_tag_is_made_by_typing_its_name_trimmed(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    response = client.post(
        f"/images/{tiles[0].pk}/tags/", {"action": "add", "name": "  golden   hour "}, headers=HX
    )

    body = response.content.decode()
    assert response.status_code == 200
    tag = Tag.objects.get()
    assert (tag.project, tag.name) == (project, "golden hour")
    assert ImageTag.objects.get().image == tiles[0]
    assert f'id="viewer-tags-{tiles[0].pk}"' in body  # the lightbox's list, redrawn
    assert f'id="tile-tags-{tiles[0].pk}" hx-swap-oob="true"' in body  # and the tile's
    assert 'hx-swap-oob="beforeend:#tag-filter-list"' in body  # a new tag joins the filter


def test_tag_names_are_one_tag_whatever_their_case(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    client.post(f"/images/{tiles[0].pk}/tags/", {"action": "add", "name": "Sunset"})
    response = client.post(f"/images/{tiles[1].pk}/tags/", {"action": "add", "name": "SUNSET"})

    assert list(Tag.objects.values_list("name", flat=True)) == ["Sunset"]
    assert ImageTag.objects.count() == 2
    assert "beforeend:#tag-filter-list" not in response.content.decode()  # not new


def test_the_database_refuses_a_second_tag_differing_only_in_case(project: Any) -> None:
    from django.db import IntegrityError, transaction

    Tag.objects.create(project=project, name="Sunset")

    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.create(project=project, name="sunset")
    assert tag_for_name(project=project, name="SUNSET") == (Tag.objects.get(), False)


def test_the_same_name_in_two_projects_is_two_tags(
    project: Any, acme: Any, tiles: list[ResultImage]
) -> None:
    from tests.factories import make_project

    other = make_project(team=acme, name="Other")

    assert tag_for_name(project=project, name="keep")[1] is True
    assert tag_for_name(project=other, name="keep")[1] is True
    assert Tag.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "error"),
    [("   ", "Type a name for the tag."), ("x" * 41, "at most 40 characters")],
)
def test_a_tag_name_must_have_1_to_40_characters(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage], name: str, error: str
) -> None:
    client.force_login(bob)

    response = client.post(
        f"/images/{tiles[0].pk}/tags/", {"action": "add", "name": name}, headers=HX
    )

    assert response.status_code == 422
    assert error in response.content.decode()
    assert not Tag.objects.exists()


def test_a_40_character_name_is_fine(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    client.post(f"/images/{tiles[0].pk}/tags/", {"action": "add", "name": "y" * 40})

    assert Tag.objects.get().name == "y" * 40


def test_a_tag_comes_off_one_image_and_stays_on_the_others(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    tag = Tag.objects.create(project=project, name="keep")
    for image in tiles[:2]:
        ImageTag.objects.create(image=image, tag=tag)
    client.force_login(bob)

    response = client.post(
        f"/images/{tiles[0].pk}/tags/", {"action": "remove", "name": "KEEP"}, headers=HX
    )

    assert response.status_code == 200
    assert list(ImageTag.objects.values_list("image", flat=True)) == [tiles[1].pk]
    assert Tag.objects.exists()  # the tag itself stays, for the others


# --- bulk ------------------------------------------------------------------------------


def test_bulk_favourite_and_unfavourite(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    response = bulk(client, project, "favourite", tiles[:3])

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#notice"
    body = response.content.decode()
    assert "Added 3 images to your favourites." in body
    for image in tiles[:3]:
        assert f'id="heart-tile-{image.pk}" aria-pressed="true"' in body
    assert Favourite.objects.filter(user=bob).count() == 3

    bulk(client, project, "unfavourite", tiles[:2])
    assert list(Favourite.objects.values_list("image", flat=True)) == [tiles[2].pk]


def test_bulk_tag_adds_and_removes_a_tag_made_on_the_way(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    added = bulk(client, project, "tag-add", tiles, tag=" Hero shots ")
    again = bulk(client, project, "tag-add", tiles[:2], tag="hero SHOTS")

    assert "Tagged 4 images “Hero shots”." in added.content.decode()
    assert f'id="tile-tags-{tiles[0].pk}" hx-swap-oob="true"><span class="tag-chip">Hero shots' in (
        added.content.decode()
    )
    assert again.status_code == 200
    assert Tag.objects.count() == 1 and ImageTag.objects.count() == 4
    assert ImageTag.objects.filter(added_by=bob).count() == 4

    removed = bulk(client, project, "tag-remove", tiles[1:], tag="hero shots")
    assert "Took the tag “Hero shots” off 3 images." in removed.content.decode()
    assert list(ImageTag.objects.values_list("image", flat=True)) == [tiles[0].pk]


def test_bulk_untag_of_a_tag_that_does_not_exist_says_so(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    response = bulk(client, project, "tag-remove", tiles, tag="nothing")

    assert response.status_code == 422
    assert "There is no tag “nothing”." in response.content.decode()


def test_a_bulk_change_needs_a_selection_and_a_known_action(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    nothing = bulk(client, project, "favourite", [])
    unknown = bulk(client, project, "delete-everything", tiles)

    assert nothing.status_code == 422 and "Select some images first." in nothing.content.decode()
    assert unknown.status_code == 400
    assert not Favourite.objects.exists()


# --- archive ----------------------------------------------------------------------------


def test_archiving_hides_images_and_the_archived_filter_shows_them_with_restore(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    response = bulk(client, project, "archive", tiles[:2])

    body = response.content.decode()
    assert "Archived 2 images." in body
    assert f'<figure id="tile-{tiles[0].pk}" hx-swap-oob="delete">' in body
    gallery = client.get(gallery_url(project)).content.decode()
    archived = client.get(gallery_url(project, "?archived=1")).content.decode()
    assert f'id="tile-{tiles[0].pk}"' not in gallery and f'id="tile-{tiles[2].pk}"' in gallery
    assert f'id="tile-{tiles[0].pk}"' in archived and f'id="tile-{tiles[2].pk}"' not in archived
    assert "data-archived" in archived and 'value="restore"' in archived
    # Shown as archived (dimmed, and said under the prompt); the others are not.
    assert re.search(rf'class="tile ar-\d+ is-archived" id="tile-{tiles[0].pk}"', archived)
    assert " · Archived</span>" in archived
    assert "is-archived" not in gallery and " · Archived</span>" not in gallery
    assert ResultImage.objects.filter(archived_at__isnull=False).count() == 2


def test_restoring_brings_images_back(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)
    bulk(client, project, "archive", tiles)

    response = bulk(client, project, "restore", tiles[:1])

    assert "Restored 1 image to the gallery." in response.content.decode()
    gallery = client.get(gallery_url(project)).content.decode()
    assert f'id="tile-{tiles[0].pk}"' in gallery and f'id="tile-{tiles[1].pk}"' not in gallery


def test_archive_and_restore_from_the_lightbox(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)
    url = f"/images/{tiles[0].pk}/archive/"

    archived = client.post(url, {"archived": "1"}, headers=HX).content.decode()
    tiles[0].refresh_from_db()
    assert tiles[0].archived_at is not None
    assert "Restore" in archived and f'id="tile-{tiles[0].pk}" hx-swap-oob="delete"' in archived
    # An archived image still opens (from the Archived filter), with Restore.
    assert "Restore" in client.get(f"/images/{tiles[0].pk}/view/").content.decode()

    client.post(url, {"archived": "0"})
    tiles[0].refresh_from_db()
    assert tiles[0].archived_at is None


def test_an_archived_image_is_not_pushed_or_counted_as_gallery(
    project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    from studio.gallery.live import new_tiles_html
    from studio.generation.live import job_for_card

    ResultImage.objects.filter(pk=tiles[0].pk).update(archived_at="2026-01-01T00:00Z")

    html = new_tiles_html(job_for_card(tiles[0].job_id), kept_before=())

    assert f'id="tile-{tiles[0].pk}"' not in html and f'id="tile-{tiles[1].pk}"' in html
