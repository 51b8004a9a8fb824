from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.accounts.models import ProviderKey
from studio.generation.models import Job, Status
from studio.generation.services import job_dispatch, job_submit, jobs_sweep
from studio.providers.piapi import (
    OutcomeUnknown,
    PiAPI,
    ProviderError,
    ProviderTask,
    task_from_data,
)
from tests.billing.helpers import settlements, usage
from tests.factories import make_job, make_project, make_team
from tests.payloads import load


def pending_task() -> ProviderTask:
    return task_from_data(load("task_pending")["data"])


def test_a_dispatched_job_waits_at_the_provider_with_its_task_id(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = "https://studio.example"
    job = make_job(
        project=project, user=bob, prompt="a fox", aspect_ratio="3:2", dispatched_at=timezone.now()
    )
    with mock.patch.object(
        PiAPI, "create_task", autospec=True, return_value=pending_task()
    ) as create:
        job_dispatch(job_id=job.pk)

    request = create.call_args.args[1]
    assert (request.operation, request.prompt, request.aspect_ratio, request.mode) == (
        "imagine",
        "a fox",
        "3:2",
        "fast",
    )
    assert request.webhook_url == f"https://studio.example/webhooks/piapi/{job.pk}/"
    assert request.webhook_secret == job.webhook_secret
    job.refresh_from_db()
    assert job.status == Status.SUBMITTED
    assert job.provider_task_id == pending_task().task_id


def test_without_a_public_url_no_webhook_is_asked_for(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = ""
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())
    with mock.patch.object(
        PiAPI, "create_task", autospec=True, return_value=pending_task()
    ) as create:
        job_dispatch(job_id=job.pk)

    assert create.call_args.args[1].webhook_url == ""


def test_a_job_is_sent_only_once_even_if_dispatched_twice(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())
    with mock.patch.object(
        PiAPI, "create_task", autospec=True, return_value=pending_task()
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
    with mock.patch.object(PiAPI, "create_task", autospec=True, side_effect=refusal):
        job_dispatch(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "rejected the API key" in job.error


def test_a_rate_limited_dispatch_goes_back_in_line_and_is_sent_again_later(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.PROVIDER_BACKOFF_SECONDS = 2
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())
    busy = ProviderError("rate limited", status_code=429, retryable=True)
    with mock.patch.object(PiAPI, "create_task", autospec=True, side_effect=busy):
        job_dispatch(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.sent_at) == (Status.QUEUED, None)
    assert "tries again in 2 s" in job.note
    retry = DBTaskResult.objects.get(task_path__endswith="send_job")
    assert retry.run_after > timezone.now() + timedelta(seconds=1)


def test_the_providers_retry_after_hint_is_honoured(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())
    busy = ProviderError("slow down", status_code=429, retryable=True, retry_after=30)
    with mock.patch.object(PiAPI, "create_task", autospec=True, side_effect=busy):
        job_dispatch(job_id=job.pk)

    retry = DBTaskResult.objects.get(task_path__endswith="send_job")
    assert retry.run_after > timezone.now() + timedelta(seconds=29)


def test_a_refused_job_fails_once_its_deadline_would_pass(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.JOB_DEADLINE_SECONDS = 600
    job = make_job(
        project=project,
        user=bob,
        dispatched_at=timezone.now(),
        created_at=timezone.now() - timedelta(minutes=10),
    )
    busy = ProviderError("The provider is rate-limiting Studio.", status_code=429, retryable=True)
    with mock.patch.object(PiAPI, "create_task", autospec=True, side_effect=busy):
        job_dispatch(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "rate-limiting" in job.error
    assert not DBTaskResult.objects.filter(task_path__endswith="send_job").exists()


def test_an_unclear_answer_leaves_the_job_unconfirmed_and_never_sends_it_again(
    project: Any, bob: Any
) -> None:
    job = job_submit(project=project, user=bob, prompt="a kite")
    Job.objects.filter(pk=job.pk).update(dispatched_at=timezone.now())
    lost = OutcomeUnknown("HTTP 500", status_code=500)
    with mock.patch.object(PiAPI, "create_task", autospec=True, side_effect=lost) as create:
        job_dispatch(job_id=job.pk)
        job_dispatch(job_id=job.pk)
        jobs_sweep()
        job_dispatch(job_id=job.pk)

    assert create.call_count == 1
    job.refresh_from_db()
    assert job.status == Status.UNCONFIRMED
    assert job.get_status_display() == "Sent — waiting for the provider to confirm"
    assert "answer was lost (HTTP 500)" in job.note and "not send this job twice" in job.note
    assert settlements(job) == []  # the hold stays: the provider may charge for it
    assert usage(project.team).held_fast == Decimal("0.045")


def test_a_job_whose_create_is_on_its_way_is_not_sent_again(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, dispatched_at=timezone.now(), sent_at=timezone.now())
    with mock.patch.object(PiAPI, "create_task", autospec=True) as create:
        job_dispatch(job_id=job.pk)

    assert create.call_count == 0


def test_a_key_is_never_failed_over_after_an_unclear_answer(project: Any, bob: Any) -> None:
    second = ProviderKey(team=project.team, label="Second", position=2)
    second.set_key("sandbox-second-key")
    second.save()
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())
    lost = OutcomeUnknown("no answer within 30 s")
    with mock.patch.object(PiAPI, "create_task", autospec=True, side_effect=lost) as create:
        job_dispatch(job_id=job.pk)

    assert create.call_count == 1
    job.refresh_from_db()
    assert job.status == Status.UNCONFIRMED
    assert job.provider_key is not None and job.provider_key.label == "Default"
