"""A link stops working the moment it is revoked or expires; unknown tokens find nothing."""

from typing import Any

import pytest
from django.test import Client

from tests.sharing.helpers import in_the_past, make_grid, make_share


@pytest.fixture
def tile(project: Any, bob: Any) -> Any:
    return make_grid(project=project, user=bob).images.get(index=1)


def test_revoking_cuts_the_page_and_its_images_on_the_very_next_request(
    client: Client, project: Any, alice: Any, tile: Any
) -> None:
    share = make_share(project=project, user=alice)
    visitor = Client()
    image_path = f"/s/{share.token}/images/{tile.pk}/thumb/"
    assert visitor.get(f"/s/{share.token}/").status_code == 200
    etag = visitor.get(image_path)["ETag"]
    client.force_login(alice)

    client.post(f"/projects/{project.pk}/shares/{share.pk}/revoke/")

    page = visitor.get(f"/s/{share.token}/")
    assert page.status_code == 410
    assert "This link was revoked" in page.content.decode()
    assert visitor.get(f"/s/{share.token}/i/{tile.pk}/").status_code == 410
    assert visitor.get(image_path).status_code == 404
    # A browser revalidating what it kept gets no 304 either.
    assert visitor.get(image_path, headers={"If-None-Match": etag}).status_code == 404


def test_an_expired_link_answers_410(client: Client, project: Any, alice: Any, tile: Any) -> None:
    share = make_share(project=project, user=alice, expires_at=in_the_past(minutes=1))

    page = client.get(f"/s/{share.token}/")

    assert page.status_code == 410
    assert "This link expired" in page.content.decode()
    assert client.get(f"/s/{share.token}/i/{tile.pk}/").status_code == 410
    assert client.get(f"/s/{share.token}/images/{tile.pk}/small/").status_code == 404


def test_the_gone_page_keeps_the_public_pages_headers(
    client: Client, project: Any, alice: Any
) -> None:
    share = make_share(project=project, user=alice, revoked_at=in_the_past(seconds=1))

    response = client.get(f"/s/{share.token}/")

    assert response["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" in response
    assert '<meta name="robots" content="noindex' in response.content.decode()


def test_an_unknown_token_is_a_404(client: Client, project: Any, alice: Any, tile: Any) -> None:
    make_share(project=project, user=alice)

    assert client.get("/s/not-a-real-token/").status_code == 404
    assert client.get(f"/s/not-a-real-token/i/{tile.pk}/").status_code == 404
    assert client.get(f"/s/not-a-real-token/images/{tile.pk}/thumb/").status_code == 404


def test_a_link_makes_nothing_changeable(client: Client, project: Any, alice: Any) -> None:
    share = make_share(project=project, user=alice)

    assert client.post(f"/s/{share.token}/").status_code == 405
