"""Image work in a real browser against a real Studio and its sandbox: Edit on a canvas
(place the image, paint, send what the page showed and a mask of the canvas's true
size), Animate from a card's dialog (the new video card arrives), and how the buttons,
the dialog and the editor look in the light, the dark and on a phone."""

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from studio.generation.models import Job, ResultImage
from studio.inputs.models import InputImage
from tests.browser.conftest import loaded_size, screenshot, wait_until
from tests.browser.test_composer import PNG_IN_PAGE
from tests.browser.test_feed_cards import FIRST_CARDS_LOADED, open_feed
from tests.browser.test_operations import make_a_grid
from tests.conftest import StudioServer
from tests.factories import make_legnext_grid


@pytest.fixture
def legnext_only(acme: Any) -> Any:
    acme.provider_keys.update(provider="legnext", label="LegNext")
    return acme


@pytest.fixture
def grid(server: StudioServer, legnext_only: Any, project: Any, bob: Any) -> Job:
    """A stored LegNext grid whose images LegNext animates by follow-up."""
    job = make_legnext_grid(
        project=project, user=bob, provider_key=legnext_only.provider_keys.get(), files=True
    )
    job.output["actions"] += [f"animate:{n}" for n in range(1, 5)]
    job.save(update_fields=["output"])
    return job


def canvas_ready(page: Page) -> None:
    loaded_size(page.locator("#canvas-image"))
    wait_until(page, "document.getElementById('placed-field').value !== ''")


def shown_layout(page: Page) -> tuple[dict[str, int], dict[str, int]]:
    """The canvas and the image's place on it, as the page says and will send them."""
    canvas = json.loads(page.locator("#canvas-field").input_value())
    placed = json.loads(page.locator("#placed-field").input_value())
    expect(page.locator("#canvas-size")).to_have_text(f"{canvas['width']} × {canvas['height']}")
    expect(page.locator("#canvas-placed")).to_have_text(
        f"{placed['width']} × {placed['height']} px at {placed['x']}, {placed['y']}"
    )
    return canvas, placed


def paint_across_the_image(page: Page, canvas: dict[str, int], placed: dict[str, int]) -> None:
    """One stroke across the middle of the image, from a third of it to two thirds."""
    box = page.locator("#canvas-stage").bounding_box()
    assert box is not None
    per = box["width"] / canvas["width"]
    y = box["y"] + (placed["y"] + placed["height"] / 2) * per
    left = box["x"] + (placed["x"] + placed["width"] / 3) * per
    right = box["x"] + (placed["x"] + placed["width"] * 2 / 3) * per
    page.mouse.move(left, y)
    page.mouse.down()
    page.mouse.move(right, y, steps=12)
    page.mouse.up()
    expect(page.locator("#canvas-status")).to_have_text(
        "1 stroke painted, and the canvas around the image."
    )


def open_the_editor_from_the_card(page: Page, grid: Job, number: int) -> None:
    card = page.locator(f"#job-{grid.pk}")
    card.locator(f".quad-{number}").hover()
    card.get_by_role("radio", name=f"Image {number}").check(force=True)
    card.locator(f".image-menu-{number}").get_by_role("link", name="Edit…").click()
    page.wait_for_url("**/images/edit/?source=*")
    canvas_ready(page)


