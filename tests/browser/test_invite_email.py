"""Emailing an invite in a real browser: the new link's box takes an address, says where
it went, and a mistyped one is refused in place."""

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import console_problems, screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (390, "dark")])
def test_an_admin_emails_the_link_just_made(
    server: StudioServer, browser: Browser, alice: Any, acme: Any, width: int, scheme: Any
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    problems = console_problems(page)
    log_in(page, server, "alice")
    page.wait_for_url(f"{server.url}/**")
    page.goto(f"{server.url}/accounts/teams/{acme.pk}/members/")

    page.click(".invite-form button[type=submit]")
    expect(page.locator(".invite-made")).to_be_visible()
    page.fill("#invite-email-address", "erin-at-example")
    page.click(".invite-email button[type=submit]")
    expect(page.locator(".invite-email .field-error")).to_have_text(
        "That is not an email address; it looks like name@example.com."
    )
    page.fill("#invite-email-address", "erin@example.com")
    page.click(".invite-email button[type=submit]")

    expect(page.locator("#invite-emailed")).to_have_text("Sent to erin@example.com")
    page.locator("#invites").scroll_into_view_if_needed()
    screenshot(page, f"invite-emailed-{width}-{scheme}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
    assert not problems, problems
