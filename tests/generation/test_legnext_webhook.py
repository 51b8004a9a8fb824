"""LegNext's callbacks carry no secret: each job's callback URL holds its own token, and
the body may come as {timestamp, data} or as the bare job."""

import json
from typing import Any
from unittest import mock

import pytest
from django.test import Client, override_settings

from studio.generation.models import Job, Status, WebhookDelivery
from studio.generation.services import webhook_url
from studio.providers.legnext import LegNext, task_from_job
from tests.factories import make_job, make_png
from tests.payloads import load

JOB_ID = "8f1d6a62-3c1e-4b7a-9d54-6c2a0f1b9e11"


@pytest.fixture
def job(project: Any, bob: Any) -> Job:
    project.team.provider_keys.update(provider="legnext")
    return make_job(
        project=project,
        user=bob,
        provider="legnext",
        status=Status.SUBMITTED,
        provider_task_id=JOB_ID,
    )


def processing() -> dict[str, Any]:
    body = load("diffusion_pending", "legnext")
    body["status"] = "processing"
    body["output"]["progress"] = 40
    return body


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@override_settings(STUDIO_PUBLIC_URL="https://studio.example")
def test_a_legnext_jobs_callback_url_is_its_own_and_holds_its_token(job: Job) -> None:
    assert webhook_url(job) == (
        f"https://studio.example/webhooks/legnext/{job.pk}/{job.webhook_secret}/"
    )


@pytest.mark.parametrize("enveloped", [True, False])
def test_a_callback_with_the_jobs_token_moves_it_whether_enveloped_or_bare(
    client: Client, job: Job, enveloped: bool
) -> None:
    body = {"timestamp": 1765969761, "data": processing()} if enveloped else processing()

    response = post(client, f"/webhooks/legnext/{job.pk}/{job.webhook_secret}/", body)

    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.status, job.progress) == (Status.PROCESSING, 40)


def test_a_callback_with_a_wrong_or_missing_token_changes_nothing(
    client: Client, job: Job, project: Any, bob: Any
) -> None:
    other = make_job(project=project, user=bob, provider="legnext")

    guessed = post(client, f"/webhooks/legnext/{job.pk}/guess/", processing())
    borrowed = post(client, f"/webhooks/legnext/{job.pk}/{other.webhook_secret}/", processing())
    untokened = post(client, f"/webhooks/legnext/{job.pk}/", processing())
    as_piapi = client.post(
        f"/webhooks/piapi/{job.pk}/",
        data=json.dumps({"timestamp": 1, "data": processing()}),
        content_type="application/json",
        headers={"x-webhook-secret": job.webhook_secret},
    )

    assert [r.status_code for r in (guessed, borrowed, untokened, as_piapi)] == [401] * 4
    job.refresh_from_db()
    assert job.status == Status.SUBMITTED
    assert not WebhookDelivery.objects.exists()


def test_a_callback_that_names_no_job_is_refused(client: Client, job: Job) -> None:
    response = post(
        client, f"/webhooks/legnext/{job.pk}/{job.webhook_secret}/", {"status": "completed"}
    )

    assert response.status_code == 400


def test_an_unconfirmed_job_adopts_the_job_id_its_callback_names(
    client: Client, project: Any, bob: Any
) -> None:
    job = make_job(project=project, user=bob, provider="legnext", status=Status.UNCONFIRMED)

    response = post(client, f"/webhooks/legnext/{job.pk}/{job.webhook_secret}/", processing())

    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.provider_task_id, job.status) == (JOB_ID, Status.PROCESSING)


def test_a_completed_callback_is_confirmed_with_get_before_the_job_completes(
    client: Client, job: Job
) -> None:
    from studio.generation.worker import StudioWorker

    completed = task_from_job(load("diffusion_completed", "legnext"))
    with (
        mock.patch.object(LegNext, "get_task", autospec=True, return_value=completed) as get,
        mock.patch.object(
            LegNext, "download", autospec=True, side_effect=lambda *a, **k: make_png()
        ),
    ):
        response = post(
            client,
            f"/webhooks/legnext/{job.pk}/{job.webhook_secret}/",
            {"timestamp": 1, "data": load("diffusion_completed", "legnext")},
        )
        job.refresh_from_db()
        assert job.status == Status.SUBMITTED  # a hint only, until GET says so
        StudioWorker().run_ready_tasks()

    assert response.status_code == 200
    get.assert_called_once()
    job.refresh_from_db()
    assert job.status == Status.COMPLETED
    assert job.output["seed"] == "1234567890"
    assert sorted(job.images.values_list("index", flat=True)) == [0, 1, 2, 3, 4]
