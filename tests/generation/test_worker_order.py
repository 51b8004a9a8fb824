"""What the worker runs first, and when it looks: news of a job's status comes before
copying its images or previews, whatever the order they were queued in; a task
committed in the worker's process wakes it at once instead of at its next poll."""

import threading
from typing import Any
from unittest import mock

from django.db import transaction

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
