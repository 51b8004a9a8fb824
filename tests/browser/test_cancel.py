from typing import Any

from playwright.sync_api import Page, expect

from studio.generation.models import Status
from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_job


def test_a_member_sees_cancel_only_on_their_own_jobs_and_a_forced_cancel_is_explained(
    server: StudioServer, page: Page, project: Any, alice: Any, bob: Any
) -> None:
    own = make_job(project=project, user=bob, status=Status.SUBMITTED, provider_task_id="t-b")
    teammates = make_job(
        project=project, user=alice, status=Status.SUBMITTED, provider_task_id="t-a"
    )
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()

    expect(page.locator(f"#job-{own.pk} button.cancel")).to_be_visible()
    teammates_cancel = page.locator(f"#job-{teammates.pk} button.cancel")
    expect(teammates_cancel).to_be_attached()
    expect(teammates_cancel).to_be_hidden()

    # A card pushed over the websocket is the same for everyone; bob's page hides its button.
    alice_session = server.login("alice")
    response = alice_session.post(
        f"{server.url}/projects/{project.pk}/jobs/",
        data={"prompt": "a harbour at dawn [sandbox:stay-pending]", "mode": "fast"},
        headers={"HX-Request": "true"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    pushed = page.locator(".job-card", has_text="a harbour at dawn")
    expect(pushed.locator("button.cancel")).to_be_attached()
    expect(pushed.locator("button.cancel")).to_be_hidden()

    # Forced into view and clicked, the button gets a clear refusal; the card stays.
    teammates_cancel.evaluate("button => { button.hidden = false; }")
    teammates_cancel.click()
    expect(page.locator("#notice .toast")).to_have_text(
        "Only alice, who started this job, or a team admin can cancel it.×"
    )
    expect(page.locator(f"#job-{teammates.pk}")).to_have_attribute("data-status", "submitted")
    screenshot(page, "cancel-refused", full_page=True)
