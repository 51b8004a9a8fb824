"""Live updates of jobs: the same template partials the pages use, pushed to the
project's group whenever a job changes. A fragment whose target is not on a page
(a tree row on the project page, say) is ignored there by htmx."""

from django.template.loader import render_to_string

from studio.generation.models import Job
from studio.generation.tree import family_of
from studio.realtime.groups import project_group, push_html

PAGE = "generation/project.html"
JOB_PAGE = "generation/job.html"
RECENT_JOBS = 60


def _with_display_relations(jobs):  # type: ignore[no-untyped-def]
    return jobs.select_related("created_by", "parent").prefetch_related("images", "inputs")


def jobs_for_display(project_id: int) -> list[Job]:
    return list(_with_display_relations(Job.objects.filter(project_id=project_id))[:RECENT_JOBS])


def job_card_upsert_html(job: Job) -> str:
    """A new job: its card lands at the top of the list and its node under its parent
    in a family tree, replacing any copy already shown.

    Both the submitter's HTMX answer and the push to the group use it, so whichever
    arrives first, the card shows once."""
    card = render_to_string(f"{PAGE}#job-card", {"job": job})
    html = (
        f'<div id="job-{job.pk}" hx-swap-oob="delete"></div>'
        f'<div hx-swap-oob="afterbegin:#job-list">{card}</div>'
    )
    if job.parent_id:
        row = render_to_string(f"{JOB_PAGE}#tree-row", {"job": job})
        html += (
            f'<div id="tree-node-{job.pk}" hx-swap-oob="delete"></div>'
            f'<div hx-swap-oob="beforeend:#tree-children-{job.parent_id}">'
            f'<li class="tree-node" id="tree-node-{job.pk}">{row}'
            f'<ul class="tree-children" id="tree-children-{job.pk}"></ul></li></div>'
        )
    return html


def push_job(job_id: int, *, created: bool = False) -> None:
    job = _with_display_relations(Job.objects.filter(pk=job_id)).first()
    if job is None:
        return
    if created:
        html = job_card_upsert_html(job)
    else:
        html = render_to_string(f"{PAGE}#job-card", {"job": job, "oob": True})
        html += render_to_string(f"{JOB_PAGE}#tree-row", {"job": job, "oob": True})
    push_html(project_group(job.project_id), html)


def project_snapshot_html(project_id: int, focus_job_id: int | None = None) -> str:
    """What a (re)connecting browser may have missed: the job list, or, on a job's page,
    that job's card and its family tree."""
    if focus_job_id is None:
        return render_to_string(
            f"{PAGE}#job-list", {"jobs": jobs_for_display(project_id), "oob": True}
        )
    job = _with_display_relations(
        Job.objects.filter(pk=focus_job_id, project_id=project_id)
    ).first()
    if job is None:
        return ""
    card = render_to_string(f"{PAGE}#job-card", {"job": job, "oob": True})
    tree = render_to_string(f"{JOB_PAGE}#family-tree", {"family": family_of(job), "oob": True})
    return card + tree
