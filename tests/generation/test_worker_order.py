"""What the worker runs first, and when it looks: news of a job's status comes before
copying its images or previews, whatever the order they were queued in; a task
committed in the worker's process wakes it at once instead of at its next poll; a claim
takes each ready task once, in that order, past one another worker is claiming."""

import threading
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.generation import services, tasks
from studio.generation.task_backend import work_enqueued
from studio.generation.worker import StudioWorker
from tests.factories import make_job


def test_a_status_refresh_queued_after_image_work_runs_first(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob)
    ran: list[str] = []
    tasks.store_preview.enqueue(job.pk, "https://cdn.example/preview.png")
    tasks.store_results.enqueue(job.pk, 1)
    tasks.refresh_job.enqueue(job.pk)

    with (
        mock.patch.object(services, "job_store_preview", lambda **_: ran.append("preview")),
        mock.patch.object(services, "job_store_results", lambda **_: ran.append("results")),
        mock.patch.object(services, "job_refresh", lambda **_: ran.append("refresh")),
    ):
        assert StudioWorker(concurrency=1).run_ready_tasks() == 3

    assert ran == ["refresh", "results", "preview"]


def test_a_retried_store_keeps_its_place_behind_status_work(project: Any, bob: Any) -> None:
    assert tasks.store_results.using(run_after=None).priority < tasks.send_job.priority
    assert tasks.store_results.priority < tasks.dispatch_team.priority


def test_a_committed_task_wakes_idle_workers_and_a_rolled_back_one_does_not(
    project: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = make_job(project=project, user=bob)
    work_enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        tasks.refresh_job.enqueue(job.pk)
        assert not work_enqueued.is_set()  # the worker could not see it yet

    assert work_enqueued.is_set()

    work_enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                tasks.refresh_job.enqueue(job.pk)
                raise RuntimeError("the request failed")
        except RuntimeError:
            pass
    assert not work_enqueued.is_set()


def test_an_idle_worker_thread_looks_again_when_woken_not_only_when_polling() -> None:
    worker = StudioWorker(interval=3600, concurrency=1)  # it would never poll again
    looked = threading.Semaphore(0)
    turns = 0

    def run_ready_tasks() -> int:
        nonlocal turns
        turns += 1
        looked.release()
        if turns == 2:
            worker.stop()
        return 0

    with mock.patch.object(worker, "run_ready_tasks", run_ready_tasks):
        runner = threading.Thread(target=worker._run_tasks)
        runner.start()
        assert looked.acquire(timeout=30)
        work_enqueued.set()
        runner.join(timeout=30)

    assert turns == 2 and not runner.is_alive()


def test_a_claim_takes_the_first_ready_task_and_marks_it_this_workers(
    project: Any, bob: Any
) -> None:
    job = make_job(project=project, user=bob)
    later = tasks.refresh_job.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(job.pk)
    results = tasks.store_results.enqueue(job.pk, 1)
    # Queued again after its worker died (tasks_reclaim): that worker's name stays first.
    DBTaskResult.objects.filter(pk=results.id).update(worker_ids=["dead-worker"])
    refresh = tasks.refresh_job.enqueue(job.pk)
    worker = StudioWorker(concurrency=1)

    claimed = [worker.claim(), worker.claim()]

    # Status work first, then image work; the task due in an hour is left for then.
    assert [str(c.pk) if c else None for c in claimed] == [refresh.id, results.id]
    assert worker.claim() is None
    for task in [*claimed, *DBTaskResult.objects.filter(pk__in=[refresh.id, results.id])]:
        assert task is not None
        assert task.status == TaskResultStatus.RUNNING
        assert task.started_at is not None and task.started_at.tzinfo is not None
        # Whose it is, if it dies (tasks_reclaim reads the last).
        assert task.worker_ids[-1] == worker.worker_id
    assert claimed[1] is not None
    assert claimed[1].worker_ids == ["dead-worker", worker.worker_id]
    assert claimed[1].args_kwargs == {"args": [job.pk, 1], "kwargs": {}}
    assert DBTaskResult.objects.get(pk=later.id).status == TaskResultStatus.READY


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks and concurrent claims are PostgreSQL's; this runs in CI's PostgreSQL pass",
)
@pytest.mark.django_db(transaction=True)  # as a worker claims: its own transaction
def test_claims_at_once_take_each_task_once_in_one_statement_and_skip_a_locked_one(
    alone: None, project: Any, bob: Any
) -> None:
    job = make_job(project=project, user=bob)
    queued = [str(tasks.refresh_job.enqueue(job.pk).id) for _ in range(40)]
    statements: list[str] = []

    def kept(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(kept):
        first = StudioWorker(concurrency=1).claim()
    # One statement finds, locks and marks it (not a SELECT and an UPDATE in a transaction).
    assert len(statements) == 1
    assert first is not None and str(first.pk) == queued[0]

    # Another worker is claiming a task (its row locked, not yet marked): the claims
    # go past it, without waiting for it.
    locking = threading.Event()
    release = threading.Event()
    first_ready = queued[1]

    def hold_a_claim() -> None:
        try:
            with transaction.atomic():
                DBTaskResult.objects.select_for_update().get(pk=first_ready)
                locking.set()
                release.wait(300)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_a_claim)
    holder.start()
    assert locking.wait(30)
    claimed: list[str] = []
    lock = threading.Lock()

    def claim_until_none() -> None:
        worker = StudioWorker(concurrency=1)
        try:
            while (result := worker.claim()) is not None:
                with lock:
                    claimed.append(str(result.pk))
        finally:
            connection.close()

    claimers = [threading.Thread(target=claim_until_none) for _ in range(4)]
    for claimer in claimers:
        claimer.start()
    for claimer in claimers:
        claimer.join(60)
    # Done while the lock is still held: no claim waited for it.
    waited = any(claimer.is_alive() for claimer in claimers)
    release.set()
    holder.join(30)
    for claimer in claimers:
        claimer.join(30)

    assert not waited
    # Every other task, each by one claim.
    assert sorted(claimed) == sorted(queued[2:])
    assert DBTaskResult.objects.get(pk=first_ready).status == TaskResultStatus.READY
