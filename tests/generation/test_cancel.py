"""Who may cancel a job: its member their own, an admin anyone's in the team, a viewer
nobody's. A refusal is a message in the page's notice area with a 403, and nothing
changes: no status, no money, no call to the provider."""

from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from studio.billing.models import EntryKind, LedgerEntry
from studio.generation import live
from studio.generation.models import Job, Status
from studio.generation.services import job_cancel_at_provider, job_submit
from studio.providers.piapi import PiAPI
from tests.factories import make_job


def cancel(client: Client, user: Any, job: Job) -> Any:
    client.force_login(user)
    return client.post(f"/jobs/{job.pk}/cancel/", headers={"HX-Request": "true"})


def cancel_tasks() -> list[Any]:
    return list(DBTaskResult.objects.filter(task_path__endswith="cancel_job"))


@pytest.fixture
def bobs_job(project: Any, bob: Any) -> Job:
    return job_submit(project=project, user=bob, prompt="bob's lighthouse")


@pytest.fixture
def alices_job(project: Any, alice: Any) -> Job:
    return job_submit(project=project, user=alice, prompt="alice's harbour")


@pytest.fixture
def alices_waiting_job(project: Any, alice: Any) -> Job:
    """At the provider, waiting: canceling it means asking the provider."""
    return make_job(
        project=project, user=alice, status=Status.SUBMITTED, provider_task_id="t-alice"
    )


def test_a_member_cancels_their_own_job(client: Client, bob: Any, bobs_job: Job) -> None:
    response = cancel(client, bob, bobs_job)

    assert response.status_code == 202
    bobs_job.refresh_from_db()
    assert bobs_job.status == Status.CANCELED
    assert LedgerEntry.objects.filter(job=bobs_job, kind=EntryKind.RELEASE).count() == 1


def test_a_member_may_not_cancel_a_teammates_job(client: Client, bob: Any, alices_job: Job) -> None:
    ledger_before = LedgerEntry.objects.count()

    response = cancel(client, bob, alices_job)

    assert response.status_code == 403
    assert response["HX-Retarget"] == "#notice"
    assert "Only alice, who started this job, or a team admin can cancel it." in (
        response.content.decode()
    )
    alices_job.refresh_from_db()
    assert alices_job.status == Status.QUEUED
    assert LedgerEntry.objects.count() == ledger_before


def test_a_member_may_not_have_a_teammates_waiting_job_canceled_at_the_provider(
    client: Client, bob: Any, alices_waiting_job: Job
) -> None:
    with mock.patch.object(PiAPI, "cancel_task", autospec=True) as provider_cancel:
        response = cancel(client, bob, alices_waiting_job)

    assert response.status_code == 403
    assert cancel_tasks() == []
    provider_cancel.assert_not_called()
    alices_waiting_job.refresh_from_db()
    assert alices_waiting_job.status == Status.SUBMITTED


def test_an_admin_cancels_a_members_job(client: Client, alice: Any, bobs_job: Job) -> None:
    response = cancel(client, alice, bobs_job)

    assert response.status_code == 202
    bobs_job.refresh_from_db()
    assert bobs_job.status == Status.CANCELED


def test_an_admin_has_a_members_waiting_job_canceled_at_the_provider(
    client: Client, alice: Any, project: Any, bob: Any
) -> None:
    waiting = make_job(project=project, user=bob, status=Status.SUBMITTED, provider_task_id="t-b")

    response = cancel(client, alice, waiting)

    assert response.status_code == 202
    [task] = cancel_tasks()
    assert task.args_kwargs["args"] == [waiting.pk]
    with mock.patch.object(PiAPI, "cancel_task", autospec=True) as provider_cancel:
        job_cancel_at_provider(job_id=waiting.pk)
    provider_cancel.assert_called_once_with(mock.ANY, "t-b")


def test_a_viewer_may_not_cancel_any_job(client: Client, vera: Any, bobs_job: Job) -> None:
    response = cancel(client, vera, bobs_job)

    assert response.status_code == 403
    assert response["HX-Retarget"] == "#notice"
    assert "Viewers can browse a project but not cancel jobs." in response.content.decode()
    bobs_job.refresh_from_db()
    assert bobs_job.status == Status.QUEUED


def test_someone_from_another_team_does_not_learn_the_job_exists(
    client: Client, charlie: Any, bobs_job: Job
) -> None:
    assert cancel(client, charlie, bobs_job).status_code == 404
    bobs_job.refresh_from_db()
    assert bobs_job.status == Status.QUEUED


@pytest.mark.parametrize(("who", "scope"), [("alice", "any"), ("bob", "own"), ("vera", "none")])
def test_the_page_says_whose_jobs_the_person_may_cancel(
    client: Client,
    project: Any,
    alice: Any,
    bob: Any,
    vera: Any,
    bobs_job: Job,
    who: str,
    scope: str,
) -> None:
    user = {"alice": alice, "bob": bob, "vera": vera}[who]
    client.force_login(user)

    project_page = client.get(f"/projects/{project.pk}/").content.decode()
    job_page = client.get(f"/jobs/{bobs_job.pk}/").content.decode()

    for page in (project_page, job_page):
        assert f'data-user="{user.pk}" data-may-cancel="{scope}"' in page
        assert f'class="btn small ghost cancel" data-owner="{bob.pk}"' in page


def test_the_pushed_card_is_the_same_for_everyone(bobs_job: Job, bob: Any) -> None:
    card = live.job_card_upsert_html(Job.objects.get(pk=bobs_job.pk))

    assert f'data-owner="{bob.pk}"' in card
    assert "data-may-cancel" not in card and "data-user" not in card
