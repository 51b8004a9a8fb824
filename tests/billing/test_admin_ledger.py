import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from studio.billing.models import LedgerEntry
from tests.billing.admin_helpers import at, hx, money_job
from tests.factories import make_project


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


def rows(page: str) -> list[str]:
    return re.findall(r'<tr class="kind-\w+">.*?</tr>', page, re.S)


def ledger(client: Client, team: Any, query: str = "") -> str:
    response = client.get(f"/teams/{team.pk}/ledger/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_the_ledger_lists_every_movement_newest_first(
    alice_client: Client, acme: Any, project: Any, bob: Any
) -> None:
    older = money_job(project=project, user=bob, when=at("2026-03-01"), points=450000)
    newer = money_job(
        project=project,
        user=bob,
        when=at("2026-03-05"),
        mode="turbo",
        amount="0.10",
        settle="release",
        reason="Moderated by the provider.",
    )

    found = rows(ledger(alice_client, acme))

    assert len(found) == 4
    assert f'href="/jobs/{newer.pk}/"' in found[0] and "Release" in found[0]
    assert "Moderated by the provider." in found[0] and "$0.10" in found[0]
    assert f'href="/jobs/{older.pk}/"' in found[2] and "Charge" in found[2]
    assert "450,000" in found[2] and "Launch" in found[2] and "bob" in found[2]
    assert "Fast" in found[2] and "Imagine" in found[2] and "$0.045" in found[2]


@pytest.fixture
def mixed(project: Any, alice: Any, bob: Any) -> dict[str, Any]:
    posters = make_project(team=project.team, name="Posters")
    return {
        "bob_fast": money_job(project=project, user=bob, when=at("2026-03-01"), mode="fast"),
        "alice_turbo": money_job(
            project=posters, user=alice, when=at("2026-03-10"), mode="turbo", amount="0.10"
        ),
        "bob_released": money_job(
            project=posters, user=bob, when=at("2026-03-20"), mode="relax", settle="release"
        ),
        "posters": posters,
    }


def job_ids(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/jobs/(\d+)/"', page)}


def test_the_ledger_filters_by_member(
    alice_client: Client, acme: Any, mixed: Any, bob: Any
) -> None:
    page = ledger(alice_client, acme, f"?member={bob.pk}")

    assert job_ids(page) == {mixed["bob_fast"].pk, mixed["bob_released"].pk}


def test_the_ledger_filters_by_project(alice_client: Client, acme: Any, mixed: Any) -> None:
    page = ledger(alice_client, acme, f"?project={mixed['posters'].pk}")

    assert job_ids(page) == {mixed["alice_turbo"].pk, mixed["bob_released"].pk}


def test_the_ledger_filters_by_mode_and_kind(alice_client: Client, acme: Any, mixed: Any) -> None:
    assert job_ids(ledger(alice_client, acme, "?mode=turbo")) == {mixed["alice_turbo"].pk}
    page = ledger(alice_client, acme, "?kind=release")
    assert job_ids(page) == {mixed["bob_released"].pk}
    assert len(rows(page)) == 1


def test_the_ledger_filters_by_dates_with_both_ends_included(
    alice_client: Client, acme: Any, mixed: Any
) -> None:
    page = ledger(alice_client, acme, "?date_from=2026-03-10&date_to=2026-03-20")

    assert job_ids(page) == {mixed["alice_turbo"].pk, mixed["bob_released"].pk}


def test_a_filter_that_does_not_read_is_shown_and_the_others_still_apply(
    alice_client: Client, acme: Any, mixed: Any
) -> None:
    page = ledger(alice_client, acme, "?date_from=yesterday&mode=turbo")

    assert "Enter a date like 2026-01-31." in page
    assert job_ids(page) == {mixed["alice_turbo"].pk}


def test_another_teams_member_or_project_filters_nothing_in(
    alice_client: Client, acme: Any, mixed: Any, charlie: Any
) -> None:
    page = ledger(alice_client, acme, f"?member={charlie.pk}")

    assert "Select a valid choice" in page
    assert len(rows(page)) == 6  # the filter is ignored, not turned into someone else's


def test_the_ledger_shows_50_rows_a_page_and_loads_more(
    alice_client: Client, acme: Any, project: Any, bob: Any
) -> None:
    for day in range(1, 31):
        money_job(project=project, user=bob, when=at(f"2026-03-{day:02}"))
    money_job(project=project, user=bob, when=at("2026-04-01"), settle=None)

    first = ledger(alice_client, acme, f"?member={bob.pk}")
    more = hx_get(alice_client, f"/teams/{acme.pk}/ledger/?member={bob.pk}&page=2")

    assert len(rows(first)) == 50
    assert f'hx-get="?member={bob.pk}&amp;page=2"' in first
    assert "61 entries" in first
    assert "<html" not in more and len(rows(more)) == 11
    assert "Load more" not in more
    shown = job_ids(first) | job_ids(more)
    assert len(shown) == 31


def hx_get(client: Client, url: str) -> str:
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def test_the_ledger_takes_as_many_queries_for_50_rows_as_for_2(
    alice_client: Client, acme: Any, project: Any, bob: Any, alice: Any
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            ledger(alice_client, acme)
        return len(queries)

    money_job(project=project, user=bob, when=at("2026-03-01"))
    few = count()
    posters = make_project(team=acme, name="Posters")
    for day in range(1, 29):
        who = alice if day % 2 else bob
        money_job(project=posters if day % 3 else project, user=who, when=at(f"2026-02-{day:02}"))

    assert LedgerEntry.objects.count() > 50
    assert count() == few


def test_an_empty_ledger_says_so(alice_client: Client, acme: Any) -> None:
    assert "No ledger entries yet" in ledger(alice_client, acme)


def test_the_export_link_keeps_the_filters(alice_client: Client, acme: Any, mixed: Any) -> None:
    page = ledger(alice_client, acme, "?mode=turbo&kind=charge")

    assert f'href="/teams/{acme.pk}/ledger.csv?mode=turbo&amp;kind=charge"' in page


def test_the_money_pages_link_to_each_other(alice_client: Client, acme: Any) -> None:
    page = ledger(alice_client, acme)

    assert f'href="/teams/{acme.pk}/money/"' in page
    assert f'href="/teams/{acme.pk}/spend/"' in page
    assert f'<a href="/teams/{acme.pk}/ledger/" aria-current="page">' in page


def test_htmx_posts_are_not_needed_to_read_the_ledger(alice_client: Client, acme: Any) -> None:
    # The ledger only reads: a POST is refused rather than mistaken for a filter.
    assert hx(alice_client, f"/teams/{acme.pk}/ledger/").status_code == 405
