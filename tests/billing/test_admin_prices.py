"""The admin's prices: a section per provider, each mode's price and each operation's,
blank for the default the field shows; saved per provider, refused with a clear reason."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from studio.billing.models import Price
from studio.billing.services import price_for
from tests.billing.admin_helpers import hx
from tests.factories import make_key

PRICE_ERROR = "Enter a price in dollars, e.g. 0.045."


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


def save_prices(client: Client, team: Any, provider: str, **prices: str) -> Any:
    """Post a provider's prices form: `fast="0.05"`, `fast__upscale="0.1"` (a field
    named "fast.upscale")."""
    fields = {name.replace("__", "."): value for name, value in prices.items()}
    return hx(client, f"/teams/{team.pk}/money/prices/{provider}/", fields)


def section(page: str, provider: str) -> str:
    """One provider's form on the page."""
    match = re.search(rf'<form id="prices-{provider}".*?</form>', page, re.S)
    assert match, f"no {provider} prices on the page"
    return match.group(0)


def field(html: str, name: str) -> str:
    match = re.search(rf'<input type="text" name="{re.escape(name)}"[^>]*>', html)
    assert match, f"no field {name}"
    return match.group(0)


def price(team: Any, provider: str, mode: str, operation: str = "imagine") -> Decimal:
    return price_for(team=team, provider=provider, mode=mode, operation=operation)


def test_the_page_shows_each_providers_defaults_in_its_blank_fields(
    alice_client: Client, acme: Any
) -> None:
    page = alice_client.get(f"/teams/{acme.pk}/money/").content.decode()

    piapi, legnext = section(page, "piapi"), section(page, "legnext")
    assert 'value=""' in field(piapi, "fast") and 'placeholder="0.045"' in field(piapi, "fast")
    assert 'placeholder="0.015"' in field(piapi, "relax")
    assert 'placeholder="0.10"' in field(piapi, "turbo")
    assert 'placeholder="0.045"' in field(piapi, "fast.upscale")
    assert 'placeholder="0.08"' in field(legnext, "fast")
    assert 'placeholder="0.16"' in field(legnext, "turbo")
    assert 'placeholder="0.12"' in field(legnext, "fast.upscale")
    assert 'placeholder="0.32"' in field(legnext, "turbo.upscale_creative")
    assert 'placeholder="0.02"' in field(legnext, "fast.describe")
    assert "Upscale (Creative)" in legnext


def test_legnext_shows_no_relax_prices(alice_client: Client, acme: Any) -> None:
    page = alice_client.get(f"/teams/{acme.pk}/money/").content.decode()

    assert 'name="relax' not in section(page, "legnext")
    assert "Relax" not in section(page, "legnext")
    assert 'name="relax' in section(page, "piapi")


def test_the_teams_providers_come_first_and_one_without_a_key_says_so(
    alice_client: Client, acme: Any
) -> None:
    page = alice_client.get(f"/teams/{acme.pk}/money/").content.decode()
    assert page.index('id="prices-piapi"') < page.index('id="prices-legnext"')
    assert "No key yet" in section(page, "legnext")
    assert "No key yet" not in section(page, "piapi")

    acme.provider_keys.update(position=1)
    make_key(team=acme, provider="legnext", position=0)
    page = alice_client.get(f"/teams/{acme.pk}/money/").content.decode()

    assert page.index('id="prices-legnext"') < page.index('id="prices-piapi"')
    assert "No key yet" not in page


def test_a_saved_legnext_price_is_legnexts_alone(alice_client: Client, acme: Any) -> None:
    response = save_prices(alice_client, acme, "legnext", fast__upscale="0.1", turbo="0.15")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Saved" in body
    assert 'value="0.10"' in field(body, "fast.upscale")
    assert "Default $0.16" in body  # beside the Turbo price set, what it replaced
    assert "Default $0.08" not in body  # a blank field shows its default in itself
    assert price(acme, "legnext", "fast", "upscale") == Decimal("0.1")
    assert price(acme, "legnext", "turbo") == Decimal("0.15")
    assert price(acme, "piapi", "fast", "upscale") == Decimal("0.045")
    assert price(acme, "piapi", "turbo") == Decimal("0.10")
    assert set(Price.objects.values_list("provider", flat=True)) == {"legnext"}


