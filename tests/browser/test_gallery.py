"""The gallery in a real browser against a real Studio: infinite scroll, the lightbox and
its keys, selection, and a new result arriving live."""

import io
import re
from typing import Any

import pytest
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageOps
from playwright.sync_api import Browser, Page, expect

from studio.generation.models import Job, ResultImage, Status
from tests.browser.conftest import screenshot, wait_until
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_job

PROMPTS = [
    "a lighthouse on a cliff at dusk, volumetric fog",
    "a red fox asleep in fresh snow, soft morning light",
    "neon alley in the rain, reflections, 35mm",
    "an owl made of paper, studio lighting",
    "glacier cave, turquoise ice, tiny explorer",
    "desert dunes at noon, long shadows, minimal",
]
RATIOS = [(1, 1), (16, 9), (2, 3), (4, 3), (9, 16), (3, 2)]
PALETTES = [
    ("#1d2b53", "#ff9e6d"),
    ("#2b1b3d", "#f2c14e"),
    ("#0b3d3a", "#8ee3c8"),
    ("#3a1c1c", "#f28b82"),
    ("#1b263b", "#a3c4f3"),
    ("#2d2a32", "#e9d8a6"),
]


def picture(width: int, height: int, n: int, fmt: str) -> bytes:
    """A soft gradient with a sun and a horizon: enough to tell images apart."""
    dark, light = PALETTES[n % len(PALETTES)]
    base = Image.linear_gradient("L").resize((width, height))
    image = ImageOps.colorize(base, black=light, white=dark).convert("RGB")
    draw = ImageDraw.Draw(image)
    radius = min(width, height) // 6
    x, y = width * (0.25 + 0.5 * ((n * 37) % 10) / 10), height * 0.38
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=light)
    draw.rectangle((0, int(height * 0.68), width, height), fill=dark)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def fill_gallery(project: Any, user: Any, grids: int) -> list[ResultImage]:
    """`grids` finished imagines with four stored tiles each, as the worker leaves them."""
    tiles = []
    for n in range(grids):
        ratio = RATIOS[n % len(RATIOS)]
        width, height = (ratio[0] * 384 // max(ratio), ratio[1] * 384 // max(ratio))
        job = make_job(
            project=project,
            user=user,
            prompt=PROMPTS[n % len(PROMPTS)],
            aspect_ratio=f"{ratio[0]}:{ratio[1]}",
            status=Status.COMPLETED,
            output={"actions": ["upscale1", "upscale2", "upscale3", "upscale4", "variation1"]},
            prompt_parameters={"stylize": "250"} if n % 2 else {},
        )
        for index in range(1, 5):
            tiles.append(store_image(job, index, (width, height), n * 4 + index))
    return tiles


def store_image(job: Job, index: int, size: tuple[int, int], n: int) -> ResultImage:
    """Image `index` of the job (0 the grid), stored as the worker leaves it."""
    image = ResultImage(job=job, index=index, width=size[0], height=size[1])
    png = picture(*size, n, "PNG")
    webp = picture(*size, n, "WEBP")
    image.file.save(f"g-{job.pk}-{index}.png", ContentFile(png), save=False)
    image.thumbnail.save(f"g-{job.pk}-{index}.webp", ContentFile(webp), save=False)
    image.thumbnail_small.save(f"g-{job.pk}-{index}-s.webp", ContentFile(webp), save=False)
    image.save()
    return image


def newest_first(tiles: list[ResultImage]) -> list[int]:
    return [image.pk for image in sorted(tiles, key=lambda i: (i.created_at, i.pk), reverse=True)]


@pytest.fixture
def gallery(server: StudioServer, project: Any, bob: Any) -> list[ResultImage]:
    return fill_gallery(project, bob, grids=15)  # 60 tiles: more than a page of 48


def open_gallery(page: Page, server: StudioServer, project: Any) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    page.get_by_role("link", name="Gallery").click()
    page.wait_for_url(f"**/projects/{project.pk}/gallery/")
    expect(page.locator("#gallery.ws-open")).to_be_attached()  # the live socket is up


def test_a_member_scrolls_opens_and_steps_through_the_gallery_with_the_keyboard(
    server: StudioServer, page: Page, project: Any, gallery: list[ResultImage]
) -> None:
    order = newest_first(gallery)
    open_gallery(page, server, project)
    tiles = page.locator("#gallery-grid .tile")
    expect(tiles).to_have_count(48)
    wait_until(page, "[...document.images].slice(0, 12).every(i => i.complete)")
    screenshot(page, "gallery-light")

    page.locator("#gallery-more").scroll_into_view_if_needed()
    expect(tiles).to_have_count(60)
    expect(page.locator(".gallery-end")).to_be_visible()
    assert tiles.evaluate_all("all => all.map(t => +t.id.slice(5))") == order

    page.evaluate("window.scrollTo(0, 0)")
    tiles.nth(1).locator(".tile-link").click()
    dialog = page.locator("dialog#lightbox")
    expect(dialog).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/images/{order[1]}/view/$"))
    expect(dialog.locator(".viewer-prompt")).to_have_text(
        ResultImage.objects.get(pk=order[1]).job.prompt
    )
    wait_until(page, "document.querySelector('#lightbox .viewer-image').naturalWidth > 0")
    screenshot(page, "gallery-lightbox")

    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(rf"/images/{order[2]}/view/$"))
    expect(dialog.locator(f"#viewer-{order[2]}")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(rf"/images/{order[0]}/view/$"))
    expect(dialog.locator("[data-nav=prev]")).to_have_count(0)  # the newest has none

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/gallery/$"))
    expect(tiles).to_have_count(60)  # the gallery is as it was, scrolled pages and all

    # The browser's back and forward buttons close and reopen it over the same gallery.
    tiles.nth(3).locator(".tile-link").click()
    expect(dialog).to_be_visible()
    page.go_back()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/gallery/$"))
    page.go_forward()
    expect(dialog.locator(f"#viewer-{order[3]}")).to_be_visible()
    expect(tiles).to_have_count(60)


