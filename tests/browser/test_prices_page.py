"""The prices page in a real browser: both providers' prices fit on a phone and a
desktop, light and dark, and an admin saves a LegNext price in place."""

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from studio.billing.services import price_for
from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer


def open_prices(page: Page, server: StudioServer, team: Any) -> None:
    log_in(page, server, "alice")
    page.wait_for_url(f"{server.url}/**")
    page.goto(f"{server.url}/teams/{team.pk}/money/")
    expect(page.locator("#prices-legnext")).to_be_visible()


@pytest.mark.parametrize(
    ("name", "width", "scheme"),
    [
        ("prices-1280-light", 1280, "light"),
        ("prices-1280-dark", 1280, "dark"),
        ("prices-390-light", 390, "light"),
        ("prices-390-dark", 390, "dark"),
    ],
)
def test_both_providers_prices_fit_the_screen(
    server: StudioServer,
    browser: Browser,
    alice: Any,
    acme: Any,
    name: str,
    width: int,
    scheme: Any,
) -> None:
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        device_scale_factor=2 if width < 500 else 1,
        color_scheme=scheme,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    open_prices(page, server, acme)
    for summary in page.locator(".provider-prices summary").all():
        summary.click()  # every operation's price in sight

    expect(page.locator("#prices-legnext input[name='turbo.upscale_creative']")).to_be_visible()
    expect(page.locator("#prices-legnext input[name='turbo.upscale_creative']")).to_have_attribute(
        "placeholder", "0.32"
    )
    screenshot(page, name, full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    # Every price field in sight is wide enough to show a price like 0.0225 whole.
    narrowest = page.evaluate(
        "Math.min(...[...document.querySelectorAll('.provider-prices input')]"
        ".filter(input => input.offsetParent !== null)"
        ".map(input => input.getBoundingClientRect().width))"
    )
    assert narrowest >= 64
    # No table of prices hides a column behind a sideways scroll.
    hidden = page.evaluate(
        "[...document.querySelectorAll('.provider-prices .table-scroll')]"
        ".filter(box => box.offsetParent !== null && box.scrollWidth > box.clientWidth).length"
    )
    assert hidden == 0
    context.close()


def test_an_admin_saves_a_legnext_price_and_a_bad_one_is_refused_in_place(
    server: StudioServer, page: Page, alice: Any, acme: Any
) -> None:
    open_prices(page, server, acme)
    legnext = page.locator("#prices-legnext")
    legnext.locator("summary").click()

    legnext.locator("input[name='fast.upscale']").fill("abc")
    legnext.get_by_role("button", name="Save LegNext prices").click()
    expect(page.locator("#prices-legnext .price-errors")).to_contain_text(
        "Upscale in Fast: Enter a price in dollars, e.g. 0.045."
    )
    screenshot(page, "prices-refused")

    page.locator("#prices-legnext input[name='fast.upscale']").fill("0.1")
    page.locator("#prices-legnext").get_by_role("button", name="Save LegNext prices").click()
    expect(page.locator("#prices-legnext .form-status")).to_have_text("Saved")
    assert price_for(team=acme, provider="legnext", mode="fast", operation="upscale") == Decimal(
        "0.1"
    )
    assert price_for(team=acme, provider="piapi", mode="fast", operation="upscale") == Decimal(
        "0.045"
    )
