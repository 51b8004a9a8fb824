from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from studio.billing.models import Price
from studio.billing.services import price_for
from tests.billing.admin_helpers import hx
from tests.factories import make_team

PRICE_ERROR = "Enter a price in dollars, e.g. 0.045."


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


def save_prices(client: Client, team: Any, **prices: str) -> Any:
    fields = {"relax": "0.015", "fast": "0.045", "turbo": "0.10", **prices}
    return hx(client, f"/teams/{team.pk}/money/prices/", fields)


def test_the_settings_page_shows_the_default_prices_when_none_are_set(
    alice_client: Client, acme: Any
) -> None:
    page = alice_client.get(f"/teams/{acme.pk}/money/").content.decode()

    assert 'name="relax" value="0.015"' in page
    assert 'name="fast" value="0.045"' in page
    assert 'name="turbo" value="0.10"' in page
    assert "Default $0.045" in page


def test_a_saved_price_is_kept_exactly_as_typed(alice_client: Client, acme: Any) -> None:
    response = save_prices(alice_client, acme, fast="0.045", turbo="0.12")

    assert response.status_code == 200
    assert "Saved" in response.content.decode()
    fast = Price.objects.get(team=acme, mode="fast", operation="")
    assert fast.amount == Decimal("0.045")
    assert f"{fast.amount.normalize():f}" == "0.045"
    assert price_for(team=acme, mode="turbo", operation="imagine") == Decimal("0.12")
    assert 'name="turbo" value="0.12"' in response.content.decode()


def test_a_price_may_be_typed_with_a_dollar_sign(alice_client: Client, acme: Any) -> None:
    save_prices(alice_client, acme, relax="$0.02")

    assert price_for(team=acme, mode="relax", operation="imagine") == Decimal("0.02")


def test_a_free_mode_is_allowed(alice_client: Client, acme: Any) -> None:
    assert save_prices(alice_client, acme, relax="0").status_code == 200

    assert price_for(team=acme, mode="relax", operation="imagine") == Decimal("0")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-0.01", PRICE_ERROR),
        ("NaN", PRICE_ERROR),
        ("inf", PRICE_ERROR),
        ("Infinity", PRICE_ERROR),
        ("1e-3", PRICE_ERROR),
        ("four cents", PRICE_ERROR),
        ("", PRICE_ERROR),
        ("0.045000000000000005", "At most 4 decimal places."),
        ("100.01", "At most $100."),
    ],
)
def test_a_price_that_does_not_read_is_refused_with_a_clear_message(
    alice_client: Client, acme: Any, typed: str, message: str
) -> None:
    response = save_prices(alice_client, acme, relax="0.02", fast=typed)

    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    assert 'aria-invalid="true"' in body
    assert not Price.objects.exists()  # not even the valid relax price


def test_an_override_for_one_operation_is_what_price_for_charges(
    alice_client: Client, acme: Any
) -> None:
    response = hx(
        alice_client,
        f"/teams/{acme.pk}/money/overrides/",
        {"operation": "upscale", "mode": "fast", "amount": "0.02"},
    )

    assert response.status_code == 200
    assert price_for(team=acme, mode="fast", operation="upscale") == Decimal("0.02")
    assert price_for(team=acme, mode="fast", operation="imagine") == Decimal("0.045")
    assert price_for(team=acme, mode="relax", operation="upscale") == Decimal("0.015")
    body = response.content.decode()
    assert "Upscale" in body and "$0.02" in body and "not $0.045" in body


def test_adding_an_override_again_changes_its_price(alice_client: Client, acme: Any) -> None:
    for amount in ("0.02", "0.025"):
        hx(
            alice_client,
            f"/teams/{acme.pk}/money/overrides/",
            {"operation": "pan", "mode": "turbo", "amount": amount},
        )

    assert Price.objects.filter(team=acme, operation="pan").count() == 1
    assert price_for(team=acme, mode="turbo", operation="pan") == Decimal("0.025")


def test_an_override_with_an_unknown_operation_is_refused(alice_client: Client, acme: Any) -> None:
    response = hx(
        alice_client,
        f"/teams/{acme.pk}/money/overrides/",
        {"operation": "shout", "mode": "fast", "amount": "0.02"},
    )

    assert response.status_code == 422
    assert "Choose an operation." in response.content.decode()
    assert not Price.objects.exists()


def test_an_override_with_a_bad_price_is_refused(alice_client: Client, acme: Any) -> None:
    response = hx(
        alice_client,
        f"/teams/{acme.pk}/money/overrides/",
        {"operation": "upscale", "mode": "fast", "amount": "-1"},
    )

    assert response.status_code == 422
    assert PRICE_ERROR in response.content.decode()
    assert not Price.objects.exists()


def test_removing_an_override_brings_back_the_modes_price(alice_client: Client, acme: Any) -> None:
    override = Price.objects.create(team=acme, mode="fast", operation="upscale", amount="0.02")

    response = hx(alice_client, f"/teams/{acme.pk}/money/overrides/{override.pk}/delete/")

    assert response.status_code == 200
    assert "Removed" in response.content.decode()
    assert price_for(team=acme, mode="fast", operation="upscale") == Decimal("0.045")


def test_another_teams_override_cannot_be_removed(alice_client: Client, acme: Any) -> None:
    theirs = Price.objects.create(
        team=make_team(name="Initech"), mode="fast", operation="upscale", amount="0.02"
    )

    response = hx(alice_client, f"/teams/{acme.pk}/money/overrides/{theirs.pk}/delete/")

    assert response.status_code == 404
    assert Price.objects.filter(pk=theirs.pk).exists()


def test_a_modes_own_price_cannot_be_removed_as_an_override(
    alice_client: Client, acme: Any
) -> None:
    mode_price = Price.objects.create(team=acme, mode="fast", operation="", amount="0.05")

    response = hx(alice_client, f"/teams/{acme.pk}/money/overrides/{mode_price.pk}/delete/")

    assert response.status_code == 404
    assert Price.objects.filter(pk=mode_price.pk).exists()


def test_without_javascript_a_saved_form_returns_to_the_page(
    alice_client: Client, acme: Any
) -> None:
    response = alice_client.post(
        f"/teams/{acme.pk}/money/prices/", {"relax": "0.01", "fast": "0.04", "turbo": "0.09"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/teams/{acme.pk}/money/"


def test_without_javascript_a_refused_form_shows_on_the_whole_page(
    alice_client: Client, acme: Any
) -> None:
    response = alice_client.post(
        f"/teams/{acme.pk}/money/prices/", {"relax": "abc", "fast": "0.04", "turbo": "0.09"}
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert "<html" in body and PRICE_ERROR in body
    assert 'name="relax" value="abc"' in body
