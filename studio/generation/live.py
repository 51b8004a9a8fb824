"""Live updates of jobs: the same template partials the pages use, pushed to the
project's group whenever a job changes. A fragment whose target is not on a page
(a tree row on the project page, say) is ignored there by htmx."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from statistics import median

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.module_loading import import_string

from studio.accounts.models import User
from studio.billing import live as billing_live
from studio.billing.services import PriceTable, price_table
from studio.generation.feed import FeedFilters, feed_jobs, state_of
from studio.generation.models import Job, JobQuerySet, Operation
from studio.generation.search import Cursor
from studio.generation.tree import family_of
from studio.projects.models import Project
from studio.providers import Provider
from studio.realtime.groups import push_project_html


def queue_positions(team_id: int) -> dict[int, int]:
    from studio.generation.queue import queue_positions as positions

    return positions(team_id)


def queue_place(job: Job) -> int | None:
    from studio.generation.queue import queue_place as place

    return place(job)


def team_providers(project: Project) -> list[type[Provider]]:
    from studio.generation.services import providers_of

    return providers_of(project.team)


PAGE = "generation/project.html"
JOB_PAGE = "generation/job.html"
RECENT_JOBS = 60  # a page of the feed
EVERY_JOB = FeedFilters()
# How many of a team's latest completed jobs "usually ~40 s" is the median of, and how
# many of one operation and mode it needs before it says anything.
TYPICAL_SAMPLE = 200
TYPICAL_MINIMUM = 3


# The operations whose card shows the job's input images (the described image, the
# blended ones).
SHOWS_INPUTS = (Operation.DESCRIBE, Operation.BLEND)


def _with_display_relations(jobs: JobQuerySet, *, inputs: bool = True) -> JobQuerySet:
    # A job sent through Studio's API shows its token's name (studio.api).
    jobs = jobs.select_related("created_by", "project__team", "api_task__token")
    return jobs.prefetch_related("images", *(["inputs"] if inputs else []))


def job_for_card(job_id: int) -> Job | None:
    """One job with what its card shows, for a push: its input images only where the
    card shows them (a query fewer for most)."""
    try:
        # get(), not first(): no ORDER BY to compile for a job named by its key.
        job = _with_display_relations(Job.objects.all(), inputs=False).get(pk=job_id)
    except Job.DoesNotExist:
        return None
    if job.operation in SHOWS_INPUTS:
        prefetch_related_objects([job], "inputs")
    return job


def decorate(jobs: list[Job]) -> list[Job]:
    """Give cards what they show beside the job itself: place in the team's queue, what
    each follow-up costs and the team's providers (what can be made from an image, and
    where: see image_offers), one query per team, not per card."""
    teams = {job.project.team_id for job in jobs}
    positions: dict[int, int] = {}
    prices: dict[int, PriceTable] = {}
    providers: dict[int, list[type[Provider]]] = {}
    typical: dict[int, dict[tuple[str, str], int]] = {}
    for team_id in teams:
        mine = [job for job in jobs if job.project.team_id == team_id]
        waiting = [job for job in mine if job.status == "queued" and job.dispatched_at is None]
        if len(waiting) == 1:
            # One card (a push): its own place costs the same however long the line.
            place = queue_place(waiting[0])
            if place is not None:
                positions[waiting[0].pk] = place
        elif waiting:
            positions.update(queue_positions(team_id))
        if any(job.is_active for job in mine):
            typical[team_id] = typical_seconds(team_id)
        prices[team_id] = price_table(team_id)
        if any(job.status == "completed" and job.makes_images for job in mine):
            providers[team_id] = team_providers(mine[0].project)
    for job in jobs:
        job.queue_position = positions.get(job.pk)  # type: ignore[attr-defined]
        job.price_table = prices[job.project.team_id]  # type: ignore[attr-defined]
        if job.project.team_id in providers:
            job.team_providers = providers[job.project.team_id]  # type: ignore[attr-defined]
        usual = typical.get(job.project.team_id, {})
        job.typical_seconds = usual.get((job.operation, job.process_mode))  # type: ignore[attr-defined]
    return jobs


@dataclass
class FeedPage:
    jobs: list[Job]
    next_cursor: Cursor | None


def feed_page(
    project_id: int,
    *,
    filters: FeedFilters = EVERY_JOB,
    after: Cursor | None = None,
    size: int = RECENT_JOBS,
) -> FeedPage:
    """One page of the project's feed, ready for its cards, and where the next one starts
    (None at the end). The same few queries whatever the page's size or place."""
    jobs = _with_display_relations(feed_jobs(project_id=project_id, filters=filters, after=after))
    rows = list(jobs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return FeedPage(decorate(rows), Cursor.after(rows[-1]) if more and rows else None)


def typical_seconds(team_id: int) -> dict[tuple[str, str], int]:
    """How long the team's jobs usually take from the click to the result, by operation
    and mode: the median of its latest completed ones (one query)."""
    finished = (
        Job.objects.filter(project__team_id=team_id, status="completed", finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("operation", "process_mode", "created_at", "finished_at")[:TYPICAL_SAMPLE]
    )
    durations: dict[tuple[str, str], list[float]] = {}
    for operation, mode, created_at, finished_at in finished:
        seconds = (finished_at - created_at).total_seconds() if finished_at else 0
        if seconds > 0:
            durations.setdefault((operation, mode), []).append(seconds)
    return {
        key: round(median(each)) for key, each in durations.items() if len(each) >= TYPICAL_MINIMUM
    }


def jobs_for_display(project_id: int) -> list[Job]:
    return feed_page(project_id).jobs


def feed_entry_html(job: Job) -> str:
    """The job's card as the feed takes it in: it replaces a copy already shown (in place,
    by the page's script), or else lands where its date puts it, if the page's filters let
    it (the wrapper's data-* say what they need: the card is the same for everyone)."""
    card = render_to_string(f"{PAGE}#job-card", {"job": job})
    return format_html(
        '<div id="job-{}" hx-swap-oob="delete"></div>'
        '<div hx-swap-oob="afterbegin:#job-list" data-feed-entry="job-{}" data-owner="{}"'
        ' data-operation="{}" data-mode="{}" data-state="{}" data-prompt="{}">{}</div>',
        job.pk,
        job.pk,
        job.created_by_id,
        job.operation,
        job.process_mode,
        state_of(job.status),
        job.prompt,
        card,
    )


def job_card_upsert_html(job: Job) -> str:
    """A new job: its card lands at the top of the list and its node under its parent
    in a family tree, replacing any copy already shown.

    Both the submitter's HTMX answer and the push to the group use it, so whichever
    arrives first, the card shows once."""
    html = feed_entry_html(job)
    if job.parent_id:
        row = render_to_string(f"{JOB_PAGE}#tree-row", {"job": job})
        html += (
            f'<div id="tree-node-{job.pk}" hx-swap-oob="delete"></div>'
            f'<div hx-swap-oob="beforeend:#tree-children-{job.parent_id}">'
            f'<li class="tree-node" id="tree-node-{job.pk}">{row}'
            f'<ul class="tree-children" id="tree-children-{job.pk}"></ul></li></div>'
        )
    return html


# Studio's own API (studio/api) POSTs each change of a task to the caller's webhook
# endpoint. push_job is where every change of a job passes once it is committed (each
# move of job_advance, progress included, the results stored, a send refused for now, a
# cancel the provider refused), so the hook is here, once, rather than at each of those
# places. Imports flow api → generation, so the api's task is named by its path (as
# django.tasks stores it anyway), and enqueued only for a job whose API task has a webhook
# endpoint: read from the job where it was loaded with its API task (a push's card, a
# webhook's job), else one indexed query on the reverse relation the api app declares.
API_JOB_CHANGED_TASK = "studio.api.tasks.job_changed"


def tell_api_caller(job_id: int) -> None:
    if Job.objects.filter(pk=job_id, api_task__webhook_endpoint__gt="").exists():
        import_string(API_JOB_CHANGED_TASK).enqueue(job_id)


def tell_api_caller_on_commit(job: Job) -> None:
    """Once the change is committed, tell the caller of `job`'s API task, if it asked."""
    if not Job.api_task.is_cached(job):  # type: ignore[attr-defined]
        transaction.on_commit(partial(tell_api_caller, job.pk))
        return
    api_task = getattr(job, "api_task", None)  # None: not made through the API
    if api_task is not None and api_task.webhook_endpoint:
        transaction.on_commit(partial(import_string(API_JOB_CHANGED_TASK).enqueue, job.pk))


def push_job(
    job_id: int, *, created: bool = False, also: Callable[[Job], str] | None = None
) -> None:
    """Push the job's card (and its row in a family tree) to the project's group; `also`
    makes more fragments for the same pages from the job as loaded for its card (with its
    images), to go in the same push (a stored result's gallery tiles)."""
    job = job_for_card(job_id)
    if job is None:
        return
    # Its API task came with it: a new job's first card is pushed once the transaction
    # that made both is committed (services._job_create, api.services.api_task_create).
    tell_api_caller_on_commit(job)
    decorate([job])
    if created:
        html = job_card_upsert_html(job)
    else:
        html = render_to_string(f"{PAGE}#job-card", {"job": job, "oob": True})
        html += render_to_string(f"{JOB_PAGE}#tree-row", {"job": job, "oob": True})
    if also is not None:
        html += also(job)
    push_project_html(job.project_id, html)
    place = getattr(job, "queue_position", None)
    team_id = job.project.team_id
    if created and place is not None and place < _waiting_count(team_id):
        # It took a turn ahead of jobs already waiting (a member's first job): each of
        # them moved back one place. At the end of the line, it moved no one.
        push_queue(team_id)


def _waiting_count(team_id: int) -> int:
    return Job.objects.filter(project__team_id=team_id).waiting_for_a_slot().count()


# Places pushed at most: a card further back shows its place when it is next loaded.
PUSHED_PLACES = 200


def push_progress(job: Job) -> None:
    """A running job's new progress and nothing else: its card's pill and bar and its
    chip in a family tree, rendered from `job` as it is, with no query (the card's other
    parts have not changed; a webhook's news is mostly this, many times a second). Also
    a job whose grid is done at the provider: its card comes with the grid once stored
    (a card and a query fewer for each grid, in a burst of completions)."""
    tell_api_caller_on_commit(job)
    context = {"job": job, "alone": True}
    html = (
        render_to_string(f"{PAGE}#status-pill", context)
        + render_to_string(f"{PAGE}#progress-bar", context)
        + render_to_string(f"{JOB_PAGE}#tree-chip", context)
    )
    push_project_html(job.project_id, html)


def push_queue(team_id: int) -> None:
    """The waiting jobs' places in line, which just changed: only their cards' status
    pills, not the cards."""
    line = queue_positions(team_id)  # in order, first in line first
    first = list(line)[:PUSHED_PLACES]
    # The few fields the pill reads (see the card's status-pill).
    waiting = Job.objects.filter(pk__in=first, dispatched_at__isnull=True).only(
        "project", "status", "progress", "sent_at"
    )
    by_project: dict[int, list[str]] = {}
    for job in waiting:
        job.queue_position = line[job.pk]  # type: ignore[attr-defined]
        html = render_to_string(f"{PAGE}#status-pill", {"job": job, "alone": True})
        by_project.setdefault(job.project_id, []).append(html)
    for project_id, pills in by_project.items():
        push_project_html(project_id, "".join(pills))


def project_snapshot_html(
    project_id: int, focus_job_id: int | None = None, user_id: int | None = None
) -> str:
    """What a (re)connecting browser may have missed: the newest jobs (or, on a job's page,
    that job's card and its family tree) and the viewer's budget meters.

    The newest jobs come as feed entries, oldest first: each refreshes its card where the
    page shows it and lands at its place where the page's filters take it, so that the
    older pages a viewer scrolled to and the filters they chose stay as they are."""
    project = Project.objects.select_related("team").get(pk=project_id)
    meters = ""
    if user_id is not None:
        user = User.objects.get(pk=user_id)
        meters = billing_live.meters_html(team=project.team, user=user, oob=True)
    if focus_job_id is None:
        jobs = jobs_for_display(project_id)
        return meters + "".join(feed_entry_html(job) for job in reversed(jobs))
    job = _with_display_relations(
        Job.objects.filter(pk=focus_job_id, project_id=project_id)
    ).first()
    if job is None:
        return meters
    decorate([job])
    card = render_to_string(f"{PAGE}#job-card", {"job": job, "oob": True})
    tree = render_to_string(f"{JOB_PAGE}#family-tree", {"family": family_of(job), "oob": True})
    return meters + card + tree
