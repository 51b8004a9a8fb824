from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.generation.models import Job, Status
from studio.generation.services import job_advance, job_submit, jobs_sweep
from tests.billing.helpers import settlements, usage
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

    with mock.patch("studio.generation.live.push_project_html"):
        wins = [
            job_advance(job, status=Status.COMPLETED),
            job_advance(other_copy, status=Status.COMPLETED),
        ]

    assert wins == [True, False]
    assert DBTaskResult.objects.filter(task_path__endswith="store_results").count() == 1


def submitted(project: Any, user: Any, **fields: Any) -> Job:
    """A job made the way a member makes one (its price held), then set as given."""
    job = job_submit(project=project, user=user, prompt="a paper boat")
    Job.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


def test_a_send_whose_worker_stopped_becomes_unconfirmed_not_failed(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.PROVIDER_TIMEOUT_SECONDS = 5
    long_ago = timezone.now() - timedelta(seconds=30)
    job = submitted(project, bob, dispatched_at=long_ago, sent_at=long_ago)

    jobs_sweep()

    job.refresh_from_db()
    assert job.status == Status.UNCONFIRMED
    assert "worker sending it stopped" in job.note
    assert settlements(job) == []
    assert not DBTaskResult.objects.filter(task_path__endswith="send_job").exists()


def test_an_unconfirmed_job_past_the_deadline_ends_unknown_with_its_hold_kept(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.JOB_DEADLINE_SECONDS = 600
    sent = timezone.now() - timedelta(minutes=11)
    job = submitted(project, bob, status=Status.UNCONFIRMED, sent_at=sent, created_at=sent)

    jobs_sweep()
    jobs_sweep()

    job.refresh_from_db()
    assert job.status == Status.UNKNOWN
    assert job.get_status_display() == "Outcome unknown"
    assert "until an admin settles it" in job.note
    assert settlements(job) == []
    assert usage(project.team).held_fast == Decimal("0.045")
    assert list(Job.objects.unsettled()) == [job]


def test_a_job_confirmed_late_gets_a_whole_deadline_from_its_confirmation(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.JOB_DEADLINE_SECONDS = 600
    long_ago = timezone.now() - timedelta(minutes=40)
    job = submitted(
        project,
        bob,
        status=Status.PROCESSING,
        created_at=long_ago,
        sent_at=long_ago,
        submitted_at=timezone.now() - timedelta(minutes=1),
        provider_task_id="t-late",
    )

    jobs_sweep()

    job.refresh_from_db()
    assert job.status == Status.PROCESSING


def test_a_queued_job_never_sent_fails_at_the_deadline_saying_nothing_was_charged(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.JOB_DEADLINE_SECONDS = 600
    job = submitted(project, bob, created_at=timezone.now() - timedelta(minutes=11))

    jobs_sweep()

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "could not send this job within 10 minutes" in job.error
    assert settlements(job) == ["release"]
