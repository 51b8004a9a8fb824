"""What a member and an admin see when the provider's answer to a create is lost."""

import threading
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from playwright.sync_api import Page, expect

from studio.billing.services import job_hold
from studio.generation.models import Job, Status
from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_job


def hold(job: Job) -> None:
    """The job's price held, as when it was submitted."""
    try:
        with transaction.atomic():
            job_hold(job=job)
    finally:
        connection.close()


def test_a_job_whose_answer_was_lost_says_it_waits_for_the_provider_and_cannot_be_canceled(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()

    page.fill(
        "textarea[name=prompt]",
        "a paper lantern [sandbox:ambiguous-create] [sandbox:drop-webhooks]",
    )
    page.click("#prompt-form button[type=submit]")

    card = page.locator(".job-card").first
    expect(card.locator(".status-pill")).to_have_text("Sent — waiting for the provider to confirm")
    expect(card.locator(".job-note")).to_contain_text("will not send this job twice")
    expect(card.locator("button.cancel")).to_have_count(0)
    screenshot(page, "job-unconfirmed", full_page=True)


def test_an_admin_releases_the_hold_of_an_unknown_outcome_from_the_money_page(
    server: StudioServer, page: Page, project: Any, alice: Any, bob: Any
) -> None:
    sent = timezone.now()
    job = make_job(
        project=project,
        user=bob,
        prompt="a boat that never sailed",
        status=Status.UNKNOWN,
        dispatched_at=sent,
        sent_at=sent,
        note="The provider never confirmed this job within 30 minutes.",
    )
    held = threading.Thread(target=hold, args=[job])  # off Playwright's event loop
    held.start()
    held.join()
    log_in(page, server, "alice")
    page.wait_for_url("**/projects/**")
    page.goto(f"{server.url}/teams/{project.team_id}/money/")

    tab = page.locator(".money-tabs a", has_text="Unknown outcomes")
    expect(tab.locator(".count-badge")).to_have_text("1")
    tab.click()
    row = page.locator(f"#unknown-{job.pk}")
    expect(row).to_contain_text("a boat that never sailed")
    expect(row.locator("button[value=charge]")).to_have_text("Charge $0.045")
    screenshot(page, "money-unknown-outcomes")
    row.locator("button[value=release]").click()

    expect(page.locator("#unknown-list .notice.success")).to_have_text(
        f"The hold of job #{job.pk} is released."
    )
    expect(page.locator(f"#unknown-{job.pk}")).to_have_count(0)
    job.refresh_from_db()
    assert job.status == Status.FAILED
