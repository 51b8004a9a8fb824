"""A gallery link's public pages: what a visitor without an account sees, and what never."""

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from studio.sharing import services
from studio.sharing.models import ShareLink
from tests.factories import make_job, make_project
from tests.sharing.helpers import charge, make_grid, make_result, make_share, make_upscale

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> {{ 7*7 }}"


@pytest.fixture
def gallery(project: Any, alice: Any, bob: Any, acme: Any) -> dict[str, Any]:
    """Launch's gallery: a grid (one tile archived) and an upscale; plus another project's
    grid, a failed job's lost images and members with emails."""
    alice.email, bob.email = "alice@acme.test", "bob@acme.test"
    alice.save()
    bob.save()
    grid = make_grid(project=project, user=bob, prompt="a red fox in the snow")
    archived = grid.images.get(index=4)
    archived.archived_at = timezone.now()
    archived.save()
    upscale = make_upscale(project=project, user=alice, prompt="a red fox, upscaled")
    other = make_grid(project=make_project(team=acme, name="Secret"), user=bob, prompt="TOPSECRET")
    charge(grid, "0.045")
    charge(upscale, "0.0125")
    return {"grid": grid, "archived": archived, "upscale": upscale, "other": other}


def image_ids_on(html: str, share: ShareLink) -> set[int]:
    marker = f"/s/{share.token}/i/"
    return {int(part.split("/")[0]) for part in html.split(marker)[1:]}


def test_the_gallery_shows_only_that_projects_gallery_images(
    client: Client, project: Any, alice: Any, gallery: dict[str, Any]
) -> None:
    share = make_share(project=project, user=alice)

    response = client.get(f"/s/{share.token}/")

    html = response.content.decode()
    grid, upscale = gallery["grid"], gallery["upscale"]
    expected = {image.pk for image in grid.images.filter(index__in=[1, 2, 3])}
    expected.add(upscale.images.get().pk)
    assert response.status_code == 200
    assert image_ids_on(html, share) == expected  # no whole grid, nothing archived
    assert "Launch" in html and "4 images" in html
    assert "TOPSECRET" not in html and "Secret" not in html


def test_the_newest_images_come_first(
    client: Client, project: Any, alice: Any, gallery: dict[str, Any]
) -> None:
    share = make_share(project=project, user=alice)

    html = client.get(f"/s/{share.token}/").content.decode()

    upscale_image = gallery["upscale"].images.get()
    first_tile = html.index(f"/s/{share.token}/i/")
    assert html[first_tile:].startswith(f"/s/{share.token}/i/{upscale_image.pk}/")


def test_no_member_names_emails_or_costs_appear(
    client: Client, project: Any, alice: Any, bob: Any, gallery: dict[str, Any]
) -> None:
    share = make_share(project=project, user=alice)
    tile = gallery["grid"].images.get(index=1)

    for path in (f"/s/{share.token}/", f"/s/{share.token}/i/{tile.pk}/"):
        html = client.get(path).content.decode()
        for secret in ("alice", "bob", "@acme.test", "Acme", "$0.045", "$0.0125", "/jobs/"):
            assert secret not in html, (path, secret)


def without_tokens(html: str) -> str:
    """The page without its long random strings (CSRF and share tokens), which may
    contain any short name by chance."""
    return re.sub(r"[A-Za-z0-9_-]{24,}", "", html)


def test_costs_appear_when_the_link_shows_them(
    client: Client, project: Any, alice: Any, gallery: dict[str, Any]
) -> None:
    share = make_share(project=project, user=alice, show_costs=True)
    tile = gallery["grid"].images.get(index=2)

    gallery_html = client.get(f"/s/{share.token}/").content.decode()
    image_html = client.get(f"/s/{share.token}/i/{tile.pk}/").content.decode()

    assert "$0.045" in gallery_html and "$0.0125" in gallery_html
    assert "$0.0575 to make" in gallery_html  # the grid counted once, not per tile
    assert "$0.045" in image_html and "for the grid of four" in image_html
    assert "alice" not in without_tokens(gallery_html + image_html)


