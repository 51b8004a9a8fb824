"""Retry on a failed or canceled card: a new job with the same inputs, made the way every
new job is (its price held, the team's queue), its card on top; refused, with the
sentence why, where it makes no sense."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from studio.billing.models import Budget, EntryKind, LedgerEntry
from studio.generation.models import Job, Status
from studio.inputs.models import InputImage
from tests.factories import make_job, make_png

HX = {"HX-Request": "true"}


@pytest.fixture
def bob_client(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


def make_input(project: Any, user: Any, n: int) -> InputImage:
    return InputImage.objects.create(
        project=project,
        uploaded_by=user,
        file=f"inputs/{n}.png",
        thumbnail=f"inputs/thumbnails/{n}.webp",
        width=640,
        height=400,
        format="png",
        size_bytes=len(make_png()),
        sha256=f"{n}" * 64,
    )


def retry(client: Client, job: Job) -> Any:
    return client.post(f"/jobs/{job.pk}/retry/", headers=HX)


def test_a_failed_job_runs_again_with_the_same_inputs_and_its_price_held(
    bob_client: Client, project: Any, bob: Any
) -> None:
    reference = make_input(project, bob, 1)
    failed = make_job(
        project=project,
        user=bob,
        prompt="a fox in snow --ar 16:9 --sref https://example.com/a.png",
        aspect_ratio="16:9",
        process_mode="relax",
        prompt_parameters={"stylize": "250", "style_refs": "https://example.com/a.png"},
        status=Status.FAILED,
        error="Moderated.",
    )
    failed.inputs.set([reference])

    response = retry(bob_client, failed)

    assert response.status_code == 201
    again = Job.objects.exclude(pk=failed.pk).get()
    assert f'id="job-{again.pk}"' in response.content.decode()  # its card, on top
    assert 'hx-swap-oob="afterbegin:#job-list"' in response.content.decode()
    assert (again.status, again.operation, again.provider, again.parent_id) == (
        Status.QUEUED,
        "imagine",
        failed.provider,
        None,
    )
    assert (again.prompt, again.aspect_ratio, again.process_mode) == (
        failed.prompt,
        "16:9",
        "relax",
    )
    assert again.prompt_parameters == failed.prompt_parameters
    assert list(again.inputs.all()) == [reference]
    hold = LedgerEntry.objects.get(job=again, kind=EntryKind.HOLD)
    assert hold.amount == Decimal("0.015")  # relax, PiAPI's default


def test_a_failed_follow_up_runs_the_same_action_on_the_same_parent(
    bob_client: Client, project: Any, bob: Any
) -> None:
    grid = make_job(
        project=project,
        user=bob,
        status=Status.COMPLETED,
        output={"actions": ["upscale1", "upscale2", "variation2", "reroll"]},
    )
    made = bob_client.post(f"/jobs/{grid.pk}/follow-up/", {"action": "upscale2"}, headers=HX)
    assert made.status_code == 201
    upscale = Job.objects.get(parent=grid)
    Job.objects.filter(pk=upscale.pk).update(status=Status.FAILED)
    upscale.refresh_from_db()

    assert retry(bob_client, upscale).status_code == 201

    again = Job.objects.filter(parent=grid).exclude(pk=upscale.pk).get()
    assert (again.operation, again.parameters) == ("upscale", upscale.parameters)
    assert again.parameters["index"] == "2"


def test_a_follow_up_its_parent_no_longer_offers_is_not_retried(
    bob_client: Client, project: Any, bob: Any
) -> None:
    grid = make_job(
        project=project, user=bob, status=Status.COMPLETED, output={"actions": ["upscale1"]}
    )
    failed = make_job(
        project=project,
        user=bob,
        parent=grid,
        operation="upscale",
        parameters={"index": "3", "step": "U3"},
        status=Status.FAILED,
    )

    response = retry(bob_client, failed)

    assert response.status_code == 422
    assert "no longer offers this follow-up" in response.content.decode()
    assert Job.objects.count() == 2


def test_a_canceled_job_may_be_retried_too(bob_client: Client, project: Any, bob: Any) -> None:
    canceled = make_job(project=project, user=bob, status=Status.CANCELED)

    assert retry(bob_client, canceled).status_code == 201
    assert Job.objects.count() == 2


@pytest.mark.parametrize("status", [Status.UNKNOWN, Status.COMPLETED, Status.PROCESSING])
def test_only_a_failed_or_canceled_job_is_retried(
    bob_client: Client, project: Any, bob: Any, status: str
) -> None:
    job = make_job(project=project, user=bob, status=status)

    response = retry(bob_client, job)

    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#notice"
    assert "Only a failed or canceled job can be tried again." in response.content.decode()
    assert Job.objects.count() == 1


def test_over_budget_the_retry_is_refused_with_the_reason(
    bob_client: Client, project: Any, bob: Any, acme: Any
) -> None:
    Budget.objects.filter(team=acme).update(amount=Decimal("0.01"))
    failed = make_job(project=project, user=bob, status=Status.FAILED)

    response = retry(bob_client, failed)

    assert response.status_code == 422
    assert "budget" in response.content.decode().lower()
    assert Job.objects.count() == 1 and not LedgerEntry.objects.filter(kind=EntryKind.HOLD)


def test_a_viewer_may_not_retry(client: Client, project: Any, bob: Any, vera: Any) -> None:
    failed = make_job(project=project, user=bob, status=Status.FAILED)
    client.force_login(vera)

    assert retry(client, failed).status_code == 403
    assert Job.objects.count() == 1


def test_an_outsider_does_not_learn_the_job_exists(
    client: Client, project: Any, bob: Any, charlie: Any
) -> None:
    failed = make_job(project=project, user=bob, status=Status.FAILED)
    client.force_login(charlie)

    assert retry(client, failed).status_code == 404


def test_a_failed_card_says_failed_once_that_nothing_was_charged_and_offers_retry(
    bob_client: Client, project: Any, bob: Any
) -> None:
    failed = make_job(project=project, user=bob, status=Status.FAILED, error="Moderated.")

    html = bob_client.get(f"/jobs/{failed.pk}/", headers=HX).content.decode()

    assert html.count(">Failed<") == 1
    assert "status-pill" not in html
    assert "Not charged: the hold was released." in html
    assert f'hx-post="/jobs/{failed.pk}/retry/"' in html
    assert 'Retry<span class="act-price">$0.045</span>' in html


def test_an_unknown_outcome_offers_no_retry(bob_client: Client, project: Any, bob: Any) -> None:
    unknown = make_job(project=project, user=bob, status=Status.UNKNOWN)

    html = bob_client.get(f"/jobs/{unknown.pk}/", headers=HX).content.decode()

    assert "Outcome unknown" in html and "/retry/" not in html
