import base64
import io
from typing import Any

from PIL import Image
from playwright.sync_api import Page, expect

from studio.generation.models import Job
from tests.browser.conftest import loaded_size, region_canvas_ready, screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer


def make_a_grid(page: Page, server: StudioServer, project: Any, prompt: str) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()
    page.fill("textarea[name=prompt]", prompt)
    page.click("#prompt-form button[type=submit]")
    expect(page.locator(".job-card").first.locator("img.job-image")).to_be_visible()


def test_a_member_upscales_a_tile_then_pans_it(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    make_a_grid(page, server, project, "a lighthouse on a cliff at dusk")

    page.locator(".job-card").first.locator("button[data-action=upscale2]").click()
    upscale = page.locator(".job-card.op-upscale").first
    expect(upscale.locator(".lineage-line")).to_contain_text("U2")
    expect(upscale.locator("img.job-image")).to_be_visible()
    expect(upscale.locator("button[data-action=upscale1]")).to_have_count(0)  # not offered

    upscale.locator("button[data-action=pan_left]").click()
    panned = page.locator(".job-card.op-pan").first
    expect(panned.locator("img.job-image")).to_be_visible()
    width, height = loaded_size(panned.locator("img.job-image"))
    assert width > height  # the canvas grew to the left
    screenshot(page, "operations-upscale-pan")


def test_a_member_draws_a_vary_region_mask(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    make_a_grid(page, server, project, "a red fox in fresh snow")
    page.locator(".job-card").first.locator("button[data-action=upscale1]").click()
    upscale_card = page.locator(".job-card.op-upscale").first
    expect(upscale_card.locator("img.job-image")).to_be_visible()

    upscale_card.get_by_role("link", name="Vary (Region)").click()
    canvas = page.locator("#region-canvas")
    expect(canvas).to_be_visible()
    region_canvas_ready(page)
    box = canvas.bounding_box()
    assert box is not None
    # A rectangle over the top-left quarter of the image.
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.4, steps=10)
    page.mouse.up()
    expect(page.locator("#region-status")).to_have_text("1 area marked.")
    screenshot(page, "operations-vary-region-editor")
    page.fill("#region-prompt", "a red fox wearing a scarf")
    page.click("#region-form button[type=submit]")

    page.wait_for_url("**/jobs/*/")
    job = Job.objects.get(operation="inpaint")
    mask = Image.open(io.BytesIO(base64.b64decode(job.parameters["mask"]))).convert("L")
    upscale = job.parent
    assert upscale is not None and mask.size == (
        upscale.grid_image.width,
        upscale.grid_image.height,
    )
    w, h = mask.size
    assert mask.getpixel((int(w * 0.3), int(h * 0.25))) == 255  # inside what was drawn
    assert mask.getpixel((int(w * 0.8), int(h * 0.8))) == 0  # outside
    assert job.parameters["prompt"] == "a red fox wearing a scarf"
    expect(page.locator(f"#job-{job.pk} img.job-image")).to_be_visible()
    expect(page.locator(".lineage")).to_contain_text("Vary (Region)")
    screenshot(page, "operations-vary-region-result")


def test_imagine_this_puts_a_described_prompt_into_the_composer(
    server: StudioServer, page: Page, project: Any, bob: Any, tmp_path: Any
) -> None:
    from tests.factories import make_png

    picture = tmp_path / "wide.png"
    picture.write_bytes(make_png(size=(900, 600), color="#2f6fdf"))
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    page.click("label[for=tab-describe]")
    page.set_input_files("#describe-form input[name=image]", str(picture))
    page.click("#describe-form button[type=submit]")

    first = page.locator(".job-card.op-describe [data-imagine]").first
    expect(first).to_be_visible()
    described = first.get_attribute("data-imagine")
    first.click()

    expect(page.locator("textarea[name=prompt]")).to_have_value(described or "")
    # The panel reads the prompt's --ar back (the sandbox describes a 3:2 image).
    expect(page.locator("select[name=aspect_ratio]")).to_have_value("3:2")
    expect(page.locator("#final-prompt")).to_be_visible()
