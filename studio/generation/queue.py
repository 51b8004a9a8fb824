"""The team's queue: at most `concurrency_limit` jobs at the provider at once; the rest
wait in Studio and get slots round-robin across members, so one member's batch of 40
does not starve the others. A job without news for JOB_SLOT_TIMEOUT_SECONDS gives its
slot up (see `JobQuerySet.holding_a_slot`), so a stuck job never blocks the queue."""

import datetime
from collections import Counter, deque
from functools import partial

from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.accounts.models import Team
from studio.generation import live, tasks
from studio.generation.models import Job, JobQuerySet, Status

# A dispatched job still unsent after this long lost its send task (a crashed worker).
RESEND_AFTER = datetime.timedelta(minutes=2)


# A member none of whose jobs ever got a slot takes a turn before everyone else.
NEVER = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def fair_order(team: Team) -> list[int]:
    """The ids of the waiting jobs in the order they will get slots: members take turns,
    starting with the member whose last job got a slot longest ago (or never), each
    member's own jobs oldest first."""
    waiting = (
        Job.objects.filter(project__team=team)
        .waiting_for_a_slot()
        .values_list("pk", "created_by", "created_at")
    )
    # Rows, not Job instances: a long queue is read on every dispatch.
    queues: dict[int, deque[int]] = {}
    first_waiting: dict[int, datetime.datetime] = {}
    for job_id, member, created_at in waiting:
        queues.setdefault(member, deque()).append(job_id)
        first_waiting.setdefault(member, created_at)
    if not queues:
        return []
    turns = _members_in_turn_order(team.pk, first_waiting)
    order: list[int] = []
    while turns:
        for member in list(turns):
            order.append(queues[member].popleft())
            if not queues[member]:
                turns.remove(member)
    return order


def _members_in_turn_order(team_id: int, first_waiting: dict[int, datetime.datetime]) -> list[int]:
    """The members with jobs waiting (each with when their oldest waiting job was made),
    in the order of their turns."""
    last_slot = dict(
        Job.objects.filter(
            project__team_id=team_id,
            created_by__in=list(first_waiting),
            dispatched_at__isnull=False,
        )
        .values_list("created_by")
        .annotate(last=Max("dispatched_at"))
    )
    return sorted(
        first_waiting,
        key=lambda member: (last_slot.get(member) or NEVER, first_waiting[member], member),
    )


def queue_positions(team_id: int) -> dict[int, int]:
    """Each waiting job's place in line (1 = next)."""
    team = Team.objects.get(pk=team_id)
    return {job_id: place for place, job_id in enumerate(fair_order(team), start=1)}


def queue_place(job: Job) -> int | None:
    """One waiting job's place in line, as fair_order would give it, counted from how
    many jobs each member has waiting rather than by reading every waiting job: a new
    job's card gets its place at the same cost however long the queue. None once the
    job no longer waits."""
    team_id = job.project.team_id
    waiting = Job.objects.filter(project__team_id=team_id).waiting_for_a_slot()
    # Its turn: the member's jobs take one place a round, oldest first. One query, so
    # that the counts and the turn agree while the line moves.
    up_to_it = Q(created_by=job.created_by_id) & (
        Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, pk__lte=job.pk)
    )
    rows = (
        waiting.order_by()
        .values_list("created_by")
        .annotate(
            count=Count("pk"),
            first=Min("created_at"),
            turn=Count("pk", filter=up_to_it),
            here=Count("pk", filter=Q(pk=job.pk)),
        )
    )
    per_member: dict[int, tuple[int, datetime.datetime]] = {}
    turn = 0
    for member, count, first, up_to, here in rows:
        per_member[member] = (count, first)
        if here:
            turn = up_to
    if not turn:
        return None
    turns = _members_in_turn_order(
        team_id, {member: first for member, (_, first) in per_member.items()}
    )
    # Every member's jobs of the earlier rounds go first, then, in this round, the
    # members before this one who still have a job left.
    earlier_rounds = sum(min(count, turn - 1) for count, _ in per_member.values())
    before_in_this_round = sum(
        1 for member in turns[: turns.index(job.created_by_id)] if per_member[member][0] >= turn
    )
    return earlier_rounds + before_in_this_round + 1


