"""A job sent through Studio's API appears live on the project page of everyone
watching, marked with the token it came through, and grows its grid like any other."""

from typing import Any

import requests
from playwright.sync_api import Page, expect

from studio.api.services import token_create
from tests.browser.conftest import loaded_size, screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer


def test_a_job_sent_with_a_token_appears_live_for_the_team(
    server: StudioServer, page: Page, project: Any, alice: Any, bob: Any
) -> None:
    made = token_create(user=bob, project=project, name="n8n nightly")
    log_in(page, server, "alice")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()
    page.evaluate("window.sameDocument = true")

    answer = requests.post(
        f"{server.url}/api/v1/task",
        json={"model": "midjourney", "task_type": "imagine", "input": {"prompt": "a koi pond"}},
        headers={"x-api-key": made.secret},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text

    card = page.locator(".job-card", has_text="a koi pond")
    expect(card).to_be_visible()
    expect(card.locator(".api-chip")).to_have_text("API · n8n nightly")
    expect(card).to_contain_text("bob")
    image = card.locator("img.job-image")
    expect(image).to_be_visible()
    assert loaded_size(image)[0] > 0
    assert page.evaluate("window.sameDocument") is True  # it came live, not by a reload
    screenshot(page, "api-job-live", full_page=True)
