from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from studio.accounts.models import Membership
from studio.billing.models import Budget, Usage, month_of
from tests.billing.admin_helpers import hx

NO_CAPS = {"total": "", "relax": "", "fast": "", "turbo": ""}


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


def budgets(team: Any, user: Any = None) -> dict[str, Decimal]:
    return {b.mode: b.amount for b in Budget.objects.filter(team=team, user=user)}


def membership(team: Any, user: Any) -> Membership:
    return Membership.objects.get(team=team, user=user)


def test_the_teams_total_and_mode_caps_are_saved(alice_client: Client, acme: Any) -> None:
    response = hx(
        alice_client,
        f"/teams/{acme.pk}/money/budget/",
        {**NO_CAPS, "total": "250", "fast": "40.50", "turbo": "0"},
    )

    assert response.status_code == 200
    assert "Saved" in response.content.decode()
    assert budgets(acme) == {"": Decimal("250"), "fast": Decimal("40.5"), "turbo": Decimal("0")}


def test_a_blank_team_total_removes_it_and_the_page_says_nothing_can_be_spent(
    alice_client: Client, acme: Any
) -> None:
    assert budgets(acme) == {"": Decimal("100")}

    response = hx(alice_client, f"/teams/{acme.pk}/money/budget/", NO_CAPS)

    assert response.status_code == 200
    assert budgets(acme) == {}
    assert "No budget: nothing can be spent" in response.content.decode()
    page = alice_client.get(f"/teams/{acme.pk}/money/").content.decode()
    assert "No budget: nothing can be spent" in page


def test_a_team_with_a_budget_gets_no_warning(alice_client: Client, acme: Any) -> None:
    page = alice_client.get(f"/teams/{acme.pk}/money/").content.decode()

    assert "No budget: nothing can be spent" not in page
    assert 'name="total" value="100"' in page


def test_a_members_total_and_mode_caps_are_saved(alice_client: Client, acme: Any, bob: Any) -> None:
    response = hx(
        alice_client,
        f"/teams/{acme.pk}/money/members/{membership(acme, bob).pk}/budget/",
        {**NO_CAPS, "total": "20", "fast": "5", "turbo": "0"},
    )

    assert response.status_code == 200
    assert f'id="member-budget-{membership(acme, bob).pk}"' in response.content.decode()
    assert budgets(acme, bob) == {"": Decimal("20"), "fast": Decimal("5"), "turbo": Decimal("0")}
    assert budgets(acme) == {"": Decimal("100")}  # the team's own is untouched


def test_zero_is_kept_as_a_cap_of_nothing_and_blank_removes_a_cap(
    alice_client: Client, acme: Any, bob: Any
) -> None:
    Budget.objects.create(team=acme, user=bob, amount=Decimal("20"))
    Budget.objects.create(team=acme, user=bob, mode="relax", amount=Decimal("3"))

    hx(
        alice_client,
        f"/teams/{acme.pk}/money/members/{membership(acme, bob).pk}/budget/",
        {**NO_CAPS, "total": "0"},
    )

    assert budgets(acme, bob) == {"": Decimal("0")}


def test_a_budget_can_change_in_the_middle_of_the_month(
    alice_client: Client, acme: Any, bob: Any
) -> None:
    Usage.objects.create(
        team=acme, user=bob, month=month_of(timezone.now()), spent_fast=Decimal("12")
    )
    url = f"/teams/{acme.pk}/money/members/{membership(acme, bob).pk}/budget/"

    response = hx(alice_client, url, {**NO_CAPS, "total": "10"})

    assert response.status_code == 200
    assert budgets(acme, bob) == {"": Decimal("10")}
    assert "Over this month’s budget" in response.content.decode()


def test_every_member_is_listed_with_role_and_this_months_spend(
    alice_client: Client, acme: Any, bob: Any, vera: Any
) -> None:
    Usage.objects.create(
        team=acme,
        user=bob,
        month=month_of(timezone.now()),
        spent_fast=Decimal("1.5"),
        held_turbo=Decimal("0.10"),
    )
    Budget.objects.create(team=acme, user=bob, amount=Decimal("20"))

    page = alice_client.get(f"/teams/{acme.pk}/money/").content.decode()

    for person, role in ((bob, "Member"), (vera, "Viewer")):
        row = page.split(f'id="member-budget-{membership(acme, person).pk}"')[1]
        row = row.split("</form>")[0]
        assert person.username in row and role in row
    bob_row = page.split(f'id="member-budget-{membership(acme, bob).pk}"')[1].split("</form>")[0]
    assert "$1.50</strong> spent" in bob_row
    assert "$0.10 held" in bob_row
    assert 'name="total" value="20"' in bob_row


def test_a_viewer_has_no_budget_form_and_cannot_be_given_one(
    alice_client: Client, acme: Any, vera: Any
) -> None:
    page = alice_client.get(f"/teams/{acme.pk}/money/").content.decode()
    vera_row = page.split(f'id="member-budget-{membership(acme, vera).pk}"')[1]
    assert "never spend" in vera_row.split("</form>")[0]

    response = hx(
        alice_client,
        f"/teams/{acme.pk}/money/members/{membership(acme, vera).pk}/budget/",
        {**NO_CAPS, "total": "5"},
    )

    assert response.status_code == 403
    assert budgets(acme, vera) == {}


def test_another_teams_member_cannot_be_targeted(
    alice_client: Client, acme: Any, charlie: Any, globex: Any
) -> None:
    theirs = membership(globex, charlie)

    response = hx(
        alice_client,
        f"/teams/{acme.pk}/money/members/{theirs.pk}/budget/",
        {**NO_CAPS, "total": "1"},
    )

    assert response.status_code == 404
    assert not Budget.objects.filter(user=charlie).exists()
    assert not Budget.objects.filter(team=acme, user__isnull=False).exists()


def test_an_admin_cannot_reach_another_teams_budgets_through_their_own_team_id(
    alice_client: Client, globex: Any
) -> None:
    response = hx(alice_client, f"/teams/{globex.pk}/money/budget/", {**NO_CAPS, "total": "1"})

    assert response.status_code == 404
    assert budgets(globex) == {"": Decimal("100")}


@pytest.mark.parametrize("typed", ["-5", "abc", "NaN", "1.00001", "2000000"])
def test_a_bad_budget_is_refused_and_nothing_is_saved(
    alice_client: Client, acme: Any, bob: Any, typed: str
) -> None:
    response = hx(
        alice_client,
        f"/teams/{acme.pk}/money/members/{membership(acme, bob).pk}/budget/",
        {**NO_CAPS, "total": "50", "fast": typed},
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert "Not saved" in body and 'aria-invalid="true"' in body
    assert budgets(acme, bob) == {}


def test_a_bad_team_budget_leaves_the_old_one(alice_client: Client, acme: Any) -> None:
    response = hx(alice_client, f"/teams/{acme.pk}/money/budget/", {**NO_CAPS, "total": "-1"})

    assert response.status_code == 422
    assert "Enter an amount in dollars" in response.content.decode()
    assert budgets(acme) == {"": Decimal("100")}


def test_thousands_may_be_written_with_commas(alice_client: Client, acme: Any) -> None:
    hx(alice_client, f"/teams/{acme.pk}/money/budget/", {**NO_CAPS, "total": "$1,250.50"})

    assert budgets(acme) == {"": Decimal("1250.5")}
