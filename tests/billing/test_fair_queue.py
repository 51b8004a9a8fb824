from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django_tasks_db.models import DBTaskResult

from studio.generation import tasks
from studio.generation.live import decorate
from studio.generation.models import Job, Status
from studio.generation.queue import fair_order, team_dispatch
from studio.generation.services import job_advance, job_submit
from tests.factories import make_membership, make_project, make_team, make_user


def test_one_members_batch_does_not_starve_another(db: None) -> None:
    team = make_team(name="Fair", budget=Decimal("100"), concurrency_limit=1)
    project = make_project(team=team)
    ann, ben = make_user(username="ann"), make_user(username="ben")
    make_membership(team=team, user=ann)
    make_membership(team=team, user=ben)
    batch = [job_submit(project=project, user=ann, prompt=f"ann {i}") for i in range(20)]
    team_dispatch(team_id=team.pk)
    bens = job_submit(project=project, user=ben, prompt="ben's only job")

    assert team_dispatch(team_id=team.pk) == []  # the one slot is taken
    job_advance(batch[0], status=Status.COMPLETED)
    started = team_dispatch(team_id=team.pk)

    assert started == [bens.pk]
    assert fair_order(team)[0] == batch[1].pk  # ann's turn again


def test_queued_jobs_show_their_place_in_line(db: None) -> None:
    team = make_team(name="Line", budget=Decimal("100"), concurrency_limit=1)
    project = make_project(team=team)
    ann = make_user(username="ann")
    make_membership(team=team, user=ann)
    jobs = [job_submit(project=project, user=ann, prompt=f"p{i}") for i in range(3)]
    team_dispatch(team_id=team.pk)

    cards = [
        render_to_string("generation/project.html#job-card", {"job": job})
        for job in decorate(list(Job.objects.filter(pk__in=[j.pk for j in jobs]).order_by("pk")))
    ]

    assert "Queued · 1st in line" in cards[1]
    assert "Queued · 2nd in line" in cards[2]
    assert "in line" not in cards[0]  # it holds the slot


def test_the_concurrency_limit_is_never_exceeded(db: None) -> None:
    team = make_team(name="Limit", budget=Decimal("100"), concurrency_limit=3)
    project = make_project(team=team)
    ann = make_user(username="ann")
    make_membership(team=team, user=ann)
    for i in range(7):
        job_submit(project=project, user=ann, prompt=f"p{i}")

    for _ in range(3):
        team_dispatch(team_id=team.pk)

    assert Job.objects.filter(dispatched_at__isnull=False).count() == 3


def waiting_dispatches(team: Any) -> int:
    return (
        DBTaskResult.objects.ready()
        .filter(task_path=tasks.dispatch_team.module_path, args_kwargs__args=[team.pk])
        .count()
    )


def test_a_dispatch_does_the_work_of_the_teams_dispatches_waiting_behind_it(db: None) -> None:
    """A burst of finished jobs enqueues a dispatch each; the first to run fills every
    slot they freed, and the rest have nothing left to do: they end with it."""
    team = make_team(name="Burst", budget=Decimal("100"), concurrency_limit=2)
    other = make_team(name="Elsewhere", budget=Decimal("100"))
    project = make_project(team=team)
    ann = make_user(username="ann")
    make_membership(team=team, user=ann)
    make_membership(team=other, user=ann)
    jobs = [job_submit(project=project, user=ann, prompt=f"p{i}") for i in range(6)]
    job_submit(project=make_project(team=other), user=ann, prompt="elsewhere")
    team_dispatch(team_id=team.pk)
    for job in jobs[:2]:
        job.refresh_from_db()
        job_advance(job, status=Status.FAILED, error="the provider failed it")
    assert waiting_dispatches(team) == 2 and waiting_dispatches(other) == 1

    started = team_dispatch(team_id=team.pk)

    assert started == [jobs[2].pk, jobs[3].pk]  # both freed slots, at once
    assert waiting_dispatches(team) == 0
    assert waiting_dispatches(other) == 1  # another team's is its own
    assert team_dispatch(team_id=team.pk) == []  # nothing was left for them to do
