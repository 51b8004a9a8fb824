"""What a member sees on an open project page when an admin changes their access."""

from typing import Any

from playwright.sync_api import Page, expect

from studio.accounts.models import Membership
from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer


def change_membership(
    server: StudioServer, project: Any, user: Any, action: str, **data: str
) -> None:
    """`action` ("remove" or "role") done by alice, the team's admin, on her team page."""
    membership = Membership.objects.get(user=user, team_id=project.team_id)
    response = server.login("alice").post(
        f"{server.url}/accounts/teams/{project.team_id}/members/{membership.pk}/{action}/",
        data=data,
        headers={"HX-Request": "true"},
        timeout=10,
    )
    assert response.status_code == 200


def test_a_member_removed_while_watching_is_told_and_the_page_stops_being_live(
    server: StudioServer, page: Page, project: Any, alice: Any, bob: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()

    change_membership(server, project, bob, "remove")

    expect(page.locator("#notice")).to_contain_text("You no longer have access to this project")
    expect(page.locator(".project.ws-open")).to_have_count(0)
    screenshot(page, "access-removed")


def test_a_member_whose_role_changes_while_watching_stays_live(
    server: StudioServer, page: Page, project: Any, alice: Any, bob: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()
    page.evaluate(
        "document.addEventListener('htmx:wsOpen', () => { document.body.dataset.reopened = 1; })"
    )

    change_membership(server, project, bob, "role", role="viewer")

    expect(page.locator("body[data-reopened]")).to_be_attached()  # reconnected by itself
    response = server.login("alice").post(
        f"{server.url}/projects/{project.pk}/jobs/",
        data={"prompt": "for the new viewer", "mode": "fast"},
        headers={"HX-Request": "true"},
        timeout=10,
    )
    assert response.status_code == 201
    expect(page.locator(".job-card").first).to_contain_text("for the new viewer")
    expect(page.locator("#notice .toast")).to_have_count(0)
