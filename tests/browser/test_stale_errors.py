"""A refusal about what a form held goes once the form changes: "you picked 1" does not
stay after a second image is chosen."""

import io
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_png


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
