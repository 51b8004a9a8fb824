"""Money under real concurrency: threads with their own database connections, released
together by a barrier (PostgreSQL in CI; Django's TestCase would hide these races)."""

import threading
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.billing.models import EntryKind, LedgerEntry, Usage
from studio.billing.services import BudgetExceeded
from studio.generation.models import Job, Status
from studio.generation.services import (
    job_advance,
    job_apply_provider_task,
    job_refresh,
    job_submit,
    jobs_sweep,
)
from studio.generation.worker import StudioWorker
from studio.providers.piapi import PiAPI, task_from_data
from tests.billing.helpers import set_budget, settlements, usage
from tests.factories import make_membership, make_project, make_team, make_user
from tests.payloads import load

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_other_worker(alone: None) -> None:
    """These tests count what their own worker sends: the shared server's must not take
    their tasks."""


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads that start together; each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as problem:
            results[index] = problem
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def provider_calls_when_dispatched() -> int:
    """Run the worker until the queue is empty, counting create-task calls."""
    pending = task_from_data(load("task_pending")["data"])
    with mock.patch.object(PiAPI, "create_task", autospec=True, return_value=pending) as create:
        worker = StudioWorker()
        while worker.run_ready_tasks():
            pass
    return create.call_count


def test_fifty_concurrent_submissions_stop_exactly_at_the_budget() -> None:
    team = make_team(name="Racers", budget=Decimal("100"), concurrency_limit=50)
    project = make_project(team=team)
    dana = make_user(username="dana")
    make_membership(team=team, user=dana)
    set_budget(team, "0.45", user=dana)  # exactly 10 fast jobs at $0.045

    results = race(
        [lambda i=i: job_submit(project=project, user=dana, prompt=f"fox {i}") for i in range(50)]
    )

    made = [r for r in results if isinstance(r, Job)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert (len(made), len(refused)) == (10, 40), [
        r for r in results if not isinstance(r, (Job, BudgetExceeded))
    ]
    assert Job.objects.count() == 10
    assert LedgerEntry.objects.filter(kind=EntryKind.HOLD).count() == 10
    assert usage(team, dana).held_fast == Decimal("0.45")
    assert all(row.held() >= 0 and row.spent() >= 0 for row in Usage.objects.all())
    assert provider_calls_when_dispatched() == 10


def test_two_members_sharing_a_team_cap_never_pass_it_together() -> None:
    team = make_team(name="Sharers", budget=Decimal("0.45"), concurrency_limit=50)
    project = make_project(team=team)
    erin, finn = make_user(username="erin"), make_user(username="finn")
    make_membership(team=team, user=erin)
    make_membership(team=team, user=finn)

    results = race(
        [
            lambda i=i, who=who: job_submit(project=project, user=who, prompt=f"p{i}")
            for i in range(25)
            for who in (erin, finn)
        ]
    )

    assert sum(isinstance(r, Job) for r in results) == 10
    assert usage(team).held_fast == Decimal("0.45")
    assert usage(team, erin).held_fast + usage(team, finn).held_fast == Decimal("0.45")
    assert provider_calls_when_dispatched() == 10


def running_job() -> Job:
    team = make_team(name=f"T{timezone.now().timestamp()}", concurrency_limit=5)
    project = make_project(team=team)
    user = make_user(username=f"u{timezone.now().timestamp()}")
    make_membership(team=team, user=user)
    job = job_submit(project=project, user=user, prompt="a lighthouse")
    Job.objects.filter(pk=job.pk).update(
        status=Status.PROCESSING, provider_task_id="t-1", dispatched_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def test_webhook_and_poller_racing_on_a_completed_job_charge_once(settings: Any) -> None:
    job = running_job()
    completed = task_from_data(load("task_completed")["data"])
    settings.JOB_POLL_AFTER_SECONDS = 0

    with mock.patch.object(PiAPI, "get_task", autospec=True, return_value=completed):
        race(
            [
                lambda: job_apply_provider_task(Job.objects.get(pk=job.pk), completed),
                lambda: job_apply_provider_task(Job.objects.get(pk=job.pk), completed),
                lambda: job_refresh(job_id=job.pk),
                lambda: job_refresh(job_id=job.pk),
                jobs_sweep,
            ]
        )

    job.refresh_from_db()
    assert job.status == Status.COMPLETED
    assert settlements(job) == ["charge"]
    member = usage(job.project.team, job.created_by)
    assert (member.spent_fast, member.held_fast) == (Decimal("0.045"), Decimal("0"))


def test_webhook_poller_and_deadline_racing_settle_once_whoever_wins(settings: Any) -> None:
    job = running_job()
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timezone.timedelta(hours=2))
    completed = task_from_data(load("task_completed")["data"])

    with mock.patch.object(PiAPI, "get_task", autospec=True, return_value=completed):
        race(
            [
                lambda: job_apply_provider_task(Job.objects.get(pk=job.pk), completed),
                lambda: job_refresh(job_id=job.pk),
                jobs_sweep,
                jobs_sweep,
            ]
        )

    job.refresh_from_db()
    assert len(settlements(job)) == 1
    assert settlements(job) == (["charge"] if job.status == Status.COMPLETED else ["release"])
    assert usage(job.project.team).held_fast == Decimal("0")


def test_a_failed_job_raced_by_webhook_poller_and_deadline_is_released_once(
    settings: Any,
) -> None:
    job = running_job()
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timezone.timedelta(hours=2))
    failed = task_from_data(load("task_failed")["data"])

    with mock.patch.object(PiAPI, "get_task", autospec=True, return_value=failed):
        race(
            [
                lambda: job_apply_provider_task(Job.objects.get(pk=job.pk), failed),
                lambda: job_apply_provider_task(Job.objects.get(pk=job.pk), failed),
                lambda: job_refresh(job_id=job.pk),
                jobs_sweep,
            ]
        )

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert settlements(job) == ["release"]
    member = usage(job.project.team, job.created_by)
    assert (member.spent(), member.held()) == (Decimal("0"), Decimal("0"))


