"""What a member and an admin see when the provider's answer to a create is lost."""

import threading
import time
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


def test_the_submitters_answer_overtaken_by_the_sends_push_does_not_turn_the_card_back(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    """The worker may send the job, and its card be pushed, before the submitter's own
    answer (the card as queued) reaches the page: that late copy must not win."""
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()

    def answer_late(route: Any) -> None:
        answer = route.fetch()  # the job is created; its card in the answer says queued
        job = Job.objects.get(prompt__startswith="a paper boat")
        deadline = time.monotonic() + 45
        while Job.objects.get(pk=job.pk).status != Status.UNCONFIRMED:
            assert time.monotonic() < deadline, "the job was never sent"
            time.sleep(0.1)
        pill = page.locator(f"#job-{job.pk} .status-pill")
        # The push of the sent job reaches the page while the answer is held back.
        while "Sent" not in (pill.text_content() if pill.count() else ""):
            assert time.monotonic() < deadline, "the push of the sent job never came"
            time.sleep(0.1)
        route.fulfill(response=answer)

    page.route("**/jobs/", answer_late)
    page.evaluate(
        "() => document.addEventListener('htmx:afterOnLoad', event => {"
        " if (event.detail.requestConfig.path.endsWith('/jobs/')) window.answered = true; })"
    )
    page.fill(
        "textarea[name=prompt]", "a paper boat [sandbox:ambiguous-create] [sandbox:drop-webhooks]"
    )
    page.click("#prompt-form button[type=submit]")

    page.wait_for_function("() => window.answered === true")  # the late answer is in
    card = page.locator(".job-card").first
    expect(card.locator(".status-pill")).to_have_text("Sent — waiting for the provider to confirm")


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
