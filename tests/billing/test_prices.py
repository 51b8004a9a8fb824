"""What a job costs: per provider, mode and operation, the team's price over the
provider's default; a V7 draft grid half."""

from decimal import Decimal
from typing import Any

import pytest

from studio.billing.models import Price
from studio.billing.services import price_for
from studio.providers.legnext import LegNext

# LegNext's pricing page in credits at Fast (1 credit = $0.001): legnext-protocol.md §4.
LEGNEXT_FAST_CREDITS = {
    "imagine": 80,
    "reroll": 80,  # not listed by LegNext: it runs the prompt again, as an imagine
    "variation": 120,
    "inpaint": 120,
    "remix": 120,
    "upscale": 120,
    "upscale_creative": 160,
    "pan": 80,
    "outpaint": 80,
    "enhance": 80,
    "blend": 80,
    "describe": 20,
    "shorten": 20,
    "seed": 0,
}


def legnext(team: Any, mode: str, operation: str, *, draft: bool = False) -> Decimal:
    return price_for(team=team, provider="legnext", mode=mode, operation=operation, draft=draft)


def piapi(team: Any, mode: str, operation: str, *, draft: bool = False) -> Decimal:
    return price_for(team=team, provider="piapi", mode=mode, operation=operation, draft=draft)


@pytest.mark.parametrize(("operation", "credits"), LEGNEXT_FAST_CREDITS.items())
def test_legnext_defaults_are_its_credit_table_and_turbo_costs_twice_fast(
    acme: Any, operation: str, credits: int
) -> None:
    assert legnext(acme, "fast", operation) == Decimal(credits) / 1000
    assert legnext(acme, "turbo", operation) == 2 * Decimal(credits) / 1000


def test_a_creative_upscale_at_legnext_costs_more_than_a_subtle_one(acme: Any) -> None:
    assert legnext(acme, "fast", "upscale") == Decimal("0.12")
    assert legnext(acme, "fast", "upscale_creative") == Decimal("0.16")
    assert legnext(acme, "turbo", "upscale_creative") == Decimal("0.32")


def test_legnext_tells_a_creative_upscale_by_its_parameters() -> None:
    assert LegNext.price_key("upscale", {"image": 2, "type": "creative"}) == "upscale_creative"
    assert LegNext.price_key("upscale", {"image": 2, "type": "subtle"}) == "upscale"
    assert LegNext.price_key("variation", {"type": "creative"}) == "variation"


def test_legnext_has_no_relax_price(acme: Any) -> None:
    with pytest.raises(LookupError, match="LegNext has no relax mode"):
        legnext(acme, "relax", "imagine")


@pytest.mark.parametrize(
    ("mode", "price"), [("relax", "0.015"), ("fast", "0.045"), ("turbo", "0.10")]
)
@pytest.mark.parametrize("operation", ["imagine", "upscale", "variation", "describe", "seed"])
def test_piapi_charges_one_price_per_mode_for_every_operation(
    acme: Any, mode: str, price: str, operation: str
) -> None:
    assert piapi(acme, mode, operation) == Decimal(price)


@pytest.mark.parametrize(
    ("provider", "mode", "full", "half"),
    [
        ("legnext", "fast", "0.08", "0.04"),
        ("legnext", "turbo", "0.16", "0.08"),
        ("piapi", "fast", "0.045", "0.0225"),
        ("piapi", "relax", "0.015", "0.0075"),
    ],
)
def test_a_draft_costs_half(acme: Any, provider: str, mode: str, full: str, half: str) -> None:
    kind = {"team": acme, "provider": provider, "mode": mode, "operation": "imagine"}

    assert price_for(**kind) == Decimal(full)
    assert price_for(**kind, draft=True) == Decimal(half)


def test_half_a_price_is_rounded_to_the_hundredth_of_a_cent_money_is_kept_in(acme: Any) -> None:
    Price.objects.create(team=acme, provider="piapi", mode="fast", amount=Decimal("0.0415"))

    assert piapi(acme, "fast", "imagine", draft=True) == Decimal("0.0208")


def test_a_teams_price_is_for_one_provider_only(acme: Any) -> None:
    Price.objects.create(
        team=acme, provider="legnext", mode="fast", operation="upscale", amount=Decimal("0.10")
    )
    Price.objects.create(team=acme, provider="piapi", mode="fast", amount=Decimal("0.05"))

    assert legnext(acme, "fast", "upscale") == Decimal("0.10")
    assert legnext(acme, "fast", "imagine") == Decimal("0.08")
    assert piapi(acme, "fast", "upscale") == Decimal("0.05")
    assert piapi(acme, "fast", "imagine") == Decimal("0.05")


def test_a_teams_mode_price_leaves_the_operations_a_provider_prices_apart(acme: Any) -> None:
    Price.objects.create(team=acme, provider="legnext", mode="fast", amount=Decimal("0.09"))

    # What costs LegNext 80 credits follows the team's price; dearer and cheaper
    # operations keep theirs until the admin sets a price for them.
    assert legnext(acme, "fast", "imagine") == Decimal("0.09")
    assert legnext(acme, "fast", "pan") == Decimal("0.09")
    assert legnext(acme, "fast", "upscale") == Decimal("0.12")
    assert legnext(acme, "fast", "describe") == Decimal("0.02")
    assert legnext(acme, "turbo", "imagine") == Decimal("0.16")


def test_another_teams_prices_change_nothing(acme: Any, globex: Any) -> None:
    Price.objects.create(team=globex, provider="legnext", mode="fast", amount=Decimal("1"))

    assert legnext(acme, "fast", "imagine") == Decimal("0.08")