def test_a_saved_price_is_kept_exactly_as_typed(alice_client: Client, acme: Any) -> None:
    save_prices(alice_client, acme, "piapi", fast="0.045", turbo="0.12")

    fast = Price.objects.get(team=acme, provider="piapi", mode="fast", operation="")
    assert f"{fast.amount.normalize():f}" == "0.045"
    assert price(acme, "piapi", "turbo") == Decimal("0.12")


def test_a_price_may_be_typed_with_a_dollar_sign(alice_client: Client, acme: Any) -> None:
    save_prices(alice_client, acme, "piapi", relax="$0.02")

    assert price(acme, "piapi", "relax") == Decimal("0.02")


def test_a_free_operation_is_allowed(alice_client: Client, acme: Any) -> None:
    assert save_prices(alice_client, acme, "legnext", fast__describe="0").status_code == 200

    assert price(acme, "legnext", "fast", "describe") == Decimal("0")


def test_an_operations_price_beats_its_modes(alice_client: Client, acme: Any) -> None:
    save_prices(alice_client, acme, "piapi", fast="0.05", fast__upscale="0.02")

    assert price(acme, "piapi", "fast", "upscale") == Decimal("0.02")
    assert price(acme, "piapi", "fast", "imagine") == Decimal("0.05")
    assert price(acme, "piapi", "relax", "upscale") == Decimal("0.015")


def test_a_field_left_blank_goes_back_to_the_default(alice_client: Client, acme: Any) -> None:
    save_prices(alice_client, acme, "legnext", fast="0.09", fast__pan="0.05")

    response = save_prices(alice_client, acme, "legnext", fast="0.09", fast__pan="")

    assert response.status_code == 200
    assert price(acme, "legnext", "fast", "pan") == Decimal("0.09")
    assert 'placeholder="0.09"' in field(response.content.decode(), "fast.pan")
    assert Price.objects.count() == 1


def test_a_legnext_save_leaves_piapis_prices_alone(alice_client: Client, acme: Any) -> None:
    save_prices(alice_client, acme, "piapi", fast="0.05")

    save_prices(alice_client, acme, "legnext", fast="0.09")

    assert price(acme, "piapi", "fast") == Decimal("0.05")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-0.01", PRICE_ERROR),
        ("NaN", PRICE_ERROR),
        ("inf", PRICE_ERROR),
        ("1e-3", PRICE_ERROR),
        ("four cents", PRICE_ERROR),
        ("0.045000000000000005", "At most 4 decimal places."),
        ("100.01", "At most $100."),
    ],
)
def test_a_price_that_does_not_read_is_refused_with_a_clear_message(
    alice_client: Client, acme: Any, typed: str, message: str
) -> None:
    response = save_prices(alice_client, acme, "legnext", fast="0.09", turbo__upscale=typed)

    assert response.status_code == 422
    body = response.content.decode()
    assert re.search(rf"<strong>Upscale in Turbo:</strong> [^<]*{re.escape(message)}</li>", body)
    assert 'aria-invalid="true"' in field(body, "turbo.upscale")
    assert f'value="{typed}"' in field(body, "turbo.upscale")
    assert "Not saved" in body
    assert '<details class="operation-prices" open>' in body  # the error is in sight
    assert not Price.objects.exists()  # not even the valid fast price


def test_without_javascript_a_saved_form_returns_to_the_page(
    alice_client: Client, acme: Any
) -> None:
    response = alice_client.post(f"/teams/{acme.pk}/money/prices/legnext/", {"fast": "0.07"})

    assert response.status_code == 302
    assert response["Location"] == f"/teams/{acme.pk}/money/"


def test_without_javascript_a_refused_form_shows_on_the_whole_page(
    alice_client: Client, acme: Any
) -> None:
    response = alice_client.post(f"/teams/{acme.pk}/money/prices/legnext/", {"fast": "abc"})

    assert response.status_code == 422
    body = response.content.decode()
    assert "<html" in body and PRICE_ERROR in body
    assert 'value="abc"' in field(section(body, "legnext"), "fast")
    assert 'id="prices-piapi"' in body
