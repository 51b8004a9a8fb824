from typing import Any
from unittest import mock

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.generation.models import Status
from studio.generation.services import job_dispatch
from studio.piapi.client import PiAPIClient, ProviderError, ProviderTask
from tests.factories import make_job, make_project, make_team
from tests.payloads import load


def pending_task() -> ProviderTask:
    return ProviderTask.from_data(load("task_pending")["data"])


def test_a_dispatched_job_waits_at_the_provider_with_its_task_id(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = "https://studio.example"
    job = make_job(
        project=project, user=bob, prompt="a fox", aspect_ratio="3:2", dispatched_at=timezone.now()
    )
    with mock.patch.object(
        PiAPIClient, "create_task", autospec=True, return_value=pending_task()
    ) as create:
        job_dispatch(job_id=job.pk)

    kwargs = create.call_args.kwargs
    assert kwargs["task_type"] == "imagine"
    assert kwargs["input"] == {"prompt": "a fox", "aspect_ratio": "3:2", "process_mode": "fast"}
    assert kwargs["webhook_url"] == f"https://studio.example/webhooks/piapi/{job.pk}/"
    assert kwargs["webhook_secret"] == job.webhook_secret
    job.refresh_from_db()
    assert job.status == Status.SUBMITTED
    assert job.provider_task_id == pending_task().task_id


def test_without_a_public_url_no_webhook_is_asked_for(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = ""
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())
    with mock.patch.object(
        PiAPIClient, "create_task", autospec=True, return_value=pending_task()
    ) as create:
        job_dispatch(job_id=job.pk)

    assert create.call_args.kwargs["webhook_url"] == ""


def test_a_job_is_sent_only_once_even_if_dispatched_twice(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())
    with mock.patch.object(
        PiAPIClient, "create_task", autospec=True, return_value=pending_task()
    ) as create:
        job_dispatch(job_id=job.pk)
        job_dispatch(job_id=job.pk)

    assert create.call_count == 1


def test_a_team_without_a_key_gets_a_job_failed_with_what_to_do(bob: Any) -> None:
    team = make_team(name="Keyless", api_key="")
    project = make_project(team=team)
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())

    job_dispatch(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "admin must add one" in job.error


def test_a_rejected_key_fails_the_job_with_the_reason(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())
    refusal = ProviderError("The provider rejected the API key (invalid api key).", status_code=401)
    with mock.patch.object(PiAPIClient, "create_task", autospec=True, side_effect=refusal):
        job_dispatch(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "rejected the API key" in job.error


def test_a_rate_limited_dispatch_is_tried_again_later(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())
    busy = ProviderError("rate limited", status_code=429, retryable=True)
    with mock.patch.object(PiAPIClient, "create_task", autospec=True, side_effect=busy):
        job_dispatch(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Status.QUEUED
    retry = DBTaskResult.objects.get(task_path__endswith="send_job")
    assert retry.run_after > timezone.now()


def test_after_the_last_attempt_a_rate_limited_job_fails(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, dispatch_attempts=4, dispatched_at=timezone.now())
    busy = ProviderError("The provider is rate-limiting Studio.", status_code=429, retryable=True)
    with mock.patch.object(PiAPIClient, "create_task", autospec=True, side_effect=busy):
        job_dispatch(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "rate-limiting" in job.error
