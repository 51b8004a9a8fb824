"""The project's feed in a real browser against a real Studio: scrolling into its history,
searching and filtering it (in the URL), live cards that respect the filters, and the tab
that shows what runs and what ended."""

import re
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import Page, expect

from studio.generation.models import Job, ResultImage, Status
from tests.browser.conftest import loaded_size, screenshot, wait_until
from tests.browser.test_gallery import PROMPTS, store_image
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_job

CARD_IDS = "all => all.map(card => +card.id.slice(4))"


def fill_feed(project: Any, users: list[Any], count: int) -> list[Job]:
    """`count` finished imagines a minute apart, oldest first, each with its stored grid."""
    start = timezone.now() - timedelta(days=2)
    jobs = []
    for n in range(count):
        job = make_job(
            project=project,
            user=users[n % len(users)],
            prompt=f"{PROMPTS[n % len(PROMPTS)]} #{n + 1}",
            status=Status.COMPLETED,
            process_mode="relax" if n % 3 == 0 else "fast",
            output={"actions": ["upscale1", "upscale2", "upscale3", "upscale4", "variation1"]},
        )
        Job.objects.filter(pk=job.pk).update(created_at=start + timedelta(minutes=n))
        store_image(job, ResultImage.GRID, (512, 512), n)
        jobs.append(job)
    return jobs


def open_project(page: Page, server: StudioServer, project: Any, username: str = "bob") -> None:
    log_in(page, server, username)
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()  # the live socket is up


def start_job(session: requests.Session, server: StudioServer, project: Any, prompt: str) -> Job:
    response = session.post(
        f"{server.url}/projects/{project.pk}/jobs/",
        data={"prompt": prompt, "aspect_ratio": "1:1", "mode": "fast"},
        headers={"HX-Request": "true"},
        timeout=10,
    )
    assert response.status_code == 201, response.text[:500]
    return Job.objects.get(prompt=prompt)


