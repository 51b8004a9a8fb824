"""The place in line a waiting job's card shows, and who is told when places move: a
submit at the end of the line moves no one, a member's first job takes its turn ahead
of others (they move back), a job leaving the line moves those behind it up."""

from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.generation import live
from studio.generation.models import Job, Status
from studio.generation.queue import queue_positions, team_dispatch
from studio.generation.services import job_advance, job_submit
from tests.factories import make_job, make_membership, make_user


@pytest.fixture
def one_slot_taken(acme: Any, project: Any, alice: Any) -> Job:
    """Acme runs one job at a time, and alice's holds the slot: every new job waits."""
    acme.concurrency_limit = 1
    acme.save(update_fields=["concurrency_limit"])
    now = timezone.now()
    return make_job(
        project=project, user=alice, status=Status.PROCESSING, dispatched_at=now, sent_at=now
    )


@pytest.fixture
def pushed(django_capture_on_commit_callbacks: Any) -> Iterator[Callable[..., str]]:
    """Run `work` to its commit and return what the project's sockets got."""
    with mock.patch.object(live, "push_project_html", autospec=True) as push:

        def run(work: Callable[[], Any]) -> str:
            push.reset_mock()
            with django_capture_on_commit_callbacks(execute=True):
                work()
            return "".join(call.args[1] for call in push.call_args_list)

        yield run


def card(job: Job) -> str:
    """The job's card as a page shows it (every card of the page decorated together)."""
    jobs = list(Job.objects.select_related("project").order_by("pk"))
    shown = {each.pk: each for each in live.decorate(jobs)}
    return render_to_string("generation/project.html#job-card", {"job": shown[job.pk]})


def pill(job_id: int, place: str) -> str:
    return f'id="status-pill-{job_id}" hx-swap-oob="true">Queued · {place} in line</span>'


def test_a_job_at_the_end_of_the_line_shows_its_place_and_moves_no_one(
    one_slot_taken: Job, project: Any, alice: Any, pushed: Callable[..., str]
) -> None:
    waiting = [job_submit(project=project, user=alice, prompt=f"a{i}") for i in range(3)]

    sent = pushed(lambda: waiting.append(job_submit(project=project, user=alice, prompt="a3")))

    assert "Queued · 4th in line" in sent  # its own card
    assert "status-pill-" + str(waiting[0].pk) not in sent  # the others stay where they are
    assert "Queued · 4th in line" in card(waiting[3])


def test_a_members_first_job_goes_ahead_and_the_others_move_back(
    one_slot_taken: Job, project: Any, alice: Any, bob: Any, pushed: Callable[..., str]
) -> None:
    # Alice's last job got a slot; bob's never did, so his turn comes first.
    alices = [job_submit(project=project, user=alice, prompt=f"a{i}") for i in range(3)]
    bobs: list[Job] = []

    sent = pushed(lambda: bobs.append(job_submit(project=project, user=bob, prompt="b0")))

    assert f'id="job-{bobs[0].pk}"' in sent and "Queued · 1st in line" in sent
    assert pill(alices[0].pk, "2nd") in sent
    assert pill(alices[1].pk, "3rd") in sent
    assert pill(alices[2].pk, "4th") in sent
    assert "Queued · 1st in line" in card(bobs[0])
    assert "Queued · 4th in line" in card(alices[2])


def test_a_card_pushed_alone_shows_the_place_the_page_shows(
    one_slot_taken: Job, acme: Any, project: Any, alice: Any, bob: Any
) -> None:
    cat = make_user(username="cat")
    make_membership(team=acme, user=cat)
    for member, count in [(alice, 4), (bob, 2), (cat, 3), (bob, 2), (alice, 1)]:
        for i in range(count):
            job_submit(project=project, user=member, prompt=f"{member.username} {i}")

    for job in Job.objects.filter(status=Status.QUEUED, dispatched_at__isnull=True):
        alone = live.decorate([Job.objects.select_related("project").get(pk=job.pk)])[0]
        assert alone.queue_position == queue_positions(acme.pk)[job.pk]  # type: ignore[attr-defined]


def test_a_job_canceled_while_waiting_moves_the_ones_behind_it_up(
    one_slot_taken: Job, project: Any, alice: Any, pushed: Callable[..., str]
) -> None:
    waiting = [job_submit(project=project, user=alice, prompt=f"a{i}") for i in range(3)]

    sent = pushed(lambda: job_advance(waiting[0], status=Status.CANCELED))

    assert pill(waiting[1].pk, "1st") in sent
    assert pill(waiting[2].pk, "2nd") in sent


def test_a_freed_slot_moves_everyone_waiting_up(
    one_slot_taken: Job, acme: Any, project: Any, alice: Any, pushed: Callable[..., str]
) -> None:
    waiting = [job_submit(project=project, user=alice, prompt=f"a{i}") for i in range(3)]
    job_advance(one_slot_taken, status=Status.COMPLETED)

    sent = pushed(lambda: team_dispatch(team_id=acme.pk))

    assert pill(waiting[1].pk, "1st") in sent
    assert pill(waiting[2].pk, "2nd") in sent
    assert "Queued · 1st in line" in card(waiting[1])


def test_a_dispatch_with_no_slot_free_pushes_no_places(
    one_slot_taken: Job, acme: Any, project: Any, alice: Any, pushed: Callable[..., str]
) -> None:
    for i in range(3):
        job_submit(project=project, user=alice, prompt=f"a{i}")

    assert pushed(lambda: team_dispatch(team_id=acme.pk)) == ""


def test_a_submit_costs_the_same_queries_with_5_or_50_jobs_waiting(
    one_slot_taken: Job,
    project: Any,
    alice: Any,
    client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client.force_login(alice)

    def queries_of_a_submit() -> int:
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = client.post(
                f"/projects/{project.pk}/jobs/",
                {"prompt": "a lighthouse at dusk", "aspect_ratio": "1:1", "mode": "fast"},
                headers={"HX-Request": "true"},
            )
        assert response.status_code == 201
        return len(queries)

    def waiting(count: int) -> None:
        Job.objects.filter(status=Status.QUEUED).update(status=Status.FAILED)
        for i in range(count):
            make_job(project=project, user=alice, prompt=f"waiting {i}", status=Status.QUEUED)

    waiting(5)
    queries_of_a_submit()  # the first one warms caches up
    waiting(5)
    with_5 = queries_of_a_submit()
    waiting(50)
    with_50 = queries_of_a_submit()

    assert with_50 == with_5
