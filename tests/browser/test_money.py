from typing import Any

from playwright.sync_api import Page, expect

from tests.billing.helpers import set_budget
from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer


def test_the_meter_moves_when_a_job_completes_and_generate_then_says_why_it_cannot(
    server: StudioServer, page: Page, project: Any, bob: Any, acme: Any
) -> None:
    set_budget(acme, "0.05", user=bob)
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    meter = page.locator(f"#meter-me-{acme.pk}")
    expect(meter).to_contain_text("$0.05 left")
    expect(page.locator("#prompt-form button[type=submit]")).to_contain_text("$0.045")

    page.fill("textarea[name=prompt]", "a lighthouse at dusk")
    page.click("#prompt-form button[type=submit]")
    expect(page.locator(".job-card").first.locator("img.job-image")).to_be_visible()
    expect(meter.locator(".spent")).to_have_text("$0.045 spent")  # the hold became a charge
    expect(meter.locator(".held")).to_have_text("$0.00 held")
    expect(meter).to_contain_text("$0.005 left")

    page.fill("textarea[name=prompt]", "one more")

    # Generate says why before it is pressed, in the words the server refuses with.
    expect(page.locator("#prompt-form button[type=submit]")).to_be_disabled()
    expect(page.locator("#afford-note")).to_have_text(
        "$0.005 left of your $0.05 budget this month; this job costs $0.045."
    )
    expect(page.locator(".job-card")).to_have_count(1)
    screenshot(page, "money-over-budget")