def wait_for_status(job: Job, status: str, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while Job.objects.get(pk=job.pk).status != status:
        if time.monotonic() > deadline:
            pytest.fail(f"job {job.pk} never became {status}")
        time.sleep(0.1)


def test_a_member_scrolls_past_the_60_newest_to_the_first_job(
    server: StudioServer, page: Page, project: Any, bob: Any, alice: Any
) -> None:
    jobs = fill_feed(project, [bob, alice], 75)
    open_project(page, server, project)
    cards = page.locator("#job-list > .job-card")
    expect(cards).to_have_count(60)
    screenshot(page, "feed-history-light-1280")

    page.locator("#feed-more").scroll_into_view_if_needed()

    expect(cards).to_have_count(75)
    expect(page.locator(".feed-end")).to_be_visible()
    assert cards.evaluate_all(CARD_IDS) == [job.pk for job in reversed(jobs)]
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    screenshot(page, "feed-history-end-light-1280")


def test_search_and_filters_narrow_the_feed_and_live_in_the_url(
    server: StudioServer, page: Page, project: Any, bob: Any, alice: Any
) -> None:
    jobs = fill_feed(project, [bob, alice], 36)
    foxes = [job.pk for job in reversed(jobs) if "fox" in job.prompt]
    open_project(page, server, project)
    cards = page.locator("#job-list > .job-card")

    page.fill("#feed-q", "fox")

    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/\?q=fox$"))
    expect(cards).to_have_count(len(foxes))
    assert cards.evaluate_all(CARD_IDS) == foxes
    screenshot(page, "feed-search-light-1280")

    # The drawer: jobs by alice only, in relax mode.
    page.locator(".filter-drawer > summary").click()
    page.select_option("#feed-filters select[name=member]", str(alice.pk))
    expect(page).to_have_url(re.compile(rf"\?q=fox&member={alice.pk}$"))
    page.select_option("#feed-filters select[name=mode]", "relax")
    expect(page).to_have_url(re.compile(rf"\?q=fox&member={alice.pk}&mode=relax$"))
    wanted = [
        job.pk
        for job in reversed(jobs)
        if "fox" in job.prompt and job.created_by_id == alice.pk and job.process_mode == "relax"
    ]
    expect(cards).to_have_count(len(wanted))
    assert cards.evaluate_all(CARD_IDS) == wanted
    expect(page.locator("#feed-filter-count")).to_have_text("2")
    screenshot(page, "feed-filters-open-light-1280")

    # A reload keeps it all.
    page.reload()
    expect(page.locator(".project.ws-open")).to_be_attached()
    expect(page.locator("#feed-q")).to_have_value("fox")
    expect(page.locator("#feed-filters select[name=mode]")).to_have_value("relax")
    assert cards.evaluate_all(CARD_IDS) == wanted

    # And the state filter: nothing runs.
    page.select_option("#feed-filters select[name=state]", "running")
    expect(page.locator(".empty-state h2")).to_have_text("Nothing matches")
    page.get_by_role("link", name="Clear filters").click()
    expect(cards).to_have_count(36)


def test_a_filtered_feed_takes_in_only_the_new_jobs_that_match(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    fill_feed(project, [bob], 6)
    open_project(page, server, project)
    page.fill("#feed-q", "fox")
    expect(page).to_have_url(re.compile(r"\?q=fox$"))
    cards = page.locator("#job-list > .job-card")
    expect(cards).to_have_count(1)
    session = server.login("bob")

    lighthouse = start_job(session, server, project, "a lighthouse in a storm")
    fox = start_job(session, server, project, "a Fox on a frozen lake")

    expect(cards.first).to_have_attribute("id", f"job-{fox.pk}")
    expect(cards.first).to_have_attribute("data-status", "completed")  # updates still apply
    # Once the lighthouse has ended, one more fox: when its card shows it ended, every push
    # of the lighthouse's run has reached the page.
    wait_for_status(lighthouse, Status.COMPLETED)
    another = start_job(session, server, project, "another fox")
    expect(page.locator(f"#job-{another.pk}")).to_have_attribute("data-status", "completed")
    expect(cards).to_have_count(3)
    expect(page.locator(f"#job-{lighthouse.pk}")).to_have_count(0)

    # Unfiltered, the same page takes every new job in.
    page.get_by_role("link", name="Clear filters").click()
    expect(cards).to_have_count(9)
    boat = start_job(session, server, project, "a paper boat")
    expect(cards.first).to_have_attribute("id", f"job-{boat.pk}")


def test_after_a_reconnect_older_pages_and_filters_stay(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    fill_feed(project, [bob], 70)
    open_project(page, server, project)
    cards = page.locator("#job-list > .job-card")
    page.locator("#feed-more").scroll_into_view_if_needed()
    expect(cards).to_have_count(70)

    session = server.login("bob")
    new = start_job(session, server, project, "a comet over the sea [sandbox:stay-pending]")
    expect(cards.first).to_have_attribute("id", f"job-{new.pk}")

    # The socket is opened anew (as after a renewal or a lost connection): the server
    # sends its snapshot of the newest jobs, which is told by the meters it carries.
    page.evaluate(
        "(() => { window.snapshots = 0;"
        " document.addEventListener('htmx:wsAfterMessage', event => {"
        "   if (event.detail.message.indexOf('meter-me-') >= 0) window.snapshots += 1; });"
        " document.querySelector('.project')['htmx-internal-data'].webSocket.init(); })()"
    )
    wait_until(page, "window.snapshots > 0")

    expect(cards).to_have_count(71)  # the older pages are still there, the new job once
    assert cards.evaluate_all(CARD_IDS)[0] == new.pk


def test_the_tab_title_and_icon_show_the_running_jobs(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    open_project(page, server, project)
    expect(page).to_have_title(f"{project.name} · Studio")
    plain_icon = page.locator("link[rel=icon]").get_attribute("href")
    session = server.login("bob")

    first = start_job(session, server, project, "a harbour at dawn [sandbox:stay-pending]")
    expect(page).to_have_title(f"(1) {project.name} · Studio")
    start_job(session, server, project, "a harbour at dusk [sandbox:stay-pending]")
    expect(page).to_have_title(f"(2) {project.name} · Studio")
    icon = page.locator("link[rel=icon]").get_attribute("href") or ""
    assert icon.startswith("data:image/svg+xml,")
    assert "%3E2%3C%2Ftext%3E" in icon  # the badge says 2

    for job in Job.objects.filter(prompt__startswith="a harbour"):
        # Canceled once the provider has it: a job whose create is still on its way is
        # refused a cancel (it may already exist there), which is another test's subject.
        wait_for_status(job, Status.SUBMITTED)
        cancel = session.post(
            f"{server.url}/jobs/{job.pk}/cancel/", headers={"HX-Request": "true"}, timeout=10
        )
        assert cancel.status_code in (200, 202), cancel.text[:300]

    expect(page.locator(f"#job-{first.pk}")).to_have_attribute("data-status", "canceled")
    expect(page).to_have_title(f"{project.name} · Studio")
    expect(page.locator("link[rel=icon]")).to_have_attribute("href", plain_icon or "")


# Notifications observed: the page's Notification replaced by one that records what it is
# asked to show, and the tab made hidden at will.
WATCH_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.shownNotifications = [];
  function Recorded(title, options) {
    window.shownNotifications.push({ title: title, tag: (options || {}).tag });
    this.close = function () {};
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = () => Real.requestPermission();
  window.Notification = Recorded;
  window.tabHidden = false;
  Object.defineProperty(document, "hidden", { get: () => window.tabHidden, configurable: true });
})();
"""


def set_hidden(page: Page, hidden: bool) -> None:
    page.evaluate(
        "hidden => { window.tabHidden = hidden;"
        " document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )


@pytest.mark.parametrize("granted", [True, False])
def test_the_bell_asks_once_and_a_notification_comes_for_ones_own_job_ending_while_hidden(
    server: StudioServer, page: Page, project: Any, bob: Any, alice: Any, granted: bool
) -> None:
    if granted:
        page.context.grant_permissions(["notifications"], origin=server.url)
    page.add_init_script(WATCH_NOTIFICATIONS)
    open_project(page, server, project)
    bell = page.locator("#notify-toggle")
    expect(bell).to_have_attribute("aria-pressed", "false")

    bell.click()

    if not granted:  # headless Chromium answers "denied" to an ungranted ask
        expect(bell).to_have_attribute("aria-pressed", "false")
        return
    expect(bell).to_have_attribute("aria-pressed", "true")
    page.reload()  # remembered
    expect(page.locator(".project.ws-open")).to_be_attached()
    expect(bell).to_have_attribute("aria-pressed", "true")

    set_hidden(page, True)
    own = start_job(server.login("bob"), server, project, "bob's lantern")
    theirs = start_job(server.login("alice"), server, project, "alice's lantern")
    for job in (own, theirs):
        expect(page.locator(f"#job-{job.pk}")).to_have_attribute("data-status", "completed")

    shown = page.evaluate("window.shownNotifications")
    assert shown == [{"title": "Your job is done", "tag": f"job-{own.pk}"}]
    expect(page).to_have_title(f"(✓2) {project.name} · Studio")  # both ended while hidden

    set_hidden(page, False)
    expect(page).to_have_title(f"{project.name} · Studio")

    # Off again: no more notifications.
    bell.click()
    expect(bell).to_have_attribute("aria-pressed", "false")
    set_hidden(page, True)
    last = start_job(server.login("bob"), server, project, "bob's second lantern")
    expect(page.locator(f"#job-{last.pk}")).to_have_attribute("data-status", "completed")
    assert len(page.evaluate("window.shownNotifications")) == 1


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_feeds_find_bar_looks_like_the_gallerys(
    server: StudioServer, page: Page, project: Any, bob: Any, alice: Any, scheme: str, width: int
) -> None:
    fill_feed(project, [bob, alice], 32)
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)
    open_project(page, server, project)
    page.evaluate("document.getElementById('feed-filters').scrollIntoView()")
    page.evaluate("window.scrollBy(0, -80)")  # from under the sticky top bar
    loaded_size(page.locator("#job-list img.job-image").first)
    screenshot(page, f"feed-closed-{scheme}-{width}")

    page.fill("#feed-q", "lighthouse")
    expect(page).to_have_url(re.compile(r"\?q=lighthouse$"))
    page.locator(".filter-drawer > summary").click()
    page.select_option("#feed-filters select[name=mode]", "relax")
    expect(page).to_have_url(re.compile(r"\?q=lighthouse&mode=relax$"))
    expect(page.locator("#job-list > .job-card")).to_have_count(6)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(page, f"feed-open-{scheme}-{width}")
