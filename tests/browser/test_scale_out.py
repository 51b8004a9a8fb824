"""Scale-out: two web processes and a separate worker on one database and one Redis.

A member watches the project on web A; another submits through web B; the worker
process runs the job. The card and then the grid must appear on A without a reload,
which only works when every process pushes through the shared channel layer.
"""

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer, needs_redis

pytestmark = needs_redis


def test_a_job_sent_through_one_web_process_shows_live_on_another(
    cluster: tuple[StudioServer, StudioServer], page: Page, project: Any, alice: Any, bob: Any
) -> None:
    web_a, web_b = cluster
    log_in(page, web_a, "alice")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()

    session = web_b.login("bob")
    response = session.post(
        f"{web_b.url}/projects/{project.pk}/jobs/",
        data={"prompt": "two harbours, one sea", "aspect_ratio": "3:2", "mode": "fast"},
        headers={"HX-Request": "true"},
        timeout=10,
    )
    assert response.status_code == 201

    card = page.locator(".job-card").first
    expect(card).to_contain_text("two harbours, one sea")
    expect(card.locator("img.job-image")).to_be_visible()
    screenshot(page, "scale-out-web-a")
