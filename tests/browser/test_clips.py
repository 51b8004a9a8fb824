"""Clips in a real browser against a real Studio: a card's clip plays its preview while
pointed at (and not for someone who asked for less motion), the lightbox plays the clip
itself and ← → still step, a cut-out sits on its checkerboard, and the gallery's Kind
filter shows the clips with their badges. Screenshots in light and dark, wide and narrow."""

import time
from typing import Any

from playwright.sync_api import Locator, Page, expect

from studio.generation.models import Job
from tests.browser.conftest import screenshot, wait_until
from tests.browser.test_feed_cards import open_feed
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_clip_job, make_cutout_job


def playing(page: Page, video: Locator) -> None:
    """Wait until the video has a frame to show and its clock moves on, as a person
    would see it play."""
    handle = video.element_handle()
    deadline = time.monotonic() + 45
    while page.evaluate("v => v.readyState", handle) < 2:
        assert time.monotonic() < deadline, "the video never had a frame to show"
        time.sleep(0.05)
    start = page.evaluate("v => v.currentTime", handle)
    while page.evaluate("v => v.currentTime", handle) <= start + 0.2:
        assert time.monotonic() < deadline, "the video's time did not advance"
        time.sleep(0.05)
    assert not page.evaluate("v => v.paused", handle)


def setup(project: Any, bob: Any) -> tuple[Job, Job]:
    cutout = make_cutout_job(project=project, user=bob)
    clips = make_clip_job(project=project, user=bob, prompt="waves rolling onto a pebble beach")
    return clips, cutout


def test_a_clip_plays_on_hover_and_in_the_lightbox(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    clips, _ = setup(project, bob)
    first, second = clips.clips[:2]
    open_feed(page, server, project)  # the socket's snapshot in: cards stay put
    card = page.locator(f"#job-{clips.pk}")
    cell = card.locator(".clip-1")
    video = cell.locator("video")

    expect(video).to_have_attribute("poster", f"/images/{first.pk}/small/")
    assert video.evaluate("v => v.readyState") == 0  # nothing fetched before a hover
    expect(card.locator(".clip-badge").first).to_have_text("0:03")

    cell.hover()
    playing(page, video)
    screenshot(page, "clips-card-hover-1280-light")

    page.mouse.move(5, 5)
    wait_until(page, f"document.querySelector('#job-{clips.pk} .clip-1 video').paused")
    assert card.locator(".clip-2 video").evaluate("v => v.paused")

    cell.click()
    viewer_video = page.locator(f"#viewer-{first.pk} video.viewer-video")
    expect(viewer_video).to_be_visible()
    expect(viewer_video.locator("source")).to_have_attribute("src", f"/images/{first.pk}/video/")
    playing(page, viewer_video)
    screenshot(page, "clips-lightbox-1280-light")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "clips-lightbox-1280-dark")

    page.keyboard.press("ArrowRight")
    second_video = page.locator(f"#viewer-{second.pk} video.viewer-video")
    playing(page, second_video)
    second_video.click()  # the player has the focus: ← still steps back
    page.keyboard.press("ArrowLeft")
    expect(page.locator(f"#viewer-{first.pk}")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).not_to_be_visible()

    screenshot(page, "clips-feed-1280-dark")
    page.set_viewport_size({"width": 390, "height": 844})
    card.scroll_into_view_if_needed()
    screenshot(page, "clips-feed-390-dark")
    cell.click()
    playing(page, viewer_video)
    screenshot(page, "clips-lightbox-390-dark")
    page.emulate_media(color_scheme="light")
    screenshot(page, "clips-lightbox-390-light")


def test_with_less_motion_a_hover_plays_nothing_but_the_lightbox_does(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    clips, _ = setup(project, bob)
    first = clips.clips[0]
    page.emulate_media(reduced_motion="reduce")
    open_feed(page, server, project)  # the socket's snapshot in: cards stay put
    cell = page.locator(f"#job-{clips.pk} .clip-1")

    cell.hover()
    time.sleep(1)
    assert cell.locator("video").evaluate("v => v.paused && v.readyState === 0")

    cell.click()
    playing(page, page.locator(f"#viewer-{first.pk} video.viewer-video"))


def test_a_cutout_shows_on_its_checkerboard(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    _, cutout = setup(project, bob)
    image = cutout.images.get()
    open_feed(page, server, project)  # the socket's snapshot in: cards stay put
    card_image = page.locator(f"#job-{cutout.pk} img.job-image")
    expect(card_image).to_have_class("job-image checker")
    card_image.scroll_into_view_if_needed()
    assert "conic-gradient" in card_image.evaluate("i => getComputedStyle(i).backgroundImage")
    screenshot(page, "cutout-card-1280-light")

    page.locator(f"#job-{cutout.pk} .quad-link").click()
    shown = page.locator(f"#viewer-{image.pk} img.viewer-cutout")
    expect(shown).to_be_visible()
    wait_until(page, f"document.querySelector('#viewer-{image.pk} img.viewer-cutout').complete")
    screenshot(page, "cutout-lightbox-1280-light")
    light = shown.evaluate("i => getComputedStyle(i).backgroundColor")
    page.emulate_media(color_scheme="dark")
    assert shown.evaluate("i => getComputedStyle(i).backgroundColor") != light
    screenshot(page, "cutout-lightbox-1280-dark")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "cutout-lightbox-390-dark")


def test_the_gallery_filters_by_kind_and_plays_a_clip_tile_on_hover(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    clips, _ = setup(project, bob)
    log_in(page, server, "bob")
    page.goto(f"{server.url}/projects/{project.pk}/gallery/")
    expect(page.locator(".tile")).to_have_count(5)
    screenshot(page, "clips-gallery-1280-light")

    page.locator(".kind-filter").get_by_text("Videos").click()
    expect(page.locator(".tile")).to_have_count(4)
    expect(page).to_have_url(f"{server.url}/projects/{project.pk}/gallery/?kind=videos")
    expect(page.locator(".tile .clip-badge").first).to_have_text("0:03")
    screenshot(page, "clips-gallery-videos-1280-light")

    tile = page.locator(f"#tile-{clips.clips[0].pk}")
    tile.hover()
    playing(page, tile.locator("video"))

    page.locator(".kind-filter").get_by_text("Images").click()
    expect(page.locator(".tile")).to_have_count(1)
    expect(page.locator(".tile img.checker")).to_be_visible()

    page.locator(".kind-filter").get_by_text("Videos").click()
    expect(page.locator(".tile")).to_have_count(4)
    page.emulate_media(color_scheme="dark")
    screenshot(page, "clips-gallery-videos-1280-dark")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "clips-gallery-videos-390-dark")
    page.emulate_media(color_scheme="light")
    screenshot(page, "clips-gallery-videos-390-light")


def test_a_shared_clip_plays_for_anyone_with_the_link(
    server: StudioServer, page: Page, project: Any, alice: Any, bob: Any
) -> None:
    from tests.sharing.helpers import make_share

    clips, cutout = setup(project, bob)
    clip = clips.clips[0]
    clip_link = make_share(project=project, user=alice, image=clip)
    cutout_link = make_share(project=project, user=alice, image=cutout.images.get())

    page.goto(f"{server.url}/s/{clip_link.token}/")
    playing(page, page.locator("video.viewer-video"))
    screenshot(page, "shared-clip-1280-light")

    page.goto(f"{server.url}/s/{cutout_link.token}/")
    expect(page.locator(".viewer-stage img.checker")).to_be_visible()
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "shared-cutout-390-dark")
