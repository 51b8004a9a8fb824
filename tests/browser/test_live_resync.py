"""A feed whose pushes were lost on their way still shows the job as it ends, without a
reload: the page sees a number skipped (or the check after the pushes) and asks for the
project's current state on the socket it has."""

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.test_generate import log_in
from tests.conftest import StudioServer

# Every push that would show the job ended is lost before htmx sees it, as a full channel
# loses it: the page's own listener never hears of it either. The state sent on the
# socket is counted, and so are the sockets opened.
LOSE_THE_ENDING = """
window.lost = 0; window.states = 0; window.opened = 0;
window.addEventListener('htmx:wsOpen', () => { window.opened += 1; }, true);
window.addEventListener('htmx:wsBeforeMessage', (event) => {
  const message = event.detail.message;
  if (message.startsWith('<!--live-snapshot')) window.states += 1;
  if (message.startsWith('<!--live-push') && message.includes('job-card is-completed')) {
    window.lost += 1;
    event.stopImmediatePropagation();
    event.preventDefault();
  }
}, true);
"""


def test_a_job_whose_ending_pushes_were_lost_still_shows_its_grid_without_a_reload(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    page.add_init_script(LOSE_THE_ENDING)
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()
    page.evaluate("window.sameDocument = true")

    page.fill("textarea[name=prompt]", "a lighthouse on a cliff at dusk, volumetric fog")
    page.click("#prompt-form button[type=submit]")

    card = page.locator(".job-card").first
    expect(card).to_have_class(re.compile(r"\bis-completed\b"))
    expect(card.locator("img.job-image")).to_be_visible()
    assert page.evaluate("window.lost") >= 1  # the ending came by no push
    assert page.evaluate("window.states") >= 2  # but in the state the page asked for
    assert page.evaluate("window.opened") == 1  # on the socket it had
    assert page.evaluate("window.sameDocument") is True  # and no reload
