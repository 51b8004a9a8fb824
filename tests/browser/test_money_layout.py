"""The money settings page holds still: budget rows keep their columns whether a row
shows a bar, a 'Saved' or neither, and a price field with an error moves nothing."""

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.billing.helpers import set_budget
from tests.browser.conftest import console_problems, screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer


def lefts(page: Page, selector: str) -> list[float]:
    return [
        round(box["x"], 1)
        for box in page.eval_on_selector_all(
            selector, "nodes => nodes.map(n => n.getBoundingClientRect().toJSON())"
        )
    ]


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (1280, "dark"), (390, "light")])
def test_budget_rows_keep_their_columns_with_a_bar_and_a_saved_note(
    server: StudioServer, browser: Browser, alice: Any, bob: Any, acme: Any, width: int, scheme: Any
) -> None:
    set_budget(acme, "5", user=bob)  # bob's row shows a bar, alice's none
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    problems = console_problems(page)
    log_in(page, server, "alice")
    page.wait_for_url(f"{server.url}/**")
    page.goto(f"{server.url}/teams/{acme.pk}/money/")
    rows = page.locator(".budget-row:not(.budget-header)")
    expect(rows).to_have_count(2)
    bob_row = page.locator(f"#member-budget-{bob.memberships.get().pk}")
    expect(bob_row.locator("progress")).to_be_visible()

    before = lefts(page, ".budget-row:not(.budget-header) input[name=total]")
    bob_row.locator("button[type=submit]").click()
    expect(bob_row.locator(".saved-note")).to_have_text("Saved")
    after = lefts(page, ".budget-row:not(.budget-header) input[name=total]")
    page.locator(".budgets").scroll_into_view_if_needed()
    screenshot(page, f"budget-rows-{width}-{scheme}")

    print(before, after)
    assert len(set(before)) == 1, before  # with a bar and without, one column
    assert after == before  # "Saved" moved nothing
    context.close()
    assert not problems, problems


def boxes(page: Page, selector: str) -> dict[str, tuple[int, int, int]]:
    """Each input's name and where it sits: x and y relative to its form, and width."""
    found = page.eval_on_selector_all(
        selector,
        "nodes => nodes.map(n => { const b = n.getBoundingClientRect(),"
        " f = n.form.getBoundingClientRect();"
        " return [n.name, Math.round(b.x - f.x), Math.round(b.y - f.y), Math.round(b.width)]; })",
    )
    return {name: (x, y, width) for name, x, y, width in found}


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (1280, "dark"), (390, "light")])
def test_a_price_or_budget_field_with_an_error_moves_no_other_field(
    server: StudioServer, browser: Browser, alice: Any, acme: Any, width: int, scheme: Any
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    problems = console_problems(page)
    log_in(page, server, "alice")
    page.wait_for_url(f"{server.url}/**")
    money = f"{server.url}/teams/{acme.pk}/money/"

    # (form, the field given a bad value, the fields of its row, what the page says)
    for form, field, row, refused in [
        ("#prices-piapi", "fast", ["relax", "fast", "turbo"], "Fast: Enter a price"),
        (
            "#prices-piapi",
            "fast.upscale",
            ["relax.upscale", "fast.upscale", "turbo.upscale"],
            "Upscale in Fast",
        ),
        ("#team-budget", "relax", ["total", "relax", "fast", "turbo"], "Enter"),
    ]:
        page.goto(money)
        page.eval_on_selector_all(f"{form} details", "all => all.forEach(d => { d.open = true; })")
        inputs = f"{form} input[type=text]"
        before = boxes(page, inputs)
        page.locator(f"{form} input[name='{field}']").fill("abc")
        page.locator(f"{form} button[type=submit]").click()
        expect(page.locator(form)).to_contain_text(refused)
        after = boxes(page, inputs)
        page.locator(f"{form} input[name='{field}']").evaluate(
            "input => input.scrollIntoView({block: 'center'})"
        )
        screenshot(page, f"field-error-{width}-{scheme}-{field}")

        # No column moves or narrows, and the field's row stays one line of inputs.
        columns = {name: (x, w) for name, (x, _, w) in after.items()}
        assert columns == {name: (x, w) for name, (x, _, w) in before.items()}, field
        same_line = [name for name in row if before[name][1] == before[field][1]]
        lines = {after[name][1] for name in same_line}
        assert len(same_line) > 1 and len(lines) == 1, (field, {n: after[n] for n in row})
    context.close()
    assert not problems, problems