def test_a_member_selects_tiles_and_favourites_them_in_bulk(
    server: StudioServer, page: Page, project: Any, gallery: list[ResultImage]
) -> None:
    open_gallery(page, server, project)
    tiles = page.locator("#gallery-grid .tile")

    tiles.nth(0).hover()
    tiles.nth(0).locator(".tile-check input").check()
    tiles.nth(2).hover()
    tiles.nth(2).locator(".tile-check input").click(modifiers=["Shift"])
    bar = page.locator("#bulk-form")
    expect(bar).to_be_visible()
    expect(bar.locator("[data-selected-count]")).to_have_text("3")
    screenshot(page, "gallery-selection")

    bar.get_by_role("button", name="Favourite", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Added 3 images to your favourites.")
    for n in range(3):
        expect(tiles.nth(n).locator(".heart")).to_have_attribute("aria-pressed", "true")

    page.locator("label.toggle-chip", has_text="My favourites").click()
    expect(page).to_have_url(re.compile(r"/gallery/\?fav=1$"))
    expect(page.locator("#gallery-grid-filtered .tile")).to_have_count(3)
    page.go_back()
    expect(page.locator("#gallery-grid .tile")).to_have_count(48)


def test_a_new_result_appears_at_the_top_while_watching(
    server: StudioServer, page: Page, project: Any, gallery: list[ResultImage]
) -> None:
    open_gallery(page, server, project)
    session = server.login("bob")

    response = session.post(
        f"{server.url}/projects/{project.pk}/jobs/",
        data={"prompt": "a paper boat on a puddle", "aspect_ratio": "1:1", "mode": "fast"},
        headers={"HX-Request": "true"},
        timeout=10,
    )

    assert response.status_code == 201
    first = page.locator("#gallery-grid .tile").first
    expect(first.locator(".tile-prompt")).to_have_text("a paper boat on a puddle", timeout=20_000)
    expect(page.locator("#gallery-grid .tile")).to_have_count(52)
    assert Job.objects.filter(prompt="a paper boat on a puddle").count() == 1
    expect(first.locator("img")).to_have_js_property("complete", True)
    screenshot(page, "gallery-new-result")


@pytest.mark.parametrize(
    ("name", "viewport", "scheme"),
    [("gallery-dark", (1280, 860), "dark"), ("gallery-phone-390", (390, 844), "light")],
)
def test_the_gallery_looks_right_in_the_dark_and_on_a_phone(
    server: StudioServer,
    browser: Browser,
    project: Any,
    gallery: list[ResultImage],
    name: str,
    viewport: tuple[int, int],
    scheme: Any,
) -> None:
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        device_scale_factor=2 if viewport[0] < 500 else 1,
        color_scheme=scheme,
        has_touch=viewport[0] < 500,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    open_gallery(page, server, project)
    wait_until(page, "[...document.images].slice(0, 8).every(i => i.complete)")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(page, name)
    page.locator("#gallery-grid .tile-link").first.click()
    expect(page.locator("dialog#lightbox")).to_be_visible()
    wait_until(page, "document.querySelector('#lightbox .viewer-image').complete")
    screenshot(page, f"{name}-lightbox")
    context.close()
