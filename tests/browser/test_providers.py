"""Two providers in the browser: a LegNext grid's per-image follow-ups, and a composer
that offers only the modes of the provider the next job goes to."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_job, make_key, make_legnext_grid


@pytest.fixture(autouse=True)
def members_may_use_turbo(acme: Any) -> None:
    """These tests are about the providers' modes, so Bob may use all of them (members
    without Turbo rights are not offered it: test_composer.py)."""
    acme.turbo_roles = "admin,member"
    acme.save()


@pytest.fixture
def legnext_key(acme: Any) -> Any:
    return make_key(team=acme, provider="legnext", label="LegNext")


def offered_modes(page: Page, form: str = "#prompt-form") -> list[str]:
    """The modes a person can choose in a form's mode picker (hidden ones are not)."""
    return page.locator(f"{form} select[name=mode]").evaluate(
        "select => Array.from(select.options).filter(o => !o.hidden && !o.disabled)"
        ".map(o => o.textContent)"
    )


def test_a_member_upscales_image_2_of_a_legnext_grid_from_its_menu(
    server: StudioServer, page: Page, project: Any, bob: Any, legnext_key: Any
) -> None:
    grid = make_legnext_grid(project=project, user=bob, provider_key=legnext_key, files=True)
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()  # the live socket is up
    card = page.locator(f"#job-{grid.pk}")
    expect(card.locator(".provider-chip")).to_have_text("LegNext")
    expect(card.locator(".image-menu-2")).to_be_hidden()  # images first, menus on demand

    card.locator("label.image-pick", has_text="2").click()  # over the grid, on hover

    menu = card.locator(".image-menu-2")
    expect(menu).to_be_visible()
    expect(card.locator(".image-menu-1")).to_be_hidden()
    expect(card.locator(f"#pick-{grid.pk}-2")).to_be_checked()
    expect(menu.get_by_role("link", name="Download")).to_have_attribute(
        "download", f"{grid.pk}-2.png"
    )
    screenshot(page, "legnext-image-2-menu")
    menu.get_by_role("button", name="Upscale (Subtle)").click()

    child = page.locator(".job-card.op-upscale").first
    expect(child.locator(".lineage-line")).to_contain_text("Upscale (Subtle) · image 2")
    expect(child.locator(".provider-chip")).to_have_text("LegNext")


def test_the_picker_from_the_numbers_below_the_grid_works_too(
    server: StudioServer, page: Page, project: Any, bob: Any, legnext_key: Any
) -> None:
    grid = make_legnext_grid(project=project, user=bob, provider_key=legnext_key, files=True)
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()  # the live socket is up
    card = page.locator(f"#job-{grid.pk}")

    card.locator("label.image-pick", has_text="3").click()
    expect(card.get_by_role("radio", name="Image 3")).to_be_checked()
    card.locator(".image-menu-3").get_by_role("spinbutton").fill("1.4")
    card.locator(".image-menu-3").get_by_role("button", name="Custom Zoom…").click()

    child = page.locator(".job-card.op-outpaint").first
    expect(child.locator(".lineage-line")).to_contain_text("Zoom Out 1.4×")


def test_a_legnext_only_team_is_offered_fast_and_turbo_only(
    server: StudioServer, page: Page, project: Any, bob: Any, acme: Any, legnext_key: Any
) -> None:
    acme.provider_keys.exclude(pk=legnext_key.pk).update(is_active=False)
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()  # the live socket is up

    expect(page.locator("#provider-pick")).to_have_text("Runs on LegNext")
    assert offered_modes(page) == ["Fast", "Turbo"]
    page.click("label[for=tab-describe]")
    assert offered_modes(page, "#describe-form") == ["Fast", "Turbo"]


