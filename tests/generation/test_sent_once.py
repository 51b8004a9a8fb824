"""A job whose create went unanswered: it learns its task from the task's own webhook,
gives its queue slot up when stuck, and ends as "outcome unknown" for an admin to settle
— never sent twice, never silently released."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.test import Client
from django.utils import timezone

from studio.accounts.models import AuditEntry
from studio.billing.models import EntryKind, LedgerEntry
from studio.generation.models import Job, Status
from studio.generation.queue import team_dispatch
from studio.generation.services import job_submit
from studio.generation.worker import StudioWorker
from tests.billing.helpers import settlements, usage
from tests.generation.helpers import TASK_ID, post_webhook, webhook_body


def job_in(project: Any, user: Any, status: str, **fields: Any) -> Job:
    """A member's job (price held), sent, in `status`, its task id unknown."""
    job = job_submit(project=project, user=user, prompt="a lantern on the water")
    sent = fields.pop("sent_at", timezone.now())
    Job.objects.filter(pk=job.pk).update(
        status=status, dispatched_at=sent, sent_at=sent, last_event_at=sent, **fields
    )
    job.refresh_from_db()
    return job


def test_an_unconfirmed_job_takes_its_task_from_the_first_webhook_with_its_secret(
    client: Client, project: Any, bob: Any
) -> None:
    job = job_in(project, bob, Status.UNCONFIRMED, note="Sent, but …")

    response = post_webhook(client, job, webhook_body("task_processing"))

    assert response.status_code == 200
    job.refresh_from_db()
    assert job.provider_task_id == TASK_ID
    assert (job.status, job.progress, job.note) == (Status.PROCESSING, 45, "")


def test_a_webhook_with_another_secret_teaches_the_job_nothing(
    client: Client, project: Any, bob: Any
) -> None:
    job = job_in(project, bob, Status.UNCONFIRMED)

    response = post_webhook(client, job, webhook_body("task_processing"), secret="a-guess")

    assert response.status_code == 401
    job.refresh_from_db()
    assert (job.provider_task_id, job.status) == ("", Status.UNCONFIRMED)


def test_a_job_still_being_sent_takes_its_task_from_a_webhook_that_comes_first(
    client: Client, project: Any, bob: Any
) -> None:
    job = job_in(project, bob, Status.QUEUED)  # its create is on its way

    post_webhook(client, job, webhook_body("task_pending"))

    job.refresh_from_db()
    assert (job.provider_task_id, job.status) == (TASK_ID, Status.SUBMITTED)


def test_a_late_result_completes_an_unknown_job_and_charges_it_once(
    client: Client, project: Any, bob: Any, provider: Any
) -> None:
    job = job_in(project, bob, Status.UNKNOWN)

    post_webhook(client, job, webhook_body("task_completed"))
    StudioWorker().run_ready_tasks()
    again = webhook_body("task_completed")
    again["timestamp"] += 60
    post_webhook(client, job, again)
    StudioWorker().run_ready_tasks()

    job.refresh_from_db()
    assert job.status == Status.COMPLETED
    assert job.images.count() == 5
    assert settlements(job) == ["charge"]
    assert usage(project.team).spent_fast == Decimal("0.045")
    assert usage(project.team).held_fast == Decimal("0")


def test_a_job_with_a_task_never_takes_another(client: Client, project: Any, bob: Any) -> None:
    job = job_in(project, bob, Status.SUBMITTED, provider_task_id="the-first-task")

    response = post_webhook(client, job, webhook_body("task_processing"))

    assert response.status_code == 400
    job.refresh_from_db()
    assert job.provider_task_id == "the-first-task"


