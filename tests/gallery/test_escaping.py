"""A prompt is text everywhere the gallery shows it: tiles, the lightbox, pushed tiles,
tag names."""

from typing import Any

import pytest
from django.test import Client

from studio.gallery.live import new_tiles_html
from studio.gallery.models import ImageTag, Tag
from studio.generation.live import job_for_card
from studio.generation.models import ResultImage
from tests.gallery.conftest import HX, gallery_url, make_grid

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> {{ 7*7 }}"


def assert_inert(html: str) -> None:
    assert "<script>alert(1)" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and ">49<" not in html


@pytest.fixture
def hostile(project: Any, bob: Any) -> list[ResultImage]:
    tiles = make_grid(project=project, user=bob, prompt=HOSTILE)
    tag = Tag.objects.create(project=project, name='"><b>bold</b>')
    ImageTag.objects.create(image=tiles[0], tag=tag)
    return tiles


def test_a_hostile_prompt_is_text_in_the_gallery(
    client: Client, project: Any, bob: Any, hostile: list[ResultImage]
) -> None:
    client.force_login(bob)

    page = client.get(gallery_url(project)).content.decode()
    found = client.get(gallery_url(project, "?q=script"), headers=HX).content.decode()

    assert_inert(page)
    assert_inert(found)
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def test_a_hostile_prompt_is_text_in_the_lightbox(
    client: Client, project: Any, bob: Any, hostile: list[ResultImage]
) -> None:
    client.force_login(bob)

    assert_inert(client.get(f"/images/{hostile[0].pk}/view/").content.decode())
    assert_inert(client.get(f"/images/{hostile[0].pk}/view/", headers=HX).content.decode())


def test_a_hostile_prompt_is_text_in_pushed_tiles(hostile: list[ResultImage]) -> None:
    assert_inert(new_tiles_html(job_for_card(hostile[0].job_id), kept_before=()))


def test_the_gallery_pages_carry_a_strict_content_security_policy(
    client: Client, project: Any, bob: Any, hostile: list[ResultImage]
) -> None:
    client.force_login(bob)

    for url in (gallery_url(project), f"/images/{hostile[0].pk}/view/"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy
