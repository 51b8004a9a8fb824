"""The composer says what the budgets and the member's rights allow before Generate is
pressed: Turbo is not offered to members who may not use it, Generate is disabled with
the sentence the server would refuse with, and a budget with under 10 % left is warned."""

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from studio.billing.models import Usage, month_of
from tests.billing.helpers import set_budget
from tests.factories import make_key

HX = {"HX-Request": "true"}


def page(client: Client, project: Any) -> str:
    response = client.get(f"/projects/{project.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def generate_button(html: str) -> str:
    found = re.search(r'<button class="btn primary" type="submit"[^>]*>', html)
    assert found is not None
    return found[0]


def offered_modes(html: str, form: str) -> list[str]:
    start = html.index('<select name="mode">', html.index(f'id="{form}"'))
    select = html[start : html.index("</select>", start)]
    return [
        v
        for v, rest in re.findall(r'<option value="(\w+)"([^>]*)>', select)
        if "disabled" not in rest
    ]


def spent(team: Any, user: Any, amount: str) -> None:
    month: date = month_of(timezone.now())
    for owner in (user, None):
        Usage.objects.update_or_create(
            team=team, user=owner, month=month, defaults={"spent_fast": Decimal(amount)}
        )


def test_a_member_without_turbo_rights_is_not_offered_turbo_anywhere(
    client: Client, bob: Any, project: Any, acme: Any
) -> None:
    make_key(team=acme, provider="legnext")
    client.force_login(bob)

    html = page(client, project)

    for form in ("prompt-form", "describe-form", "blend-form"):
        assert offered_modes(html, form) == ["relax", "fast"], form
    assert 'data-modes="relax fast"' in html and 'data-modes="fast"' in html
    assert "Turbo $" not in html  # nor priced


def test_an_admin_with_turbo_rights_is_offered_turbo(
    client: Client, alice: Any, project: Any
) -> None:
    client.force_login(alice)

    assert offered_modes(page(client, project), "prompt-form") == ["relax", "fast", "turbo"]


def test_turbo_typed_by_a_member_without_rights_disables_generate_with_the_reason(
    client: Client, bob: Any, project: Any
) -> None:
    client.force_login(bob)

    html = client.post(
        f"/projects/{project.pk}/prompt/", {"prompt": "a fox --turbo"}, headers=HX
    ).content.decode()

    reason = "Turbo is not open to members in this team; choose Relax or Fast."
    assert f'<p class="afford-note refused" id="afford-note">{reason}</p>' in html
    assert " disabled" in generate_button(html)


def test_generate_is_disabled_with_the_sentence_the_server_refuses_with(
    client: Client, bob: Any, project: Any, acme: Any
) -> None:
    set_budget(acme, "0.04", user=bob)
    client.force_login(bob)

    html = page(client, project)
    submitted = client.post(
        f"/projects/{project.pk}/jobs/",
        {"prompt": "a fox", "mode": "fast", "aspect_ratio": "1:1"},
        headers=HX,
    )

    reason = "$0.04 left of your $0.04 budget this month; this job costs $0.045."
    assert " disabled" in generate_button(html)
    assert 'aria-describedby="afford-note"' in generate_button(html)
    assert f'id="afford-note">{reason}</p>' in html
    assert submitted.status_code == 422
    refused = submitted.content.decode()
    assert refused.count(reason) == 1  # said once, not as a refusal and a note


def test_a_cheaper_mode_the_budget_can_pay_enables_generate(
    client: Client, bob: Any, project: Any, acme: Any
) -> None:
    set_budget(acme, "0.04", user=bob)
    client.force_login(bob)

    html = client.post(
        f"/projects/{project.pk}/prompt/", {"prompt": "a fox", "mode": "relax"}, headers=HX
    ).content.decode()

    assert " disabled" not in generate_button(html)
    assert "afford-note" not in html


def test_a_team_without_a_budget_is_told_before_generate(
    client: Client, bob: Any, project: Any, acme: Any
) -> None:
    set_budget(acme, None)
    client.force_login(bob)

    html = page(client, project)

    assert " disabled" in generate_button(html)
    assert "Your team has no monthly budget yet, so nothing can be spent" in html


@pytest.mark.parametrize(
    ("used", "warned"),
    [("0.95", True), ("0.80", False)],
)
def test_a_budget_with_under_a_tenth_left_is_warned(
    client: Client, bob: Any, project: Any, acme: Any, used: str, warned: bool
) -> None:
    set_budget(acme, "1.00", user=bob)
    spent(acme, bob, used)
    client.force_login(bob)

    html = page(client, project)

    warning = "Under 10 % left: $0.05 of your $1.00 budget this month."
    assert (f'<p class="afford-note low" id="afford-note">{warning}</p>' in html) is warned
    assert " disabled" not in generate_button(html)


def test_a_prompt_over_the_limit_is_said_once_and_kept_whole(
    client: Client, bob: Any, project: Any
) -> None:
    client.force_login(bob)
    prompt = "a" * 2600

    response = client.post(
        f"/projects/{project.pk}/jobs/",
        {"prompt": prompt, "mode": "fast", "aspect_ratio": "1:1"},
        headers=HX,
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert html.count("characters long; the limit is 2500") == 1
    assert "The prompt is 2600 characters long; the limit is 2500." in html
    assert f">{prompt}</textarea>" in html  # not cut
    assert "maxlength" not in html[html.index('id="id_prompt"') :].split(">")[0]


def test_the_counter_sits_outside_the_panel_the_preview_replaces(
    client: Client, bob: Any, project: Any
) -> None:
    client.force_login(bob)

    html = page(client, project)
    preview = client.post(
        f"/projects/{project.pk}/prompt/", {"prompt": "a fox"}, headers=HX
    ).content.decode()

    assert 'id="prompt-count"' in html
    assert 'id="prompt-count"' not in preview


def test_what_is_sent_is_folded_to_one_line(client: Client, bob: Any, project: Any) -> None:
    client.force_login(bob)

    html = client.post(
        f"/projects/{project.pk}/prompt/", {"prompt": "a fox --s 250"}, headers=HX
    ).content.decode()

    assert re.search(
        r'<details class="final-prompt" id="final-prompt"><summary>.*a fox --s 250.*</summary>'
        r"<code>a fox --s 250</code></details>",
        html,
    )


def test_a_turbo_default_opens_in_fast_for_a_member_without_rights_and_says_so(
    client: Client, bob: Any, project: Any, acme: Any
) -> None:
    acme.default_mode = "turbo"
    acme.save()
    client.force_login(bob)

    html = page(client, project)

    assert re.search(r'<option value="fast" selected>', html)
    assert "Turbo is not open to you in this team: switched to Fast." in html
