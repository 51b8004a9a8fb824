"""The worker: tasks a dead worker left running are run again; a job waiting for a retry
is not sent early by the sweep; old finished tasks and webhook records are deleted."""

from datetime import timedelta
from typing import Any
from unittest import mock

from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.generation import tasks, worker
from studio.generation.models import WebhookDelivery, WorkerBeat
from studio.generation.queue import queues_sweep
from studio.generation.worker import tasks_reclaim
from tests.factories import make_job


def running_task(job_id: int, *, worker_id: str, started_seconds_ago: float) -> DBTaskResult:
    result = tasks.refresh_job.enqueue(job_id)
    DBTaskResult.objects.filter(pk=result.id).update(
        status=TaskResultStatus.RUNNING,
        worker_ids=[worker_id],
        started_at=timezone.now() - timedelta(seconds=started_seconds_ago),
    )
    return DBTaskResult.objects.get(pk=result.id)


def test_a_task_left_running_by_a_dead_worker_is_queued_again(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.WORKER_DEAD_AFTER_SECONDS = 30
    job = make_job(project=project, user=bob)
    WorkerBeat.objects.create(worker_id="gone", beat_at=timezone.now() - timedelta(seconds=60))
    orphan = running_task(job.pk, worker_id="gone", started_seconds_ago=60)

    assert tasks_reclaim() == 1

    orphan.refresh_from_db()
    assert orphan.status == TaskResultStatus.READY
    assert DBTaskResult.objects.ready().filter(pk=orphan.pk).exists()


def test_a_live_workers_long_task_is_left_alone(project: Any, bob: Any, settings: Any) -> None:
    settings.WORKER_DEAD_AFTER_SECONDS = 30
    job = make_job(project=project, user=bob)
    WorkerBeat.objects.create(worker_id="busy", beat_at=timezone.now())
    long_task = running_task(job.pk, worker_id="busy", started_seconds_ago=600)

    assert tasks_reclaim() == 0

    long_task.refresh_from_db()
    assert long_task.status == TaskResultStatus.RUNNING


def test_a_job_waiting_for_its_retry_is_not_sent_early_by_the_sweep(project: Any, bob: Any) -> None:
    long_ago = timezone.now() - timedelta(minutes=5)
    job = make_job(project=project, user=bob, dispatched_at=long_ago)
    tasks.send_job.using(run_after=timezone.now() + timedelta(seconds=60)).enqueue(job.pk)

    queues_sweep()
    queues_sweep()

    assert DBTaskResult.objects.filter(task_path__endswith="send_job").count() == 1


def test_a_job_whose_send_task_was_lost_is_sent_again(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, dispatched_at=timezone.now() - timedelta(minutes=5))

    queues_sweep()

    sends = DBTaskResult.objects.filter(task_path__endswith="send_job")
    assert [send.args_kwargs["args"] for send in sends] == [[job.pk]]


def test_finished_tasks_and_webhook_records_are_deleted_once_old(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.RECORDS_KEPT_DAYS = 14
    job = make_job(project=project, user=bob)
    now = timezone.now()

    def task(status: str, finished_days_ago: float | None) -> Any:
        result = tasks.refresh_job.enqueue(job.pk)
        finished = None if finished_days_ago is None else now - timedelta(days=finished_days_ago)
        DBTaskResult.objects.filter(pk=result.id).update(status=status, finished_at=finished)
        return result.id

    old = [task("SUCCESSFUL", 15), task("FAILED", 15)]
    kept = [task("SUCCESSFUL", 13), task("FAILED", 1), task("READY", None), task("RUNNING", None)]
    for digest, days in (("old", 15), ("recent", 1)):
        delivery = WebhookDelivery.objects.create(job=job, digest=digest)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            received_at=now - timedelta(days=days)
        )

    with mock.patch.object(worker, "PRUNE_BATCH", 1):
        # A turn with no time to spare deletes one batch: what is left, the next turns.
        turns = [worker.records_prune(seconds=0)]
        while turns[-1]:
            turns.append(worker.records_prune(seconds=0))

    assert turns == [True] * len(old) + [False]

    assert {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)} == set(kept)
    assert list(WebhookDelivery.objects.values_list("digest", flat=True)) == ["recent"]
