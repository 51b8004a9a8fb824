"""Prices shown before a click are those of the provider the job would go to: the
composer's Generate button and price lines, and each follow-up's tooltip on a card."""

import re
from typing import Any

import pytest
from django.test import Client

from studio.billing.models import Price
from studio.generation.models import Status
from tests.factories import make_job, make_key


@pytest.fixture(autouse=True)
def members_may_use_turbo(acme: Any) -> None:
    """These tests are about each provider's prices, Turbo's among them (a member without
    Turbo rights sees none: test_composer_budgets.py)."""
    acme.turbo_roles = "admin,member"
    acme.save()


@pytest.fixture
def bob_client(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


@pytest.fixture
def legnext_first(acme: Any) -> Any:
    """Acme's first key is LegNext's; its PiAPI key comes second."""
    acme.provider_keys.update(position=1)
    return make_key(team=acme, provider="legnext", position=0)


def generate_cost(html: str) -> str:
    match = re.search(r'Generate <span class="cost">([^<]*)</span>', html)
    assert match, "no Generate button"
    return match.group(1)


def price_lines(html: str) -> list[list[str]]:
    """The prices each price line shows (describe's, then blend's); a provider not
    picked has its prices in the line too, hidden until it is picked."""
    lines = re.findall(r'<span class="muted small price-line">(.*?)</span></span>', html)
    return [
        [
            text
            for hidden, text in re.findall(
                r"<span data-provider=\S+ data-mode=\S+?( hidden)?>([^<]*)", line
            )
            if not hidden
        ]
        for line in lines
    ]


def preview(client: Client, project: Any, **fields: str) -> str:
    data = {"prompt": "a fox", "aspect_ratio": "1:1", "mode": "fast", **fields}
    response = client.post(f"/projects/{project.pk}/prompt/", data, headers={"HX-Request": "true"})
    return response.content.decode()


def test_a_piapi_team_sees_piapis_prices(bob_client: Client, project: Any) -> None:
    page = bob_client.get(f"/projects/{project.pk}/").content.decode()

    assert generate_cost(page) == "$0.045"
    assert price_lines(page) == [["Relax $0.015", "Fast $0.045", "Turbo $0.10"]] * 2


def test_a_team_whose_first_key_is_legnexts_sees_legnexts_prices(
    bob_client: Client, project: Any, legnext_first: Any
) -> None:
    page = bob_client.get(f"/projects/{project.pk}/").content.decode()

    assert generate_cost(page) == "$0.08"
    assert price_lines(page) == [["Fast $0.02", "Turbo $0.04"], ["Fast $0.08", "Turbo $0.16"]]
    # PiAPI's, shown when a member picks it.
    assert '<span data-provider="piapi" data-mode="relax" hidden>Relax $0.015</span>' in page


def test_a_draft_shows_half_the_price_on_the_generate_button(
    bob_client: Client, project: Any, legnext_first: Any
) -> None:
    assert generate_cost(preview(bob_client, project, version="7", draft="on")) == "$0.04"
    assert generate_cost(preview(bob_client, project, prompt="a fox --v 7 --draft")) == "$0.04"
    assert generate_cost(preview(bob_client, project, version="7")) == "$0.08"


def test_the_draft_checkbox_is_in_the_panel_and_refused_without_version_7(
    bob_client: Client, project: Any
) -> None:
    html = preview(bob_client, project, draft="on")

    assert 'name="draft" value="on" checked' in html
    assert "Draft <small>(v7, half price)</small>" in html
    assert "--draft needs --v 7." in html


def test_the_teams_own_price_is_shown(
    bob_client: Client, project: Any, acme: Any, legnext_first: Any
) -> None:
    Price.objects.create(team=acme, provider="legnext", mode="fast", amount="0.07")

    page = bob_client.get(f"/projects/{project.pk}/").content.decode()

    assert generate_cost(page) == "$0.07"


def test_a_legnext_cards_follow_ups_show_what_each_costs(
    bob_client: Client, project: Any, bob: Any, legnext_first: Any
) -> None:
    make_job(
        project=project,
        user=bob,
        provider="legnext",
        status=Status.COMPLETED,
        prompt="a fox --v 7 --draft",
        output={"actions": ["upscale_subtle:1", "upscale_creative:1", "vary_strong:1", "reroll"]},
    )

    page = bob_client.get(f"/projects/{project.pk}/").content.decode()

    assert "keeping it as it is · $0.12" in page
    assert "letting Midjourney add detail · $0.16" in page
    assert "with bigger changes · $0.12" in page
    assert "Run the prompt again · $0.04" in page  # a reroll of a draft is a draft
    assert '<span class="chip">Draft</span>' in page