def team_dispatch(*, team_id: int) -> list[int]:
    """Give free slots to the next jobs in fair order and enqueue their sending.
    Returns the ids of the jobs that got a slot."""
    with transaction.atomic():
        # One dispatcher per team at a time: the team row is the lock.
        team = Team.objects.select_for_update().get(pk=team_id)
        _end_waiting_dispatches(team_id)
        holding = Job.objects.filter(project__team=team).holding_a_slot()
        free = team.concurrency_limit - holding.count()
        # With every slot taken (the usual case behind a long line), the line is not read.
        picked = _within_token_limits(fair_order(team), holding, free) if free > 0 else []
        if picked:
            now = timezone.now()
            Job.objects.filter(pk__in=picked, dispatched_at__isnull=True).update(
                dispatched_at=now, last_event_at=now
            )
            for job_id in picked:
                tasks.send_job.enqueue(job_id)
            # Everyone behind them moves up.
            transaction.on_commit(partial(live.push_queue, team_id))
    return picked


def _end_waiting_dispatches(team_id: int) -> None:
    """End the team's other dispatches still waiting in the task queue: this one does
    their work. Each was committed with what made it (a finished job's freed slot, a new
    job), so the count of slots that follows, a later statement under the team's lock,
    sees all of it. A burst of completions enqueues one each: most were found waiting by
    an earlier one and were run for nothing (195 of 212 in bench/live_completed.py).
    A dispatch being claimed meanwhile is left to run; it waits for the lock."""
    now = timezone.now()
    DBTaskResult.objects.ready().filter(
        task_path=tasks.dispatch_team.module_path, args_kwargs__args=[team_id]
    ).update(status=TaskResultStatus.SUCCESSFUL, started_at=now, finished_at=now)


def _within_token_limits(order: list[int], holding: JobQuerySet, free: int) -> list[int]:
    """The next `free` job ids of `order`, passing over a job sent through an API token that
    already has its own limit of jobs at the provider (studio.api: a token's jobs at
    once count inside the team's limit)."""
    capped = Job.objects.filter(api_task__token__max_running__isnull=False)
    limits = dict(capped.filter(pk__in=order).values_list("pk", "api_task__token"))
    if not limits:
        return order[: max(free, 0)]
    caps = dict(
        capped.filter(pk__in=list(limits)).values_list(
            "api_task__token", "api_task__token__max_running"
        )
    )
    running = Counter(
        capped.filter(pk__in=holding.values("pk")).values_list("api_task__token", flat=True)
    )
    picked: list[int] = []
    for job_id in order:
        if len(picked) >= free:
            break
        token = limits.get(job_id)
        if token is not None:
            if running[token] >= (caps[token] or 0):
                continue
            running[token] += 1
        picked.append(job_id)
    return picked


def queues_sweep() -> None:
    """Fill slots that freed without a dispatch (a lost task, a stuck job's timeout), and
    enqueue again the sending of jobs whose send task was lost. Only a job with nothing on
    its way can be sent again (`job_dispatch` claims it first)."""
    teams = (
        Job.objects.filter(dispatched_at__isnull=True, status=Status.QUEUED)
        .values_list("project__team", flat=True)
        .distinct()
    )
    for team_id in teams:
        team_dispatch(team_id=team_id)
    stuck = Job.objects.filter(
        status=Status.QUEUED,
        sent_at__isnull=True,
        dispatched_at__lt=timezone.now() - RESEND_AFTER,
    ).values_list("pk", flat=True)
    if not stuck:
        return
    # A job waiting for a retry already has its send task (due later): leave it be.
    pending = DBTaskResult.objects.filter(
        task_path=tasks.send_job.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    ).values_list("args_kwargs", flat=True)
    waiting = {call["args"][0] for call in pending if call.get("args")}
    for job_id in stuck:
        if job_id not in waiting:
            tasks.send_job.enqueue(job_id)
