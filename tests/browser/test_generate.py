from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import loaded_size, screenshot
from tests.conftest import StudioServer
from tests.factories import PASSWORD


def log_in(page: Page, server: StudioServer, username: str) -> None:
    page.goto(f"{server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_a_member_submits_a_prompt_and_watches_the_grid_arrive_without_a_reload(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()  # the live socket is up
    page.evaluate("window.sameDocument = true")

    page.fill("textarea[name=prompt]", "a lighthouse on a cliff at dusk, volumetric fog")
    page.click("#prompt-form button[type=submit]")

    card = page.locator(".job-card").first
    expect(card).to_contain_text("a lighthouse on a cliff at dusk")
    image = card.locator("img.job-image")
    expect(image).to_be_visible()
    assert loaded_size(image)[0] > 0
    assert page.evaluate("window.sameDocument") is True  # no reload happened
    expect(page.locator("textarea[name=prompt]")).to_have_value("")  # ready for the next one
    screenshot(page, "project-with-grid")


def test_an_empty_prompt_shows_the_error_in_place(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")

    page.click("#prompt-form button[type=submit]")

    expect(page.locator("#prompt-error")).to_have_text(
        "Write a prompt first: describe the image you want."
    )
    expect(page.locator(".job-card")).to_have_count(0)


def test_a_failed_job_shows_its_reason_live(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")

    page.fill("textarea[name=prompt]", "doomed [sandbox:fail]")
    page.click("#prompt-form button[type=submit]")

    expect(page.locator(".job-card .job-error").first).to_contain_text("told to fail")


def test_the_project_page_fits_a_phone(
    server: StudioServer, browser: Any, project: Any, alice: Any
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    log_in(page, server, "alice")  # an admin: the header has the most links
    page.wait_for_url(f"**/projects/{project.pk}/")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    assert overflow <= 0
    expect(page.locator("#prompt-form button[type=submit]")).to_be_in_viewport()
    screenshot(page, "project-phone")
    context.close()
