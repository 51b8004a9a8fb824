from datetime import timedelta
from typing import Any
from unittest import mock

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.generation.models import Job, Status
from studio.generation.services import job_advance, jobs_sweep
from tests.factories import make_job


def test_a_job_past_the_deadline_fails_with_a_reason(project: Any, bob: Any, settings: Any) -> None:
    settings.JOB_DEADLINE_SECONDS = 600
    job = make_job(
        project=project,
        user=bob,
        status=Status.PROCESSING,
        created_at=timezone.now() - timedelta(minutes=11),
    )

    jobs_sweep()

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "did not finish this job within 10 minutes" in job.error
    assert job.finished_at is not None


def test_a_quiet_job_is_polled_once_per_quiet_period(project: Any, bob: Any, settings: Any) -> None:
    settings.JOB_POLL_AFTER_SECONDS = 15
    job = make_job(project=project, user=bob, status=Status.SUBMITTED, provider_task_id="t-1")
    Job.objects.filter(pk=job.pk).update(last_event_at=timezone.now() - timedelta(seconds=20))

    jobs_sweep()
    jobs_sweep()

    polls = DBTaskResult.objects.filter(task_path__endswith="refresh_job")
    assert polls.count() == 1
    assert polls.get().args_kwargs["args"] == [job.pk]


def test_a_job_with_recent_news_is_not_polled(project: Any, bob: Any) -> None:
    make_job(project=project, user=bob, status=Status.PROCESSING, provider_task_id="t-1")

    jobs_sweep()

    assert not DBTaskResult.objects.filter(task_path__endswith="refresh_job").exists()


def test_a_finished_job_never_moves_again(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, status=Status.SUBMITTED)
    assert job_advance(job, status=Status.FAILED, error="boom")

    assert not job_advance(job, status=Status.PROCESSING, progress=50)
    assert not job_advance(job, status=Status.COMPLETED)

    job.refresh_from_db()
    assert (job.status, job.error) == (Status.FAILED, "boom")


def test_only_one_of_two_racing_completions_wins(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, status=Status.PROCESSING)
    other_copy = Job.objects.get(pk=job.pk)

    with mock.patch("studio.generation.live.push_html"):
        wins = [
            job_advance(job, status=Status.COMPLETED),
            job_advance(other_copy, status=Status.COMPLETED),
        ]

    assert wins == [True, False]
    assert DBTaskResult.objects.filter(task_path__endswith="store_results").count() == 1