def test_dispatchers_racing_never_start_more_jobs_than_the_limit() -> None:
    team = make_team(name="Dispatchers", budget=Decimal("100"), concurrency_limit=3)
    project = make_project(team=team)
    gus = make_user(username="gus")
    make_membership(team=team, user=gus)
    for i in range(12):
        job_submit(project=project, user=gus, prompt=f"p{i}")

    from studio.generation.queue import team_dispatch

    race([lambda: team_dispatch(team_id=team.pk) for _ in range(8)])

    assert Job.objects.filter(dispatched_at__isnull=False).count() == 3


def test_jobs_freeing_slots_while_dispatches_run_leave_no_slot_free_behind() -> None:
    """Jobs finishing in some threads while workers run the team's dispatches in others
    (each dispatch ends those waiting behind it, queue.py): once the queue is empty,
    every freed slot went to the next job in line, and never more than the limit ran."""
    team = make_team(name="Burst", budget=Decimal("100"), concurrency_limit=3)
    project = make_project(team=team)
    gus = make_user(username="gus")
    make_membership(team=team, user=gus)
    for i in range(12):
        job_submit(project=project, user=gus, prompt=f"p{i}")
    assert provider_calls_when_dispatched() == 3
    holding = list(Job.objects.filter(dispatched_at__isnull=False))

    def fail(job: Job) -> None:
        job_advance(job, status=Status.FAILED, error="the provider failed it")

    def run_dispatches() -> None:
        worker = StudioWorker()
        for _ in range(20):
            worker.run_ready_tasks()

    pending = task_from_data(load("task_pending")["data"])
    with mock.patch.object(PiAPI, "create_task", autospec=True, return_value=pending):
        race([*(partial(fail, job) for job in holding), *([run_dispatches] * 4)])
    provider_calls_when_dispatched()

    dispatched = Job.objects.filter(dispatched_at__isnull=False)
    assert dispatched.count() == 6  # the three freed slots, each filled once
    assert dispatched.filter(status=Status.SUBMITTED).count() == 3
    assert not DBTaskResult.objects.ready().exists()