def test_switching_to_legnext_while_relax_is_chosen_switches_to_fast_visibly(
    server: StudioServer, page: Page, project: Any, bob: Any, legnext_key: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()  # the live socket is up
    page.fill("textarea[name=prompt]", "a lighthouse at dusk")
    expect(page.locator("#final-prompt")).to_contain_text("a lighthouse at dusk")
    page.select_option("#prompt-form select[name=mode]", "relax")
    expect(page.locator("#final-prompt")).to_contain_text("relax")
    assert offered_modes(page) == ["Relax", "Fast", "Turbo"]
    expect(page.locator(".shorten-btn")).to_be_hidden()  # PiAPI has no shorten

    page.locator("#provider-pick").get_by_text("LegNext").click()

    expect(page.locator("#provider-note")).to_have_text(
        "LegNext has no Relax mode: switched to Fast."
    )
    expect(page.locator("#prompt-form select[name=mode]")).to_have_value("fast")
    expect(page.locator("#final-prompt")).to_contain_text("fast")  # the server read it again
    assert offered_modes(page) == ["Fast", "Turbo"]
    expect(page.locator(".shorten-btn")).to_be_visible()

    page.locator("#provider-pick").get_by_text("PiAPI").click()
    expect(page.locator("#provider-note")).to_have_text("")
    expect(page.locator(".shorten-btn")).to_be_hidden()
    assert offered_modes(page) == ["Relax", "Fast", "Turbo"]
    expect(page.locator("#prompt-form select[name=mode]")).to_have_value("fast")  # kept


def test_shorten_shows_the_shorter_prompt_card(
    server: StudioServer, page: Page, project: Any, bob: Any, legnext_key: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()  # the live socket is up
    page.locator("#provider-pick").get_by_text("LegNext").click()
    page.fill("textarea[name=prompt]", "a very long prompt about a lighthouse at dusk")

    page.click(".shorten-btn")

    card = page.locator(".job-card.op-shorten").first
    expect(card).to_contain_text("a very long prompt about a lighthouse at dusk")
    expect(card.locator(".provider-chip")).to_have_text("LegNext")


# --- screenshots: light and dark, wide and narrow ----------------------------------


@pytest.fixture
def views(browser: Browser) -> Iterator[Any]:
    contexts = []

    def open_page(width: int, scheme: str) -> Page:
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def test_screenshots_of_a_legnext_grid_the_picker_and_the_keys(
    server: StudioServer,
    views: Any,
    project: Any,
    alice: Any,
    bob: Any,
    legnext_key: Any,
) -> None:
    grid = make_legnext_grid(
        project=project,
        user=bob,
        provider_key=legnext_key,
        files=True,
        prompt="a lighthouse on a cliff at dusk, volumetric fog --v 7",
    )
    for width in (1280, 390):
        for scheme in ("light", "dark"):
            page = views(width, scheme)
            log_in(page, server, "alice")
            page.wait_for_url(f"**/projects/{project.pk}/")
            expect(page.locator(".project.ws-open")).to_be_attached()
            name = f"providers-{width}-{scheme}"
            screenshot(page, f"{name}-composer")
            page.fill("textarea[name=prompt]", "a lighthouse on a cliff at dusk")
            expect(page.locator("#final-prompt")).to_contain_text("a lighthouse on a cliff")
            page.select_option("#prompt-form select[name=mode]", "relax")
            expect(page.locator("#final-prompt")).to_contain_text("relax")
            page.locator("#provider-pick").get_by_text("LegNext").click()
            expect(page.locator("#final-prompt")).to_contain_text("fast")
            screenshot(page, f"{name}-composer-legnext")
            card = page.locator(f"#job-{grid.pk}")
            top = "window.scrollTo(0, 0)"  # the sticky bar stays at the top of a full page
            page.evaluate(top)
            screenshot(page, f"{name}-grid-unpicked", full_page=True)
            card.locator("label.image-pick", has_text="2").click()
            expect(card.locator(".image-menu-2")).to_be_visible()
            page.wait_for_timeout(300)  # the other images dim
            page.evaluate(top)
            screenshot(page, f"{name}-grid-card", full_page=True)
            page.goto(f"{server.url}/images/{grid.quadrant_image(2).pk}/view/")
            screenshot(page, f"{name}-lightbox", full_page=True)
            page.goto(f"{server.url}/accounts/teams/{project.team_id}/keys/")
            screenshot(page, f"{name}-keys", full_page=True)


def test_screenshots_of_what_legnext_no_longer_allows(
    server: StudioServer, views: Any, project: Any, bob: Any, legnext_key: Any
) -> None:
    old = make_legnext_grid(
        project=project,
        user=bob,
        provider_key=legnext_key,
        files=True,
        made_at=timezone.now() - timedelta(days=4),
        prompt="a red fox in fresh snow",
    )
    waiting = make_job(
        project=project,
        user=bob,
        provider="legnext",
        provider_key=legnext_key,
        status="submitted",
        provider_task_id="legnext-waiting",
        prompt="a lighthouse in a storm",
    )
    for width, scheme in ((1280, "light"), (390, "dark")):
        page = views(width, scheme)
        log_in(page, server, "bob")
        page.wait_for_url(f"**/projects/{project.pk}/")
        expect(page.locator(".project.ws-open")).to_be_attached()
        card = page.locator(f"#job-{old.pk}")
        card.locator("label.image-pick", has_text="1").click()
        card.locator(".seed-reveal summary").click()
        expect(card.locator(".seed-value")).to_have_text("123")
        button = card.locator(".image-menu-1").get_by_role("button", name="Upscale (Subtle)")
        expect(button).to_have_attribute("aria-disabled", "true")
        cancel = page.locator(f"#job-{waiting.pk} button.cancel")
        expect(cancel).to_have_attribute("aria-disabled", "true")
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, f"providers-{width}-{scheme}-too-old", full_page=True)
