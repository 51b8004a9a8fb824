"""A link to one image shows that image and nothing else of the project."""

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.sharing.helpers import make_grid, make_share


@pytest.fixture
def grid(project: Any, bob: Any) -> Any:
    return make_grid(project=project, user=bob, prompt="a paper boat on a pond")


def test_a_one_image_link_opens_on_that_images_page(
    client: Client, project: Any, alice: Any, grid: Any
) -> None:
    tile = grid.images.get(index=2)
    share = make_share(project=project, user=alice, image=tile)

    response = client.get(f"/s/{share.token}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "a paper boat on a pond" in html
    assert f"/s/{share.token}/images/{tile.pk}/thumb/" in html
    others = grid.images.exclude(pk=tile.pk)
    assert not any(f"/images/{image.pk}/" in html for image in others)
    assert "data-older" not in html and "data-newer" not in html  # no way to the rest


def test_a_one_image_link_refuses_the_projects_other_images(
    client: Client, project: Any, alice: Any, grid: Any
) -> None:
    tile, sibling = grid.images.get(index=2), grid.images.get(index=3)
    share = make_share(project=project, user=alice, image=tile)

    assert client.get(f"/s/{share.token}/i/{tile.pk}/").status_code == 200
    assert client.get(f"/s/{share.token}/i/{sibling.pk}/").status_code == 404
    for size in ("thumb", "small", "full"):
        assert client.get(f"/s/{share.token}/images/{tile.pk}/{size}/").status_code == 200
        assert client.get(f"/s/{share.token}/images/{sibling.pk}/{size}/").status_code == 404


def test_a_one_image_link_whose_image_was_archived_says_so(
    client: Client, project: Any, alice: Any, grid: Any
) -> None:
    tile = grid.images.get(index=1)
    share = make_share(project=project, user=alice, image=tile)
    tile.archived_at = timezone.now()
    tile.save()

    response = client.get(f"/s/{share.token}/")

    assert response.status_code == 410
    assert "This image is no longer shared" in response.content.decode()
    assert client.get(f"/s/{share.token}/images/{tile.pk}/thumb/").status_code == 404
