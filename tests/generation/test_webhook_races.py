"""The same webhook delivered several times at once (a provider's retry racing its first
try, two load-balanced web processes): one of them is handled, the others are told they
are duplicates (or stale news, on the way), and the job moves once; a final state is
read once. Real threads, each with its own connection."""

from typing import Any

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from studio.generation.models import Status, WebhookDelivery
from tests.billing.test_races import race
from tests.factories import make_job
from tests.generation.helpers import TASK_ID, post_webhook, webhook_body

pytestmark = pytest.mark.django_db(transaction=True)


def delivered_at_once(job: Any, body: dict[str, Any], *, times: int) -> list[str]:
    """The webhook `body` posted `times` at once, each from its own thread: the answers."""

    def deliver() -> str:
        response = post_webhook(Client(), job, body)
        assert response.status_code == 200
        return str(response.json()["status"])

    return race([deliver] * times)


@pytest.mark.parametrize(
    "before",
    [
        (Status.SUBMITTED, 0),  # its first move: read, then moved
        (Status.PROCESSING, 30),  # its next percent: the one statement (progress_step)
    ],
)
def test_the_same_delivery_at_once_from_eight_threads_is_handled_once(
    project: Any, bob: Any, before: tuple[str, int]
) -> None:
    status, progress = before
    job = make_job(
        project=project, user=bob, status=status, progress=progress, provider_task_id=TASK_ID
    )
    body = webhook_body("task_processing")

    answers = delivered_at_once(job, body, times=8)

    assert sorted(answers) == ["ok"] + ["stale"] * 7
    job.refresh_from_db()
    assert (job.status, job.progress) == (Status.PROCESSING, 45)


def test_the_same_final_delivery_at_once_from_eight_threads_reads_the_task_once(
    project: Any, bob: Any
) -> None:
    job = make_job(project=project, user=bob, status=Status.PROCESSING, provider_task_id=TASK_ID)
    body = webhook_body("task_completed")

    answers = delivered_at_once(job, body, times=8)

    assert sorted(answers) == ["duplicate"] * 7 + ["ok"]
    assert WebhookDelivery.objects.filter(job=job).count() == 1
    assert DBTaskResult.objects.filter(task_path__endswith="refresh_job").count() == 1
