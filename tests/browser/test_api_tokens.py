"""API tokens in a real browser: made on the account page and seen once, revoked with a
confirmation; and the token sections, the token's page, the team's tab and the API page
look like Studio at both widths, in both themes."""

import datetime
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from studio.api.models import ApiTask, ApiToken, ApiTokenAddress, DeliveryStatus, OutgoingWebhook
from studio.api.services import token_create, token_revoke
from tests.browser.conftest import console_problems, screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_job


def test_a_member_makes_a_token_sees_it_once_and_revokes_it(
    server: StudioServer, page: Page, bob: Any, project: Any
) -> None:
    log_in(page, server, "bob")
    page.wait_for_url(f"{server.url}/**")
    page.goto(f"{server.url}/accounts/me/")

    page.fill("#token-create input[name=name]", "n8n workflow")
    page.click("#token-create button[type=submit]")

    secret_field = page.locator("#new-token-secret")
    expect(secret_field).to_be_visible()
    secret = secret_field.input_value()
    assert secret.startswith("studio_") and len(secret) > 40
    expect(page.locator("#new-token")).to_contain_text("it will not be shown again")
    expect(page.locator(".token-row")).to_contain_text("n8n workflow")
    expect(page.locator(".token-row .token-state")).to_have_text("Active")

    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    assert secret not in page.content()

    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".token-row button:has-text('Revoke')")
    expect(page.locator(".token-row .token-state")).to_have_text("Revoked")
    expect(page.locator("#api-tokens .done-note")).to_contain_text("Revoked “n8n workflow”")
    assert ApiToken.objects.get().is_revoked


def test_a_dismissed_confirmation_revokes_nothing(
    server: StudioServer, page: Page, bob: Any, project: Any
) -> None:
    token_create(user=bob, project=project, name="nightly")
    log_in(page, server, "bob")
    page.wait_for_url(f"{server.url}/**")
    page.goto(f"{server.url}/accounts/me/")

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click(".token-row button:has-text('Revoke')")

    expect(page.locator(".token-row .token-state")).to_have_text("Active")
    assert ApiToken.objects.get().is_usable


def a_team_with_tokens(*, alice: Any, bob: Any, project: Any) -> ApiToken:
    """Bob's tokens in every state, one used from two addresses with webhook deliveries."""
    bob.first_name, bob.last_name = "Roberta", "Longname-Smith"
    bob.save()
    used = token_create(user=bob, project=project, name="Render farm (production)").token
    now = timezone.now()
    ApiToken.objects.filter(pk=used.pk).update(
        last_used_at=now, last_used_address="203.0.113.77", requests_per_minute=120
    )
    ApiTokenAddress.objects.create(token=used, address="203.0.113.77")
    ApiTokenAddress.objects.create(token=used, address="2001:db8:85a3::8a2e:370:7334")
    api_task = ApiTask.objects.create(
        job=make_job(project=project, user=bob), token=used, task_type="imagine"
    )
    for status, task_status, progress, code, error in [
        (DeliveryStatus.FAILED, "processing", 40, 500, "The endpoint answered 500."),
        (DeliveryStatus.PENDING, "processing", 80, None, ""),
        (DeliveryStatus.DELIVERED, "completed", 100, 200, ""),
    ]:
        OutgoingWebhook.objects.create(
            api_task=api_task,
            token=used,
            task_status=task_status,
            progress=progress,
            status=status,
            attempts=5 if status == DeliveryStatus.FAILED else 1,
            response_code=code,
            error=error,
        )
    expiring = token_create(
        user=bob,
        project=project,
        name="Trial for the agency",
        expires_at=now + datetime.timedelta(days=30),
    )
    old = token_create(user=bob, project=project, name="Old laptop script")
    token_revoke(token=old.token, actor=alice)
    token_create(user=alice, project=project, name="Zapier")
    assert expiring
    return ApiToken.objects.get(pk=used.pk)


@pytest.mark.parametrize(
    ("width", "scheme"), [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")]
)
def test_the_token_pages_fit_the_screen_in_both_themes(
    server: StudioServer,
    browser: Browser,
    alice: Any,
    bob: Any,
    acme: Any,
    project: Any,
    width: int,
    scheme: Any,
) -> None:
    used = a_team_with_tokens(alice=alice, bob=bob, project=project)
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    problems = console_problems(page)
    name = f"{width}-{scheme}"

    log_in(page, server, "bob")
    page.wait_for_url(f"{server.url}/**")
    page.goto(f"{server.url}/accounts/me/")
    page.fill("#token-create input[name=name]", "GitHub Actions")
    page.click("#token-create button[type=submit]")
    expect(page.locator("#new-token")).to_be_visible()
    shot(page, f"api-tokens-account-{name}")
    fits(page, width)

    page.fill("#token-create input[name=name]", " ")
    page.fill("#token-create input[name=expires]", "2020-01-01")
    page.click("#token-create button[type=submit]")
    expect(page.locator("#token-name-error")).to_be_visible()
    expect(page.locator("#token-expires-error")).to_have_text(
        "That day has passed; choose a later one, or none."
    )
    shot(page, f"api-tokens-account-refused-{name}")

    page.goto(f"{server.url}/account/tokens/{used.pk}/")
    expect(page.locator(".delivery-table tbody tr")).to_have_count(3)
    shot(page, f"api-token-page-{name}")
    fits(page, width)

    page.goto(f"{server.url}/api/")
    expect(page.locator("#example-imagine")).to_contain_text("x-api-key: $STUDIO_TOKEN")
    shot(page, f"api-docs-{name}")
    fits(page, width)
    topbar = page.locator(".topbar").bounding_box()
    assert topbar and topbar["height"] < 60  # the API link keeps the top bar on one line

    page.context.clear_cookies()
    log_in(page, server, "alice")
    page.wait_for_url(f"{server.url}/**")
    page.goto(f"{server.url}/teams/{acme.pk}/api-tokens/")
    expect(page.locator(".team-token-row")).to_have_count(5)
    page.locator(f"#token-{used.pk} .token-limits summary").click()
    page.fill(f"#token-{used.pk} input[name=max_running]", "9")
    page.click(f"#token-{used.pk} .limits-form button[type=submit]")
    expect(page.locator(f"#token-{used.pk} .field-error")).to_contain_text("At most 3")
    shot(page, f"api-team-tokens-{name}")
    fits(page, width)
    context.close()
    assert not problems, problems


def shot(page: Page, name: str) -> None:
    """The whole page, scrolled to the top first: a full-page shot draws the sticky top
    bar where the page was scrolled to."""
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name, full_page=True)


def fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
