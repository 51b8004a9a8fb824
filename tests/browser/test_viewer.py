"""A viewer browses a project but spends nothing: no follow-ups, prices or "Imagine
this" on its cards, and a refused request says its sentence in place, never an error
page over the project."""

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_key, make_legnext_grid


def test_a_viewer_sees_the_grid_without_any_spending_control(
    server: StudioServer, page: Page, project: Any, bob: Any, vera: Any
) -> None:
    key = make_key(team=project.team, provider="legnext", api_key="lk-viewer")
    grid = make_legnext_grid(project=project, user=bob, provider_key=key, files=True)

    log_in(page, server, "vera")
    page.goto(f"{server.url}/projects/{project.pk}/")
    card = page.locator(f"#job-{grid.pk}")

    expect(card.locator("img").first).to_be_visible()
    card.locator(".quad-1").hover()  # where a member's follow-ups and prices would show
    expect(card.locator(".card-actions")).to_be_attached()  # pushed to everyone…
    expect(card.locator(".card-actions")).to_be_hidden()  # …shown to members only
    expect(card.get_by_role("button", name="Reroll")).to_be_hidden()
    expect(page.locator("#prompt-form")).to_have_count(0)
    screenshot(page, "viewer-feed-1280-light")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "viewer-feed-1280-dark")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(card.locator(".card-actions")).to_be_hidden()
    screenshot(page, "viewer-feed-390-dark")


def test_a_members_card_keeps_its_follow_ups(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    key = make_key(team=project.team, provider="legnext", api_key="lk-member")
    grid = make_legnext_grid(project=project, user=bob, provider_key=key, files=True)

    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")

    expect(page.locator(f"#job-{grid.pk}").get_by_role("button", name="Reroll")).to_be_visible()


def test_a_refused_request_shows_its_sentence_in_place(
    server: StudioServer, page: Page, project: Any, bob: Any, vera: Any
) -> None:
    key = make_key(team=project.team, provider="legnext", api_key="lk-viewer")
    grid = make_legnext_grid(project=project, user=bob, provider_key=key, files=True)
    log_in(page, server, "vera")
    page.goto(f"{server.url}/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()

    # As if the hidden Reroll button were clicked anyway (a stale page, a crafted click).
    page.locator(f"#job-{grid.pk} [data-action=reroll]").dispatch_event("click")

    expect(page.locator("#notice")).to_contain_text(
        "Viewers can browse a project but not generate images."
    )
    expect(page.locator(f"#job-{grid.pk}")).to_be_visible()  # the project is still there
    expect(page).to_have_url(f"{server.url}/projects/{project.pk}/")
