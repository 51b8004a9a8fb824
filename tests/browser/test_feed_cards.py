"""The project feed's cards in a real browser against a real Studio: images first with
their follow-ups on hover, the gallery's lightbox from a card's image, a running job's
progress and time, and a failed card's Retry."""

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from studio.generation.models import Job, ResultImage, Status
from tests.browser.conftest import screenshot, wait_until
from tests.browser.test_gallery import fill_gallery, picture
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_job, make_key, make_legnext_grid

FIRST_CARDS_LOADED = (
    "[...document.querySelectorAll('#job-list img.job-image')].slice(0, 2)"
    ".every(i => i.complete && i.naturalWidth > 0)"
)


def open_feed(page: Page, server: StudioServer, project: Any, username: str = "bob") -> None:
    """The feed as a person starts using it: the socket up and its first message (the
    snapshot that renders the job list anew) in, so no click lands on a card just
    replaced."""
    page.add_init_script(
        "document.addEventListener('htmx:wsAfterMessage', () => { window.socketHeard = true; })"
    )
    log_in(page, server, username)
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()  # the live socket is up
    wait_until(page, "window.socketHeard === true")


def newest_card(page: Page) -> Any:
    return page.locator("#job-list .job-card").first


def fill_feed(project: Any, user: Any, grids: int) -> list[ResultImage]:
    """The gallery's finished imagines, each with its whole 2×2 grid stored too (what a
    card shows), as the worker leaves them."""
    tiles = fill_gallery(project, user, grids)
    for job in Job.objects.filter(project=project):
        quarters = [Image.open(image.file.path) for image in job.images.order_by("index")]
        width, height = quarters[0].size
        whole = Image.new("RGB", (width * 2, height * 2))
        for n, quarter in enumerate(quarters):
            whole.paste(quarter, ((n % 2) * width, (n // 2) * height))
        png, webp = io.BytesIO(), io.BytesIO()
        whole.save(png, "PNG")
        whole.save(webp, "WEBP")
        grid = ResultImage(job=job, index=ResultImage.GRID, width=width * 2, height=height * 2)
        grid.file.save(f"grid-{job.pk}.png", ContentFile(png.getvalue()), save=False)
        grid.thumbnail.save(f"grid-{job.pk}.webp", ContentFile(webp.getvalue()), save=False)
        grid.save()
    return tiles


@pytest.fixture
def feed(server: StudioServer, project: Any, bob: Any) -> list[ResultImage]:
    return fill_feed(project, bob, grids=6)


def test_hovering_a_card_shows_its_follow_ups_and_each_ones_price(
    server: StudioServer, page: Page, project: Any, feed: list[ResultImage]
) -> None:
    open_feed(page, server, project)
    card = newest_card(page)
    upscale = card.locator("button[data-action=upscale1]")
    over_the_image = card.locator(".card-actions")  # what the buttons show in
    expect(over_the_image).to_have_css("opacity", "0")  # images first: the buttons wait

    card.locator(".quad-1").hover()
    expect(over_the_image).to_have_css("opacity", "1")
    price = upscale.locator(".act-price")
    expect(price).to_have_css("opacity", "0")
    upscale.hover()
    expect(price).to_have_text("$0.045")
    expect(price).to_have_css("opacity", "1")
    wait_until(page, FIRST_CARDS_LOADED)
    screenshot(page, "feed-cards-hover")

    # The keyboard reaches them too.
    page.mouse.move(5, 5)
    expect(over_the_image).to_have_css("opacity", "0")
    upscale.focus()
    expect(over_the_image).to_have_css("opacity", "1")


def test_a_click_on_an_image_opens_the_lightbox_and_the_arrows_step_through_the_feed(
    server: StudioServer, page: Page, project: Any, feed: list[ResultImage]
) -> None:
    newest = Job.objects.filter(project=project).first()
    assert newest is not None
    tiles = {image.index: image.pk for image in newest.images.all()}
    older = Job.objects.filter(project=project)[1]
    open_feed(page, server, project)

    newest_card(page).locator(".quad-2").click()
    dialog = page.locator("dialog#lightbox")
    expect(dialog.locator(f"#viewer-{tiles[2]}")).to_be_visible()
    expect(dialog.locator(".viewer-prompt")).to_have_text(newest.prompt)
    for name in ("Use prompt", "Image prompt", "Style reference", "Character reference"):
        expect(dialog.get_by_role("link", name=name)).to_be_visible()
    expect(dialog.locator("[data-use-as=style_refs]")).to_have_attribute(
        "href", f"/projects/{project.pk}/?use_as=style_refs&image={tiles[2]}#composer"
    )
    expect(dialog.get_by_role("link", name="Open in tree")).to_be_visible()
    expect(dialog.locator("button[data-action=upscale2] .act-price")).to_have_text("$0.045")
    wait_until(page, "document.querySelector('#lightbox .viewer-image').naturalWidth > 0")
    screenshot(page, "feed-lightbox")

    page.keyboard.press("ArrowRight")
    expect(dialog.locator(f"#viewer-{tiles[3]}")).to_be_visible()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # past the last image of this grid: the next card's
    first_of_older = older.images.get(index=1).pk
    expect(dialog.locator(f"#viewer-{first_of_older}")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(dialog.locator(f"#viewer-{tiles[4]}")).to_be_visible()
    expect(page).to_have_url(f"{server.url}/projects/{project.pk}/")  # the feed stays

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(f"{server.url}/projects/{project.pk}/")
    expect(page.locator("#job-list .job-card")).to_have_count(6)


def test_use_prompt_in_the_lightbox_puts_the_prompt_into_the_composer(
    server: StudioServer, page: Page, project: Any, feed: list[ResultImage]
) -> None:
    newest = Job.objects.filter(project=project).first()
    assert newest is not None
    open_feed(page, server, project)
    newest_card(page).locator(".quad-1").click()
    dialog = page.locator("dialog#lightbox")
    expect(dialog).to_be_visible()

    dialog.get_by_role("link", name="Use prompt").click()

    expect(dialog).to_be_hidden()
    expect(page.locator("textarea[name=prompt]")).to_have_value(newest.prompt)


def test_the_lightbox_still_steps_through_the_gallery_in_the_gallery(
    server: StudioServer, page: Page, project: Any, feed: list[ResultImage]
) -> None:
    open_feed(page, server, project)
    page.get_by_role("link", name="Gallery").click()
    page.locator("#gallery-grid .tile-link").first.click()
    dialog = page.locator("dialog#lightbox")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("link", name="Style reference")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(f"{server.url}/images/{feed[-2].pk}/view/")  # gallery order


def test_a_running_job_shows_its_preview_progress_and_time(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    now = timezone.now()
    for n in range(3):  # the team's recent grids took 40 s
        started = now - timedelta(minutes=10 + n)
        make_job(
            project=project,
            user=bob,
            status=Status.COMPLETED,
            created_at=started,
            finished_at=started + timedelta(seconds=40),
        )
    running = make_job(
        project=project,
        user=bob,
        prompt="a glacier cave, turquoise ice, a tiny explorer",
        status=Status.PROCESSING,
        progress=45,
        provider_task_id="sandbox-not-polled",
        created_at=now - timedelta(seconds=12),
        submitted_at=now - timedelta(seconds=11),
    )
    running.preview.save("preview.webp", ContentFile(picture(256, 256, 3, "WEBP")))
    Job.objects.filter(pk=running.pk).update(last_event_at=now + timedelta(minutes=5))

    open_feed(page, server, project)
    card = page.locator(f"#job-{running.pk}")
    expect(card.locator("img.job-preview")).to_be_visible()
    expect(card.locator(".status-pill")).to_have_text("45%")
    expect(card.locator("progress.job-progress")).to_have_attribute("value", "45")
    expect(card.locator(".typical")).to_have_text("· usually ~40 s")
    elapsed = card.locator("time[data-elapsed]")
    first = elapsed.inner_text()
    expect(elapsed).not_to_have_text(first)  # it ticks
    page.evaluate(f"document.getElementById('job-{running.pk}').scrollIntoView()")
    screenshot(page, "feed-running-job")


def test_a_failed_card_says_failed_once_and_retry_runs_it_again(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    failed = make_job(
        project=project,
        user=bob,
        prompt="a red fox asleep in fresh snow",
        status=Status.FAILED,
        error="The provider failed the task: told to fail.",
        finished_at=timezone.now(),
    )
    open_feed(page, server, project)
    card = page.locator(f"#job-{failed.pk}")
    expect(card.locator(".job-outcome")).to_contain_text("Not charged")
    assert card.inner_text().count("Failed") == 1
    page.evaluate(f"document.getElementById('job-{failed.pk}').scrollIntoView()")
    screenshot(page, "feed-failed-card")

    card.get_by_role("button", name="Retry").click()

    retried = newest_card(page)
    expect(retried).not_to_have_id(f"job-{failed.pk}")
    expect(retried).to_contain_text("a red fox asleep in fresh snow")
    expect(retried.locator("img.job-image")).to_be_visible()  # the sandbox made it
    job = Job.objects.exclude(pk=failed.pk).get()
    assert (job.prompt, job.operation, job.process_mode) == (
        failed.prompt,
        failed.operation,
        failed.process_mode,
    )


def test_a_lost_result_says_why_and_offers_to_try_again(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    reason = "The images could not be saved: Studio stopped while saving them."
    lost = make_job(
        project=project,
        user=bob,
        prompt="a lighthouse in a storm, oil painting",
        status=Status.COMPLETED,
        finished_at=timezone.now(),
        result_lost_at=timezone.now(),
        error=reason,
    )
    open_feed(page, server, project)
    card = page.locator(f"#job-{lost.pk}")
    expect(card.locator(".media-note.lost")).to_contain_text(reason)
    expect(card.get_by_role("button", name="Try again")).to_be_visible()
    screenshot(page, "feed-lost-result")


@pytest.mark.parametrize(
    ("name", "viewport", "scheme"),
    [
        ("feed-light-1280", (1280, 860), "light"),
        ("feed-dark-1280", (1280, 860), "dark"),
        ("feed-phone-390", (390, 844), "light"),
        ("feed-phone-390-dark", (390, 844), "dark"),
    ],
)
def test_the_feed_looks_right_in_the_light_the_dark_and_on_a_phone(
    server: StudioServer,
    browser: Browser,
    project: Any,
    feed: list[ResultImage],
    bob: Any,
    name: str,
    viewport: tuple[int, int],
    scheme: Any,
) -> None:
    make_job(
        project=project,
        user=bob,
        prompt="doomed [sandbox:fail]",
        status=Status.FAILED,
        error="The provider failed the task: told to fail.",
    )
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        device_scale_factor=2 if viewport[0] < 500 else 1,
        color_scheme=scheme,
        has_touch=viewport[0] < 500,
        is_mobile=viewport[0] < 500,  # a phone: no hover, so the follow-ups sit below
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    open_feed(page, server, project)
    if viewport[0] < 500:
        actions = page.locator("#job-list .card-actions").first
        expect(actions).to_have_css("position", "static")
        expect(actions).to_have_css("opacity", "1")
    wait_until(page, FIRST_CARDS_LOADED)

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(page, name, full_page=True)
    page.locator("#job-list .quad-link").nth(4).click()
    expect(page.locator("dialog#lightbox")).to_be_visible()
    wait_until(page, "document.querySelector('#lightbox .viewer-image').complete")
    screenshot(page, f"{name}-lightbox")
    context.close()


def test_a_legnext_cards_image_menu_opens_over_the_picture(
    server: StudioServer, page: Page, project: Any, bob: Any, acme: Any
) -> None:
    key = make_key(team=acme, provider="legnext", label="LegNext")
    grid = make_legnext_grid(project=project, user=bob, provider_key=key, files=True)
    open_feed(page, server, project)
    card = page.locator(f"#job-{grid.pk}")
    wait_until(page, FIRST_CARDS_LOADED)

    card.locator(".quad-2").hover()
    card.get_by_role("radio", name="Image 2").check(force=True)  # the picker's label shows it

    menu = card.locator(".image-menu-2")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("button", name="Upscale (Subtle)")).to_be_visible()
    expect(card.locator(".image-menu-1")).to_be_hidden()
    screenshot(page, "feed-legnext-image-menu")


def test_a_follow_up_whose_card_is_re_rendered_meanwhile_still_lands_its_card(
    server: StudioServer, page: Page, project: Any, feed: list[ResultImage]
) -> None:
    open_feed(page, server, project)
    card = newest_card(page)
    card_id = card.get_attribute("id")
    answered: list[Any] = []
    page.route("**/follow-up/", lambda route: answered.append(route))  # held until told

    card.locator("button[data-action=upscale1]").click()
    while not answered:
        page.wait_for_timeout(50)
    # As a push or the snapshot after a reconnect does, the card is rendered anew.
    page.evaluate(f"(e => e.replaceWith(e.cloneNode(true)))(document.getElementById('{card_id}'))")
    answered[0].continue_()

    upscale = page.locator("#job-list .job-card.op-upscale")
    expect(upscale).to_have_count(1)
    expect(upscale.locator(".lineage-line")).to_contain_text("U1")
