"""The lightbox of one image of a LegNext grid: which provider made it, that image's
follow-ups in groups, its seed as it came with the result, and what LegNext no longer
allows greyed out with the reason."""

import re
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from tests.factories import make_key, make_legnext_grid


def view(client: Client, image: Any) -> str:
    response = client.get(f"/images/{image.pk}/view/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_legnext_tile_offers_its_own_menu_and_says_where_it_was_made(
    client: Client, project: Any, bob: Any, acme: Any
) -> None:
    key = make_key(team=acme, provider="legnext")
    grid = make_legnext_grid(project=project, user=bob, provider_key=key)
    tile = grid.quadrant_image(2)
    client.force_login(bob)

    html = view(client, tile)

    assert '<span class="chip provider-chip" title="Made through LegNext">LegNext</span>' in html
    assert "<dt>Seed</dt><dd><code>123</code>" in html  # it came with the result
    menu = html[html.index('class="image-menu image-menu-2 in-viewer"') :]
    for name in ("upscale_subtle:2", "vary_strong:2", "pan_up:2", "zoom_2:2", "remix_subtle:2"):
        assert f'{{"action": "{name}"}}' in menu
    assert ":1" not in menu.split("</section>")[0] and '"reroll"' not in html
    assert f'href="/jobs/{grid.pk}/region/?action=region%3A2"' in menu
    assert f'id="zoom-{grid.pk}-2"' in menu and f'id="remix-{grid.pk}-2"' in menu
    assert 'data-follow-up="Upscale image 2, keeping it as it is"' in menu


def test_a_legnext_tile_older_than_three_days_shows_its_follow_ups_disabled(
    client: Client, project: Any, bob: Any, acme: Any
) -> None:
    key = make_key(team=acme, provider="legnext")
    grid = make_legnext_grid(
        project=project, user=bob, provider_key=key, made_at=timezone.now() - timedelta(days=4)
    )
    client.force_login(bob)

    html = view(client, grid.quadrant_image(1))

    button = re.search(r'<button[^>]*data-action="vary_subtle:1"[^>]*>', html)
    assert button is not None and 'aria-disabled="true"' in button[0]
    assert "hx-post" not in button[0]
    assert "LegNext allows follow-ups for 3 days after a job; this one is older." in html
