"""The whole video and cut-out path as a member walks it, in a real browser against a
real Studio and its sandbox: make a grid, animate one of its images from the card, see
the four clips play when pointed at, extend one, then cut a grid image's background out
and see it on the checkerboard."""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from studio.generation.models import Job
from tests.browser.conftest import screenshot
from tests.browser.test_clips import playing
from tests.browser.test_operations import make_a_grid
from tests.conftest import StudioServer

# Rendering clips in the sandbox and posters in the worker takes a while on a loaded
# machine; a person waits for it too.
CLIPS_ARRIVE_MS = 120_000


@pytest.fixture
def legnext_only(acme: Any) -> Any:
    acme.provider_keys.update(provider="legnext", label="LegNext")
    return acme


def pick(card: Any, noun: str, number: int) -> None:
    card.get_by_role("radio", name=f"{noun} {number}").check(force=True)


def test_animate_a_tile_watch_the_clips_extend_one_and_cut_a_background_out(
    server: StudioServer, page: Page, legnext_only: Any, project: Any, bob: Any
) -> None:
    make_a_grid(page, server, project, "paper boats on a pond")
    grid = Job.objects.get(operation="imagine")
    grid_card = page.locator(f"#job-{grid.pk}")

    grid_card.locator(".quad-1").hover()
    pick(grid_card, "Image", 1)
    grid_card.locator(".image-menu-1").get_by_role("button", name="Animate…").click()
    dialog = page.get_by_role("dialog", name="Animate image 1")
    dialog.get_by_role("button", name="Generate").click()
    expect(dialog).to_be_hidden()

    video_card = page.locator("#job-list .job-card.op-animate").first
    clips = video_card.locator(".clip-cell video")
    expect(clips).to_have_count(4, timeout=CLIPS_ARRIVE_MS)
    for number in range(1, 5):
        cell = video_card.locator(f".clip-{number}")
        cell.hover()
        playing(page, cell.locator("video"))
    screenshot(page, "video-flow-clips-1280-light")

    pick(video_card, "Clip", 2)
    video_card.hover()
    screenshot(page, "video-flow-clip-menu-1280-light")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "video-flow-clip-menu-1280-dark")
    page.emulate_media(color_scheme="light")
    video_card.locator(".image-menu-2").get_by_role("button", name="Extend").click()
    extended = page.locator("#job-list .job-card.op-extend").first
    expect(extended.locator(".lineage-line")).to_contain_text("Extend clip 2 +4 s")
    expect(extended.locator(".clip-cell video")).to_have_count(4, timeout=CLIPS_ARRIVE_MS)
    longer = extended.locator(".clip-1")
    expect(longer.locator(".clip-badge")).to_have_text("0:09")
    longer.hover()
    playing(page, longer.locator("video"))

    grid_card.hover()  # its menu, still open on image 1, moves on to image 2
    pick(grid_card, "Image", 2)
    grid_card.locator(".image-menu-2").get_by_role("button", name="Remove background").click()
    cut = page.locator("#job-list .job-card.op-remove_bg").first
    expect(cut.locator("img.job-image.checker")).to_be_visible(timeout=CLIPS_ARRIVE_MS)
    page.emulate_media(color_scheme="dark")
    screenshot(page, "video-flow-cutout-1280-dark")
