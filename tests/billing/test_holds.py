from decimal import Decimal
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from studio.billing.models import EntryKind, LedgerEntry, Price, Usage
from studio.billing.services import BudgetExceeded, usage_rebuild
from studio.generation.models import Job, Status
from studio.generation.services import job_advance, job_submit
from tests.billing.helpers import set_budget, settlements, usage


def submit(project: Any, user: Any, mode: str = "fast", operation_prompt: str = "a fox") -> Job:
    return job_submit(project=project, user=user, prompt=operation_prompt, process_mode=mode)


def test_sending_a_job_holds_its_price_against_member_and_team(
    project: Any, bob: Any, acme: Any
) -> None:
    job = submit(project, bob)

    hold = LedgerEntry.objects.get(job=job)
    assert (hold.kind, hold.amount, hold.mode) == (EntryKind.HOLD, Decimal("0.045"), "fast")
    assert usage(acme, bob).held_fast == Decimal("0.045")
    assert usage(acme).held_fast == Decimal("0.045")


def test_completion_turns_the_hold_into_a_charge_with_the_providers_usage(
    project: Any, bob: Any, acme: Any
) -> None:
    job = submit(project, bob)
    job_advance(job, status=Status.PROCESSING, progress=10)

    job_advance(job, status=Status.COMPLETED, output={"usage": {"consume": 450000}})

    charge = LedgerEntry.objects.get(job=job, kind=EntryKind.CHARGE)
    assert charge.amount == Decimal("0.045")
    assert charge.provider_usage == {"consume": 450000}
    member = usage(acme, bob)
    assert (member.spent_fast, member.held_fast) == (Decimal("0.045"), Decimal("0"))


@pytest.mark.parametrize("end", [Status.FAILED, Status.CANCELED])
def test_failure_or_cancel_releases_the_hold(project: Any, bob: Any, acme: Any, end: str) -> None:
    job = submit(project, bob)

    job_advance(job, status=end, error="moderated")

    assert settlements(job) == ["release"]
    member = usage(acme, bob)
    assert (member.spent(), member.held()) == (Decimal("0"), Decimal("0"))


def test_over_the_member_budget_nothing_is_created_and_the_reason_is_exact(
    project: Any, bob: Any, acme: Any
) -> None:
    set_budget(acme, "5.00", user=bob)
    set_budget(acme, "0.075", user=bob, mode="fast")
    submit(project, bob)

    with pytest.raises(BudgetExceeded) as refused:
        submit(project, bob)

    assert str(refused.value) == (
        "$0.03 left of your $0.075 fast budget this month; this job costs $0.045."
    )
    assert Job.objects.count() == 1
    assert LedgerEntry.objects.count() == 1
    assert DBTaskResult.objects.filter(task_path__endswith="dispatch_team").count() == 1
    assert usage(acme, bob).held_fast == Decimal("0.045")


def test_the_team_budget_caps_everyone_together(
    project: Any, alice: Any, bob: Any, acme: Any
) -> None:
    set_budget(acme, "0.10")
    submit(project, alice)
    submit(project, bob)

    with pytest.raises(BudgetExceeded, match=r"\$0.01 left of the team's \$0.10 budget"):
        submit(project, bob)


def test_a_budget_of_zero_allows_nothing(project: Any, bob: Any, acme: Any) -> None:
    set_budget(acme, "0", user=bob, mode="relax")

    with pytest.raises(BudgetExceeded, match=r"\$0.00 left of your \$0.00 relax budget"):
        submit(project, bob, mode="relax")
    assert submit(project, bob, mode="fast").process_mode == "fast"


def test_a_team_without_a_budget_can_spend_nothing(project: Any, bob: Any, acme: Any) -> None:
    set_budget(acme, None)

    with pytest.raises(BudgetExceeded, match="no monthly budget"):
        submit(project, bob)


def test_turbo_only_for_the_roles_the_team_allows(
    project: Any, alice: Any, bob: Any, acme: Any
) -> None:
    with pytest.raises(BudgetExceeded, match="Turbo is not open to members"):
        submit(project, bob, mode="turbo")
    assert submit(project, alice, mode="turbo").process_mode == "turbo"

    acme.turbo_roles = "admin,member"
    acme.save()
    assert submit(project, bob, mode="turbo").process_mode == "turbo"


def test_a_budget_raised_mid_month_allows_more_at_once(project: Any, bob: Any, acme: Any) -> None:
    set_budget(acme, "0.05", user=bob)
    submit(project, bob)
    with pytest.raises(BudgetExceeded):
        submit(project, bob)

    set_budget(acme, "1.00", user=bob)

    assert submit(project, bob).status == Status.QUEUED


def test_prices_are_data_with_overrides_per_operation(project: Any, bob: Any, acme: Any) -> None:
    Price.objects.create(team=acme, mode="fast", amount=Decimal("0.05"))
    Price.objects.create(team=acme, mode="fast", operation="imagine", amount=Decimal("0.0425"))

    job = submit(project, bob)

    assert LedgerEntry.objects.get(job=job).amount == Decimal("0.0425")


def test_the_usage_cache_can_be_rebuilt_from_the_ledger(
    project: Any, alice: Any, bob: Any, acme: Any
) -> None:
    jobs = [submit(project, user) for user in (alice, bob, bob)]
    job_advance(jobs[0], status=Status.COMPLETED)
    job_advance(jobs[1], status=Status.FAILED, error="x")
    before = {(row.user_id, row.spent(), row.held()) for row in Usage.objects.all()}

    Usage.objects.all().update(spent_fast=Decimal("99"), held_fast=Decimal("99"))
    usage_rebuild(team=acme)

    after = {(row.user_id, row.spent(), row.held()) for row in Usage.objects.all()}
    assert after == before
    assert usage(acme).spent_fast == Decimal("0.045") and usage(acme).held_fast == Decimal("0.045")
