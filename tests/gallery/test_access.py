"""Who may do what in a gallery: members everything, viewers look, favourite and download
(but not tag or archive: 403), other teams nothing (404), visitors are sent to log in."""

from typing import Any

import pytest
from django.test import Client

from studio.gallery.models import Favourite, ImageTag, Tag
from studio.generation.models import ResultImage
from tests.gallery.conftest import HX, gallery_url, make_grid


@pytest.fixture
def tiles(project: Any, bob: Any) -> list[ResultImage]:
    return make_grid(project=project, user=bob, prompt="a quiet harbour", files=True)


def every_gallery_request(project: Any, image: ResultImage) -> list[tuple[str, str, dict]]:
    return [
        ("get", gallery_url(project), {}),
        ("get", gallery_url(project, "?after=1.1"), {}),
        ("get", f"/images/{image.pk}/view/", {}),
        ("get", f"/images/{image.pk}/small/", {}),
        ("post", f"/projects/{project.pk}/gallery/download/", {"images": [image.pk]}),
        (
            "post",
            f"/projects/{project.pk}/gallery/bulk/",
            {"action": "favourite", "images": [image.pk]},
        ),
        ("post", f"/images/{image.pk}/favourite/", {"favourite": "1"}),
        ("post", f"/images/{image.pk}/tags/", {"action": "add", "name": "x"}),
        ("post", f"/images/{image.pk}/archive/", {"archived": "1"}),
    ]


def test_a_member_sees_the_gallery_with_every_tile(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    page = client.get(gallery_url(project)).content.decode()

    for tile in tiles:
        assert f'id="tile-{tile.pk}"' in page
    assert "a quiet harbour" in page
    assert 'value="archive"' in page and 'name="tag"' in page  # members tag and archive


def test_someone_from_another_team_gets_404_everywhere_and_changes_nothing(
    client: Client, project: Any, charlie: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(charlie)

    for method, url, data in every_gallery_request(project, tiles[0]):
        for headers in ({}, HX):
            response = getattr(client, method)(url, data, headers=headers)
            assert response.status_code == 404, (method, url, response.status_code)

    assert not Favourite.objects.exists() and not Tag.objects.exists()
    assert ResultImage.objects.filter(archived_at__isnull=False).count() == 0


def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in(
    client: Client, project: Any, tiles: list[ResultImage]
) -> None:
    for method, url, data in every_gallery_request(project, tiles[0]):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/accounts/login/")


def test_a_viewer_browses_opens_favourites_and_downloads(
    client: Client, project: Any, vera: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(vera)
    image = tiles[0]

    page = client.get(gallery_url(project)).content.decode()
    view = client.get(f"/images/{image.pk}/view/")
    favourite = client.post(f"/images/{image.pk}/favourite/", {"favourite": "1"})
    download = client.post(f"/projects/{project.pk}/gallery/download/", {"images": [image.pk]})

    assert f'id="tile-{image.pk}"' in page
    assert 'value="archive"' not in page and 'value="tag-add"' not in page
    assert view.status_code == 200
    assert 'class="tag-add"' not in view.content.decode()
    assert favourite.status_code == 200
    assert Favourite.objects.filter(user=vera, image=image).exists()
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"


@pytest.mark.parametrize("action", ["tag-add", "tag-remove", "archive", "restore"])
def test_a_viewer_may_not_tag_or_archive_in_bulk(
    client: Client, project: Any, vera: Any, tiles: list[ResultImage], action: str
) -> None:
    client.force_login(vera)

    response = client.post(
        f"/projects/{project.pk}/gallery/bulk/",
        {"action": action, "images": [tile.pk for tile in tiles], "tag": "keep"},
        headers=HX,
    )

    assert response.status_code == 403
    assert not Tag.objects.exists() and not ImageTag.objects.exists()
    assert not ResultImage.objects.filter(archived_at__isnull=False).exists()


def test_a_viewer_may_not_tag_or_archive_one_image_either(
    client: Client, project: Any, vera: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(vera)
    image = tiles[0]

    tagged = client.post(f"/images/{image.pk}/tags/", {"action": "add", "name": "keep"})
    archived = client.post(f"/images/{image.pk}/archive/", {"archived": "1"})

    assert (tagged.status_code, archived.status_code) == (403, 403)
    image.refresh_from_db()
    assert image.archived_at is None and not Tag.objects.exists()


def test_a_whole_grid_image_is_not_a_gallery_image(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    grid = ResultImage.objects.get(job=tiles[0].job, index=0)
    client.force_login(bob)

    assert client.get(f"/images/{grid.pk}/view/").status_code == 404


def test_images_of_another_project_are_left_out_of_a_bulk_change(
    client: Client, project: Any, bob: Any, charlie: Any, globex: Any, tiles: list[ResultImage]
) -> None:
    from tests.factories import make_project

    theirs = make_grid(project=make_project(team=globex, name="Theirs"), user=charlie)
    client.force_login(bob)

    response = client.post(
        f"/projects/{project.pk}/gallery/bulk/",
        {"action": "archive", "images": [theirs[0].pk, tiles[0].pk]},
        headers=HX,
    )

    assert response.status_code == 200
    assert list(ResultImage.objects.filter(archived_at__isnull=False)) == [tiles[0]]