def test_a_stuck_job_gives_its_slot_up_after_the_slot_timeout(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.JOB_SLOT_TIMEOUT_SECONDS = 300
    project.team.concurrency_limit = 1
    project.team.save()
    quiet = timezone.now() - timedelta(seconds=301)
    stuck = job_in(project, bob, Status.UNCONFIRMED, sent_at=quiet)
    waiting = job_submit(project=project, user=bob, prompt="next in line")

    started = team_dispatch(team_id=project.team_id)

    assert started == [waiting.pk]
    stuck.refresh_from_db()
    assert stuck.status == Status.UNCONFIRMED  # still waiting for its webhook, hold kept
    assert settlements(stuck) == []


def test_a_job_with_recent_news_keeps_its_slot(project: Any, bob: Any) -> None:
    project.team.concurrency_limit = 1
    project.team.save()
    job_in(project, bob, Status.PROCESSING, provider_task_id="t-1")
    job_submit(project=project, user=bob, prompt="next in line")

    assert team_dispatch(team_id=project.team_id) == []


def test_a_job_being_sent_or_unconfirmed_cannot_be_canceled(
    client: Client, project: Any, bob: Any
) -> None:
    sending = job_in(project, bob, Status.QUEUED)
    unconfirmed = job_in(project, bob, Status.UNCONFIRMED)
    client.force_login(bob)

    for job in (sending, unconfirmed):
        response = client.post(f"/jobs/{job.pk}/cancel/", headers={"HX-Request": "true"})
        assert response.status_code == 422
        assert "has not confirmed it yet" in response.content.decode()
        job.refresh_from_db()
        assert job.status != Status.CANCELED
        assert settlements(job) == []


# --- an admin settles an unknown outcome from the Money page ---------------------------


def settle(client: Client, job: Job, decision: str) -> Any:
    return client.post(
        f"/teams/{job.project.team_id}/money/unknown/{job.pk}/settle/",
        {"decision": decision},
        headers={"HX-Request": "true"},
    )


def test_the_money_page_lists_unknown_outcomes_with_what_is_held(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    job = job_in(project, bob, Status.UNKNOWN)
    job_in(project, bob, Status.UNCONFIRMED)  # not past its deadline yet
    client.force_login(alice)

    page = client.get(f"/teams/{project.team_id}/money/unknown/").content.decode()
    settings_page = client.get(f"/teams/{project.team_id}/money/").content.decode()

    assert f"#{job.pk} · Imagine" in page
    assert "Charge $0.045" in page and "Release" in page
    assert page.count('<tr id="unknown-') == 1
    assert 'Unknown outcomes <span class="count-badge">1</span>' in settings_page


def test_an_admin_charges_an_unknown_hold_and_a_late_result_is_not_charged_again(
    client: Client, project: Any, alice: Any, bob: Any, provider: Any
) -> None:
    job = job_in(project, bob, Status.UNKNOWN)
    client.force_login(alice)

    response = settle(client, job, "charge")

    assert response.status_code == 200
    assert f"The hold of job #{job.pk} is charged." in response.content.decode()
    assert settlements(job) == ["charge"]
    assert list(Job.objects.unsettled()) == []
    entry = AuditEntry.objects.get(action="hold.charged")
    assert (entry.actor, entry.target, entry.changes) == (
        alice,
        f"job #{job.pk}",
        {"hold": ["$0.045", "charged"]},
    )
    # The provider's result still arrives: the job completes, charged once.
    post_webhook(client, job, webhook_body("task_completed"))
    StudioWorker().run_ready_tasks()
    job.refresh_from_db()
    assert job.status == Status.COMPLETED
    assert settlements(job) == ["charge"]
    assert usage(project.team).spent_fast == Decimal("0.045")


def test_an_admin_releases_an_unknown_hold_and_the_job_fails(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    job = job_in(project, bob, Status.UNKNOWN)
    client.force_login(alice)

    settle(client, job, "release")

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "an admin released its hold" in job.error
    assert settlements(job) == ["release"]
    assert usage(project.team).held_fast == Decimal("0")
    assert AuditEntry.objects.filter(action="hold.released", target=f"job #{job.pk}").exists()


def test_a_hold_settled_already_is_not_settled_twice(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    job = job_in(project, bob, Status.UNKNOWN)
    client.force_login(alice)

    settle(client, job, "charge")
    second = settle(client, job, "release")

    assert second.status_code == 409
    assert "settled already" in second.content.decode()
    assert settlements(job) == ["charge"]
    assert LedgerEntry.objects.filter(job=job, kind=EntryKind.RELEASE).count() == 0


def test_only_unknown_outcomes_are_settled_by_hand(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    job = job_in(project, bob, Status.PROCESSING, provider_task_id="t-1")
    client.force_login(alice)

    response = settle(client, job, "release")

    assert response.status_code == 409
    assert "processing now" in response.content.decode()
    assert settlements(job) == []


def test_members_and_outsiders_cannot_settle(
    client: Client, project: Any, bob: Any, charlie: Any
) -> None:
    job = job_in(project, bob, Status.UNKNOWN)

    client.force_login(bob)
    assert settle(client, job, "release").status_code == 403
    client.force_login(charlie)
    assert settle(client, job, "release").status_code == 404
    assert settlements(job) == []
