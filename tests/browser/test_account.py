"""One's account in a real browser: reached from the topbar, a forced theme wins over
the system's, and the account and password pages look like Studio at both widths."""

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from studio.generation.models import Job
from tests.billing.admin_helpers import money_job
from tests.browser.conftest import console_problems, screenshot, wait_until
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_job, make_project

DARK_BACKGROUND = "rgb(17, 17, 19)"
LIGHT_BACKGROUND = "rgb(246, 246, 244)"


def background(page: Page) -> str:
    page.wait_for_load_state("load")  # the stylesheet applied
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_the_avatar_opens_the_account_page_where_a_new_name_shows_at_once(
    server: StudioServer, page: Page, bob: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"{server.url}/**")
    page.click(".account-link")
    page.wait_for_url("**/accounts/me/")

    page.fill("input[name=display_name]", "Bob Builder")
    page.click(".tone-swatch:has(input[value='2'])")
    page.click("#profile-form button[type=submit]")

    expect(page.locator(".account-name")).to_have_text("Bob Builder")
    expect(page.locator(".account-link .avatar")).to_have_class("avatar tone-2")
    expect(page.locator(".done-note")).to_contain_text("others now see you as Bob Builder")


@pytest.mark.parametrize(
    ("chosen", "system", "expected"),
    [
        ("dark", "light", DARK_BACKGROUND),
        ("light", "dark", LIGHT_BACKGROUND),
        ("system", "dark", DARK_BACKGROUND),
        ("system", "light", LIGHT_BACKGROUND),
    ],
)
def test_a_chosen_theme_wins_over_the_system_and_system_follows_it(
    server: StudioServer, page: Page, bob: Any, chosen: str, system: Any, expected: str
) -> None:
    page.emulate_media(color_scheme=system)
    log_in(page, server, "bob")
    page.wait_for_url(f"{server.url}/**")
    page.goto(f"{server.url}/accounts/me/")

    page.click(f"#theme-form label:has(input[value={chosen}])")
    page.click("#theme-form button[type=submit]")

    expect(page.locator(".done-note")).to_contain_text("Theme:")
    assert background(page) == expected
    scheme = page.evaluate("getComputedStyle(document.documentElement).colorScheme")
    assert scheme == {"dark": "dark", "light": "light", "system": "light dark"}[chosen]
    page.goto(f"{server.url}/accounts/me/password/")  # and on the next page, from the start
    assert background(page) == expected


@pytest.mark.parametrize(
    ("width", "scheme", "theme"),
    [
        (1280, "light", "system"),
        (1280, "dark", "system"),
        (390, "light", "system"),
        (390, "light", "dark"),
    ],
)
def test_the_account_and_password_pages_fit_the_screen(
    server: StudioServer, browser: Browser, bob: Any, width: int, scheme: Any, theme: str
) -> None:
    bob.first_name, bob.last_name, bob.theme, bob.avatar_tone = (
        "Roberta",
        "Longname-Smith",
        theme,
        6,
    )
    bob.save()
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    problems = console_problems(page)
    log_in(page, server, "bob")
    page.wait_for_url(f"{server.url}/**")
    name = f"account-{width}-{scheme}-{theme}"

    page.goto(f"{server.url}/accounts/me/")
    screenshot(page, name, full_page=True)
    topbar = page.locator(".topbar").bounding_box()
    logout = page.locator(".account button").bounding_box()
    assert topbar and logout
    assert topbar["height"] < 60  # one line: nothing wraps, on a phone too
    assert logout["height"] < 40 and logout["x"] + logout["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.fill("input[name=display_name]", "   ")
    page.fill("input[name=email]", "roberta-at-example")
    page.click("#profile-form button[type=submit]")
    expect(page.locator("#display-name-error")).to_have_text("Give a name others will know you by.")
    screenshot(page, f"{name}-refused", full_page=True)

    page.click("#change-password")
    page.fill("input[name=old_password]", "not-it")
    page.fill("input[name=new_password1]", "a-fresh-pass-phrase")
    page.fill("input[name=new_password2]", "a-fresh-pass-phrase")
    page.click("#password-form button[type=submit]")
    expect(page.locator(".field-error")).to_have_text("That is not your current password.")
    screenshot(page, f"password-change-{width}-{scheme}-{theme}", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
    assert not problems, problems


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (390, "light"), (390, "dark")])
def test_the_topbar_stays_one_tidy_line_and_cards_wear_the_avatar_colour(
    server: StudioServer, browser: Browser, bob: Any, acme: Any, width: int, scheme: Any
) -> None:
    bob.first_name, bob.avatar_tone = "Bartholomew", 4
    bob.save()
    project = make_project(team=acme, name="A spring campaign with a rather long name indeed")
    make_job(project=project, user=bob, status="failed", error="The provider refused it.")
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    problems = console_problems(page)
    log_in(page, server, "bob")
    page.wait_for_url(f"{server.url}/**")
    page.goto(f"{server.url}/projects/{project.pk}/")

    card_avatar = page.locator(".job-card .job-meta .avatar").first
    expect(card_avatar).to_have_class("avatar small tone-4")
    expect(page.locator(".account-link .avatar")).to_have_class("avatar tone-4")
    screenshot(page, f"topbar-project-{width}-{scheme}")
    topbar = page.locator(".topbar").bounding_box()
    logout = page.locator(".account button").bounding_box()
    avatar = page.locator(".account-link .avatar").bounding_box()
    assert topbar and logout and avatar
    assert topbar["height"] < 60  # one line
    assert logout["height"] < 40  # "Log out" on one line
    assert logout["x"] + logout["width"] <= width and avatar["x"] > 0
    assert page.locator(".account-name").is_visible() == (width > 640)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
    assert not problems, problems


@pytest.mark.parametrize(
    ("theme", "system", "muted"),
    [
        ("dark", "light", "rgb(154, 153, 163)"),
        ("light", "dark", "rgb(109, 106, 99)"),
    ],
)
def test_the_spend_charts_draw_in_the_chosen_theme(
    server: StudioServer, page: Page, alice: Any, acme: Any, theme: str, system: Any, muted: str
) -> None:
    alice.theme = theme
    alice.save()
    project = make_project(team=acme, name="Posters")
    money_job(project=project, user=alice, when=timezone.now(), mode="fast")
    Job.objects.update(status="completed")  # nothing for the worker to send
    page.emulate_media(color_scheme=system)
    log_in(page, server, "alice")
    page.wait_for_url(f"{server.url}/**")
    page.goto(f"{server.url}/teams/{acme.pk}/spend/")

    expect(page.locator("#chart-by-mode")).to_be_visible()
    wait_until(page, "window.Chart && Chart.instances && Object.keys(Chart.instances).length > 0")
    # Chart.js takes the theme's colours as the page resolves them, not light-dark() text.
    assert page.evaluate("Chart.defaults.color") == muted
    screenshot(page, f"spend-{theme}-on-{system}", full_page=True)