def test_the_image_page_shows_the_prompt_and_facts_without_the_maker(
    client: Client, project: Any, alice: Any, gallery: dict[str, Any]
) -> None:
    share = make_share(project=project, user=alice)
    tile = gallery["grid"].images.get(index=3)

    response = client.get(f"/s/{share.token}/i/{tile.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "a red fox in the snow" in html
    assert "1:1" in html and "Fast" in html
    assert tile.job.created_at.strftime("%Y") in html
    assert f"/s/{share.token}/images/{tile.pk}/full/" in html
    assert "bob" not in without_tokens(html)


def test_an_image_outside_the_gallery_is_not_shown(
    client: Client, project: Any, alice: Any, gallery: dict[str, Any]
) -> None:
    share = make_share(project=project, user=alice)
    refused = [
        gallery["archived"],
        gallery["grid"].images.get(index=0),
        gallery["other"].images.get(index=1),
    ]

    for image in refused:
        assert client.get(f"/s/{share.token}/i/{image.pk}/").status_code == 404
        for size in ("thumb", "small", "full"):
            response = client.get(f"/s/{share.token}/images/{image.pk}/{size}/")
            assert response.status_code == 404, (image, size)


def test_reference_image_addresses_in_a_prompt_are_not_shown(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    job = make_grid(
        project=project,
        user=bob,
        prompt="https://studio.test/inputs/abc/x.png a cat --sref https://x.test/y.png",
    )
    share = make_share(project=project, user=alice)
    tile = job.images.get(index=1)

    html = client.get(f"/s/{share.token}/i/{tile.pk}/").content.decode()

    assert "studio.test/inputs" not in html and "x.test" not in html
    assert "[reference image] a cat --sref [reference image]" in html


def test_a_hostile_prompt_is_text_on_the_public_pages(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    tile = make_grid(project=project, user=bob, prompt=HOSTILE).images.get(index=1)
    share = make_share(project=project, user=alice)

    for path in (f"/s/{share.token}/", f"/s/{share.token}/i/{tile.pk}/"):
        html = client.get(path).content.decode()
        assert "<script>alert(1)" not in html
        assert "<img src=x onerror" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "{{ 7*7 }}" in html and ">49<" not in html


def test_the_public_pages_carry_the_sites_security_headers(
    client: Client, project: Any, alice: Any, gallery: dict[str, Any]
) -> None:
    share = make_share(project=project, user=alice)
    tile = gallery["grid"].images.get(index=1)

    for path in (f"/s/{share.token}/", f"/s/{share.token}/i/{tile.pk}/"):
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy
        assert response["Referrer-Policy"] == "no-referrer"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-cache" in response["Cache-Control"]
        assert '<meta name="robots" content="noindex' in response.content.decode()


def test_a_visitor_sees_no_top_bar_and_no_way_into_the_team(
    client: Client, project: Any, alice: Any, gallery: dict[str, Any]
) -> None:
    share = make_share(project=project, user=alice)

    html = client.get(f"/s/{share.token}/").content.decode()

    assert 'class="topbar"' not in html
    assert f"/projects/{project.pk}/" not in html and "Log out" not in html


def test_the_gallery_pages_by_keyset_without_gaps_or_repeats(
    client: Client, project: Any, alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "GALLERY_PAGE_SIZE", 4)
    job = make_job(project=project, user=bob, status="completed", operation="upscale")
    first = make_result(job=job, index=0)
    for _ in range(9):
        make_upscale(project=project, user=bob)
    share = make_share(project=project, user=alice)
    seen: list[int] = []
    path = f"/s/{share.token}/"

    for _ in range(5):
        html = client.get(path, headers={"HX-Request": "true"}).content.decode()
        seen.extend(sorted(image_ids_on(html, share), reverse=True))
        if "?before=" not in html:
            break
        cursor = html.split('href="?before=')[1].split('"')[0]
        path = f"/s/{share.token}/?before={cursor}"

    assert len(seen) == 10 and len(set(seen)) == 10
    assert seen[-1] == first.pk  # the oldest last


def test_a_page_of_tiles_for_infinite_scroll_is_a_fragment(
    client: Client, project: Any, alice: Any, gallery: dict[str, Any]
) -> None:
    share = make_share(project=project, user=alice)

    response = client.get(f"/s/{share.token}/", headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and "share-tile" in html
    assert "HX-Request" in response["Vary"]


def test_a_garbled_page_cursor_shows_the_first_page(
    client: Client, project: Any, alice: Any, gallery: dict[str, Any]
) -> None:
    share = make_share(project=project, user=alice)

    for cursor in ("nonsense", "1.x", "9" * 40 + ".1", "9" * 20 + ".1", "-5.1", ""):
        response = client.get(f"/s/{share.token}/?before={cursor}")
        assert response.status_code == 200
