"""A property: whatever happens — submits in any mode, completions, failures, cancels,
budgets changed mid-month — the books balance: the usage cache equals what the ledger
says, nothing is negative, every job is settled at most once, and no hold was accepted
past the budgets in force at that moment."""

import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.billing.models import EntryKind, LedgerEntry, Usage
from studio.billing.services import BudgetExceeded, usage_rebuild
from studio.generation.models import Job, Status
from studio.generation.services import job_advance, job_submit
from tests.billing.helpers import set_budget
from tests.factories import make_membership, make_project, make_team, make_user

PRICES = {"relax": Decimal("0.015"), "fast": Decimal("0.045"), "turbo": Decimal("0.10")}
counter = itertools.count()

steps = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.integers(0, 1), st.sampled_from(list(PRICES))),
        st.tuples(st.just("complete"), st.integers(0, 30)),
        st.tuples(st.just("fail"), st.integers(0, 30)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(
            st.just("budget"),
            st.integers(0, 2),  # member 0, member 1, or the whole team
            st.sampled_from(["", "relax", "fast", "turbo"]),
            st.one_of(st.none(), st.integers(0, 40).map(lambda c: Decimal(c) / 100)),
        ),
    ),
    max_size=40,
)


def snapshot(team: Any) -> set[tuple[Any, ...]]:
    return {
        (
            row.user_id,
            row.month,
            *(getattr(row, f"{k}_{m}") for k in ("spent", "held") for m in PRICES),
        )
        for row in Usage.objects.filter(team=team)
        if row.spent() or row.held()
    }


@pytest.mark.django_db
@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_the_books_always_balance(steps: list[tuple[Any, ...]]) -> None:
    n = next(counter)
    team = make_team(name=f"Books {n}", budget=Decimal("0.60"), concurrency_limit=5)
    team.turbo_roles = "admin,member"
    team.save()
    project = make_project(team=team)
    members = [make_user(username=f"b{n}-{i}") for i in range(2)]
    for member in members:
        make_membership(team=team, user=member)
    jobs: list[Job] = []

    for step in steps:
        kind = step[0]
        if kind == "submit":
            user, mode = members[step[1]], step[2]
            try:
                jobs.append(job_submit(project=project, user=user, prompt="x", process_mode=mode))
            except BudgetExceeded:
                continue
            # Accepted: it fitted every budget in force for its mode (a cap on another
            # mode, lowered below what was spent in it, says nothing about this job).
            applying = team.budgets.filter(Q(user=user) | Q(user=None), mode__in=["", mode])
            for budget in applying:
                row = Usage.objects.get(team=team, user=budget.user)
                used = row.used(budget.mode) if budget.mode else row.used()
                assert used <= budget.amount, (budget, used)
        elif kind in ("complete", "fail", "cancel") and jobs:
            job = jobs[step[1] % len(jobs)]
            status = {
                "complete": Status.COMPLETED,
                "fail": Status.FAILED,
                "cancel": Status.CANCELED,
            }[kind]
            job_advance(job, status=status, error="" if kind == "complete" else kind)
        elif kind == "budget":
            user = members[step[1]] if step[1] < len(members) else None
            set_budget(team, None if step[3] is None else str(step[3]), user=user, mode=step[2])

        cached = snapshot(team)
        usage_rebuild(team=team)
        assert snapshot(team) == cached  # the cache is exactly what the ledger says
        assert all(row.held() >= 0 and row.spent() >= 0 for row in Usage.objects.filter(team=team))

    for job in jobs:
        entries = list(LedgerEntry.objects.filter(job=job).values_list("kind", flat=True))
        assert entries.count(EntryKind.HOLD) == 1
        assert entries.count(EntryKind.CHARGE) + entries.count(EntryKind.RELEASE) <= 1
        job.refresh_from_db()
        if job.status == Status.COMPLETED:
            assert EntryKind.CHARGE in entries
        elif job.status in (Status.FAILED, Status.CANCELED):
            assert EntryKind.RELEASE in entries
    held = sum((row.held() for row in Usage.objects.filter(team=team, user=None)), Decimal(0))
    open_holds = sum(
        (
            PRICES[j.process_mode]
            for j in jobs
            if j.status not in (Status.COMPLETED, Status.FAILED, Status.CANCELED)
        ),
        Decimal(0),
    )
    assert held == open_holds