def test_the_canvas_editor_sends_the_canvas_the_place_and_a_true_size_mask(
    server: StudioServer, page: Page, project: Any, grid: Job
) -> None:
    tile = grid.quadrant_image(2)
    assert tile is not None
    open_feed(page, server, project)
    open_the_editor_from_the_card(page, grid, 2)

    page.locator("label:has(input[value='16:9'])").click()
    canvas, centred = shown_layout(page)
    # The keyboard places it too: ← on the focused canvas moves it 1 % of the canvas.
    page.locator("#canvas-stage").focus()
    page.keyboard.press("ArrowLeft")
    canvas, placed = shown_layout(page)
    assert placed["x"] == centred["x"] - round(canvas["height"] * 0.01)
    assert canvas["width"] * 9 == canvas["height"] * 16
    assert 500 <= canvas["height"] and canvas["width"] == 1024  # at least 1024 px long
    # The image, at its shape, wholly on the canvas, with room around it.
    assert placed["width"] == placed["height"] and placed["x"] > 0 and placed["y"] > 0
    paint_across_the_image(page, canvas, placed)
    page.fill("#canvas-prompt", "a wide beach at sunset")
    screenshot(page, "image-work-canvas-painted")
    page.click("#canvas-form button[type=submit]")

    page.wait_for_url("**/jobs/*/")
    job = Job.objects.get(operation="edit")
    sent = job.parameters
    assert sent["canvas"] == canvas
    assert sent["placed"] == placed
    assert job.prompt == "a wide beach at sunset"
    mask = Image.open(io.BytesIO(base64.b64decode(sent["mask"])))
    assert mask.format == "PNG" and mask.size == (canvas["width"], canvas["height"])
    mask = mask.convert("L")
    x, y, width, height = placed["x"], placed["y"], placed["width"], placed["height"]
    assert mask.getpixel((x + width // 2, y + height // 2)) == 255  # painted
    assert mask.getpixel((x // 2, y // 2)) == 255  # the canvas outside the image
    assert mask.getpixel((canvas["width"] - 3, canvas["height"] - 3)) == 255
    assert mask.getpixel((x + width // 6, y + height // 6)) == 0  # the image, untouched
    assert mask.getpixel((x + width * 5 // 6, y + height * 5 // 6)) == 0
    # Not a follow-up of LegNext's grid: the image went as a link, as new work.
    sent_image = job.inputs.get()
    assert job.parent_id is None and (sent_image.width, sent_image.height) == (256, 256)


def test_animate_from_a_cards_dialog_in_720p_with_high_motion(
    server: StudioServer, page: Page, legnext_only: Any, project: Any, bob: Any
) -> None:
    make_a_grid(page, server, project, "a harbour at dawn, boats bobbing")
    grid = Job.objects.get(operation="imagine")
    card = page.locator(f"#job-{grid.pk}")
    card.locator(".quad-3").hover()
    card.get_by_role("radio", name="Image 3").check(force=True)

    card.locator(".image-menu-3").get_by_role("button", name="Animate…").click()
    dialog = page.get_by_role("dialog", name="Animate image 3")
    expect(dialog).to_be_visible()
    generate = dialog.get_by_role("button", name="Generate")
    expect(generate).to_have_accessible_name("Generate $0.48")
    dialog.locator("label:has(input[value='720p'])").click()
    dialog.locator("label:has(input[value='high'])").click()
    expect(generate).to_have_accessible_name("Generate $1.536")
    dialog.get_by_label("Prompt").fill("boats rocking on the swell")
    generate.click()

    expect(dialog).to_be_hidden()
    video = page.locator("#job-list .job-card.op-animate").first
    expect(video.locator(".lineage-line")).to_contain_text("Animate · 720p · high motion")
    expect(page.locator("dialog[data-work-dialog]")).to_have_count(0)
    job = Job.objects.get(operation="animate")
    assert job.parent == grid and job.parameters["image"] == 3
    assert (job.parameters["motion"], job.parameters["resolution"]) == ("high", "720p")
    assert job.prompt == "boats rocking on the swell"


def test_the_dialog_says_a_refusal_in_place(
    server: StudioServer, page: Page, project: Any, grid: Job
) -> None:
    open_feed(page, server, project)
    card = page.locator(f"#job-{grid.pk}")
    card.locator(".quad-1").hover()
    card.get_by_role("radio", name="Image 1").check(force=True)
    card.locator(".image-menu-1").get_by_role("button", name="Retexture…").click()
    dialog = page.get_by_role("dialog", name="Retexture image 1")
    expect(dialog).to_be_visible()

    # Past the browser's own check (required), the server's sentence shows in the dialog.
    dialog.locator("textarea[name=prompt]").fill("--turbo marble")
    dialog.get_by_role("button", name="Generate").click()

    expect(dialog.locator("#work-refusal")).to_contain_text("Leave --turbo out of the prompt")
    expect(page.locator("#notice .toast")).to_have_count(0)
    assert not Job.objects.filter(operation="retexture").exists()
    page.keyboard.press("Escape")
    expect(page.locator("dialog[data-work-dialog]")).to_have_count(0)


@pytest.mark.parametrize(
    ("name", "viewport", "scheme"),
    [
        ("1280-light", (1280, 860), "light"),
        ("1280-dark", (1280, 860), "dark"),
        ("390-light", (390, 844), "light"),
        ("390-dark", (390, 844), "dark"),
    ],
)
def test_the_buttons_the_dialog_and_the_editor_look_right(
    server: StudioServer,
    browser: Browser,
    project: Any,
    grid: Job,
    name: str,
    viewport: tuple[int, int],
    scheme: Any,
) -> None:
    phone = viewport[0] < 500
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        device_scale_factor=2 if phone else 1,
        color_scheme=scheme,
        has_touch=phone,
        is_mobile=phone,
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    open_feed(page, server, project)
    wait_until(page, FIRST_CARDS_LOADED)
    card = page.locator(f"#job-{grid.pk}")
    if not phone:
        card.locator(".quad-2").hover()
    card.get_by_role("radio", name="Image 2").check(force=True)
    menu = card.locator(".image-menu-2")
    make = menu.locator(".group-work")
    expect(make.get_by_role("button", name="Animate…")).to_be_visible()
    expect(make.get_by_role("link", name="Edit…")).to_be_visible()
    if not phone:
        make.get_by_role("button", name="Remove background").hover()
    card.scroll_into_view_if_needed()
    screenshot(page, f"image-work-card-{name}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0

    make.get_by_role("button", name="Animate…").click()
    dialog = page.get_by_role("dialog", name="Animate image 2")
    expect(dialog).to_be_visible()
    wait_until(
        page,
        "[...document.querySelectorAll('#work-dialog img')].every(i => i.complete)",
    )
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport[0]
    screenshot(page, f"image-work-animate-dialog-{name}")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("dialog[data-work-dialog]")).to_have_count(0)

    tile = grid.quadrant_image(2)
    assert isinstance(tile, ResultImage)
    page.goto(f"{server.url}/projects/{project.pk}/images/edit/?source=result:{tile.pk}")
    canvas_ready(page)
    page.locator("label:has(input[value='16:9'])").click()
    canvas, placed = shown_layout(page)
    paint_across_the_image(page, canvas, placed)
    page.fill("#canvas-prompt", "a wide beach at sunset")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top
    screenshot(page, f"image-work-canvas-{name}", full_page=True)
    context.close()


def test_an_image_dropped_on_the_composer_is_animated_or_cut_out(
    server: StudioServer, page: Page, legnext_only: Any, project: Any, bob: Any
) -> None:
    open_feed(page, server, project)

    page.evaluate(PNG_IN_PAGE, ["drop", "#2a9d8f"])
    chooser = page.get_by_role("dialog", name="Use the image as")
    chooser.get_by_role("button", name="Animate…").click()
    dialog = page.get_by_role("dialog", name="Animate the image")
    expect(dialog).to_be_visible()
    expect(chooser).to_be_hidden()
    upload = InputImage.objects.get(project=project)
    expect(dialog.locator("input[name=source]")).to_have_value(f"input:{upload.pk}")
    dialog.get_by_role("button", name="Cancel").click()

    page.evaluate(PNG_IN_PAGE, ["paste", "#2a9d8f"])  # the same bytes: the same upload
    chooser.get_by_role("button", name="Remove background").click()

    cut_out = page.locator("#job-list .job-card.op-remove_bg")
    expect(cut_out).to_have_count(1)
    job = Job.objects.get(operation="remove_bg")
    assert list(job.inputs.all()) == [upload]
