import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from studio.billing.models import month_of
from tests.billing.admin_helpers import at, chart_data, money_job
from tests.factories import make_project

MARCH = "2026-03"


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def march(project: Any, alice: Any, bob: Any) -> dict[str, Any]:
    """A month of money: charges, a release and a job still holding."""
    posters = make_project(team=project.team, name="Posters")
    money_job(project=project, user=bob, when=at("2026-03-02"), mode="fast", amount="0.045")
    money_job(project=project, user=bob, when=at("2026-03-02", "18:00"), mode="fast")
    money_job(project=posters, user=bob, when=at("2026-03-09"), mode="turbo", amount="0.10")
    money_job(
        project=posters, user=alice, when=at("2026-03-31", "23:59"), mode="relax", amount="0.015"
    )
    money_job(
        project=project,
        user=alice,
        when=at("2026-03-10"),
        mode="turbo",
        amount="0.10",
        settle="release",
    )
    money_job(project=posters, user=bob, when=at("2026-03-20"), mode="fast", settle=None)
    # Another month and another team: never in March's figures for Acme.
    money_job(project=project, user=bob, when=at("2026-02-28"), mode="turbo", amount="0.10")
    return {"posters": posters}


def spend(client: Client, team: Any, month: str = MARCH) -> tuple[Any, str]:
    response = client.get(f"/teams/{team.pk}/spend/?month={month}")
    return response, response.content.decode()


def totals(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-total="(\w+)">([^<]+)<', page))


def test_the_totals_count_only_charges_as_spent(
    alice_client: Client, acme: Any, march: Any
) -> None:
    response, page = spend(alice_client, acme)

    assert response.status_code == 200
    assert totals(page) == {"charged": "$0.205", "held": "$0.045", "released": "$0.10"}
    assert chart_data(page)["charged"] == "0.2050"


def test_charges_are_grouped_by_member(alice_client: Client, acme: Any, march: Any) -> None:
    data = chart_data(spend(alice_client, acme)[1])["by_member"]

    assert data["keys"] == ["bob", "alice"]
    assert [Decimal(a) for a in data["amounts"]] == [Decimal("0.19"), Decimal("0.015")]
    assert data["jobs"] == ["3", "1"]


def test_charges_are_grouped_by_project(
    alice_client: Client, acme: Any, march: Any, project: Any
) -> None:
    data = chart_data(spend(alice_client, acme)[1])["by_project"]

    assert data["labels"] == ["Posters", "Launch"]
    assert [Decimal(a) for a in data["amounts"]] == [Decimal("0.115"), Decimal("0.09")]


def test_charges_are_grouped_by_mode_with_every_mode_shown(
    alice_client: Client, acme: Any, march: Any
) -> None:
    data = chart_data(spend(alice_client, acme)[1])["by_mode"]

    assert data["keys"] == ["relax", "fast", "turbo"]
    assert [Decimal(a) for a in data["amounts"]] == [
        Decimal("0.015"),
        Decimal("0.09"),
        Decimal("0.10"),
    ]


def test_there_is_a_bar_for_every_day_of_the_month(
    alice_client: Client, acme: Any, march: Any
) -> None:
    data = chart_data(spend(alice_client, acme)[1])["by_day"]

    assert len(data["keys"]) == 31
    by_day = dict(zip(data["keys"], (Decimal(a) for a in data["amounts"]), strict=True))
    assert by_day["2026-03-02"] == Decimal("0.09")
    assert by_day["2026-03-09"] == Decimal("0.10")
    assert by_day["2026-03-31"] == Decimal("0.015")
    assert by_day["2026-03-10"] == 0  # a release is not spend
    assert sum(by_day.values()) == Decimal("0.205")


def test_the_figures_are_also_in_tables(alice_client: Client, acme: Any, march: Any) -> None:
    page = spend(alice_client, acme)[1]

    by_member = '<th scope="row" title="bob">bob</th><td class="num">$0.19</td>'
    by_project = '<th scope="row" title="Posters">Posters</th><td class="num">$0.115</td>'
    assert by_member + '<td class="num">3</td>' in page
    assert by_project + '<td class="num">2</td>' in page
    assert "Money charged per day" in page


def test_another_month_is_chosen_with_the_month_parameter(
    alice_client: Client, acme: Any, march: Any
) -> None:
    page = spend(alice_client, acme, "2026-02")[1]

    assert totals(page)["charged"] == "$0.10"
    assert 'href="?month=2026-01"' in page
    assert 'href="?month=2026-03"' in page
    assert "February 2026" in page


def test_this_month_is_the_default_and_has_no_link_to_the_future(
    alice_client: Client, acme: Any, project: Any, bob: Any
) -> None:
    now = timezone.now()
    money_job(project=project, user=bob, when=now, amount="0.045")
    this_month = month_of(now)
    next_month = (this_month.replace(day=28) + timezone.timedelta(days=4)).replace(day=1)

    page = alice_client.get(f"/teams/{acme.pk}/spend/").content.decode()

    assert chart_data(page)["month"] == f"{this_month:%Y-%m}"
    assert totals(page)["charged"] == "$0.045"
    assert f'href="?month={next_month:%Y-%m}"' not in page


def test_a_job_held_in_one_month_and_charged_after_midnight_counts_in_the_first(
    alice_client: Client, acme: Any, project: Any, bob: Any
) -> None:
    money_job(
        project=project,
        user=bob,
        when=at("2026-05-01", "00:01"),
        month=at("2026-04-30").date().replace(day=1),
    )

    april = chart_data(spend(alice_client, acme, "2026-04")[1])
    may = chart_data(spend(alice_client, acme, "2026-05")[1])

    assert april["charged"] == "0.0450"
    assert april["by_day"]["amounts"][-1] == "0.0450"
    assert may["charged"] == "0.0000"


@pytest.mark.parametrize("month", ["2026-13", "March", "1999-01", "2026-3"])
def test_a_month_that_does_not_read_shows_this_month(
    alice_client: Client, acme: Any, month: str
) -> None:
    response, page = spend(alice_client, acme, month)

    assert response.status_code == 200
    assert chart_data(page)["month"] == f"{month_of(timezone.now()):%Y-%m}"


def test_an_empty_month_says_so(alice_client: Client, acme: Any) -> None:
    page = spend(alice_client, acme, "2025-06")[1]

    assert "Nothing was charged in June 2025." in page
    assert 'id="chart-by-day"' not in page


def test_the_page_loads_scripts_only_from_its_own_site_and_no_inline_code(
    alice_client: Client, acme: Any, march: Any
) -> None:
    page = spend(alice_client, acme)[1]

    sources = re.findall(r"<script\b([^>]*)>", page)
    for attributes in sources:
        src = re.search(r'src="([^"]+)"', attributes)
        if src:
            assert src.group(1).startswith("/static/"), src.group(1)
        else:
            assert 'type="application/json"' in attributes or "nonce=" in attributes
    assert '/static/vendor/chart.js/chart.umd.min.js"' in page
    assert '/static/billing/spend.js"' in page
    assert "//cdn" not in page and "https://" not in page
    assert " style=" not in page
    assert re.search(r" on[a-z]+=", page) is None


def test_the_vendored_chart_library_and_its_license_are_there() -> None:
    from django.contrib.staticfiles import finders

    library = finders.find("vendor/chart.js/chart.umd.min.js")
    assert library and "Chart.js v4" in open(library).read(200)
    assert finders.find("vendor/chart.js/LICENSE.md")
    assert finders.find("billing/spend.js")
