"""A refusal about what a form held goes once the form changes: "you picked 1" does not
stay after a second image is chosen."""

import io
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import region_canvas_ready
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_key, make_legnext_grid, make_png


def png_file(name: str, color: str) -> dict[str, Any]:
    return {
        "name": name,
        "mimeType": "image/png",
        "buffer": io.BytesIO(make_png(color=color)).getvalue(),
    }


def test_blends_one_image_refusal_goes_when_images_are_chosen_again(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    page.click("label[for=tab-blend]")
    page.set_input_files("#blend-form input[name=images]", [png_file("a.png", "#1d4ed8")])
    page.click("#blend-form button[type=submit]")
    expect(page.locator("#blend-error")).to_have_text("Blend takes 2 to 5 images; you picked 1.")

    page.set_input_files(
        "#blend-form input[name=images]",
        [png_file("a.png", "#1d4ed8"), png_file("b.png", "#facc15")],
    )

    expect(page.locator("#blend-error")).to_have_count(0)


def test_the_region_editors_notice_goes_once_a_region_is_drawn(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    key = make_key(team=project.team, provider="legnext", api_key="lk-region")
    grid = make_legnext_grid(project=project, user=bob, provider_key=key, files=True)
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    page.goto(f"{server.url}/jobs/{grid.pk}/region/?action=region:2")
    page.fill("#region-prompt", "a red door")
    page.click("#region-form button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("Draw the region to repaint first.")

    region_canvas_ready(page)
    box = page.locator("#region-canvas").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.6)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.9, steps=10)
    page.mouse.up()

    expect(page.locator("#region-status")).to_have_text("1 area marked.")
    expect(page.locator("#notice .toast")).to_have_count(0)
