"""A forgotten password in a real browser: from the login page to a new password, each
page in Studio's look at both widths, light and dark. (The mail itself is tested in
tests/accounts/test_password_reset.py; here the link is made as the mail would make it.)"""

from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Browser, expect

from tests.browser.conftest import console_problems, screenshot
from tests.conftest import StudioServer


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (1280, "dark"), (390, "light")])
def test_a_forgotten_password_is_reset_from_the_login_page(
    server: StudioServer, browser: Browser, bob: Any, width: int, scheme: Any
) -> None:
    bob.email = "bob@acme.test"
    bob.save()
    context = browser.new_context(viewport={"width": width, "height": 860}, color_scheme=scheme)
    page = context.new_page()
    problems = console_problems(page)
    name = f"{width}-{scheme}"

    page.goto(f"{server.url}/accounts/login/")
    screenshot(page, f"login-{name}")
    page.click("#forgot-password")
    page.fill("input[name=email]", "bob@acme.test")
    screenshot(page, f"reset-request-{name}")
    page.click("#reset-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Check your mail")
    screenshot(page, f"reset-sent-{name}")

    uid = urlsafe_base64_encode(force_bytes(bob.pk))
    page.goto(
        f"{server.url}/accounts/password-reset/{uid}/{default_token_generator.make_token(bob)}/"
    )
    expect(page.locator("h1")).to_have_text("Choose a new password")
    page.fill("input[name=new_password1]", "a-fresh-pass-phrase")
    page.fill("input[name=new_password2]", "another-pass-phrase")
    page.click("#new-password-form button[type=submit]")
    expect(page.locator(".field-error")).to_have_text(
        "The two new passwords differ; type the same one twice."
    )
    screenshot(page, f"reset-confirm-{name}")
    page.fill("input[name=new_password1]", "a-fresh-pass-phrase")
    page.fill("input[name=new_password2]", "a-fresh-pass-phrase")
    page.click("#new-password-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your new password is set")
    screenshot(page, f"reset-complete-{name}")

    page.click("#log-in-again")
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "a-fresh-pass-phrase")
    page.click("button[type=submit]")
    expect(page.locator(".account-link")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
    assert not problems, problems
