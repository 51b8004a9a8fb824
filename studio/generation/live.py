"""Live updates of jobs: the same template partials the page uses, pushed to the
project's group whenever a job changes."""

from django.template.loader import render_to_string

from studio.generation.models import Job
from studio.realtime.groups import project_group, push_html

PAGE = "generation/project.html"
RECENT_JOBS = 60


def jobs_for_display(project_id: int) -> list[Job]:
    jobs = (
        Job.objects.filter(project_id=project_id)
        .select_related("created_by")
        .prefetch_related("images")
    )
    return list(jobs[:RECENT_JOBS])


def job_card_upsert_html(job: Job) -> str:
    """A card that lands at the top of the list, replacing any copy already shown.

    Both the submitter's HTMX answer and the push to the group use it, so whichever
    arrives first, the card shows once."""
    card = render_to_string(f"{PAGE}#job-card", {"job": job})
    return (
        f'<div id="job-{job.pk}" hx-swap-oob="delete"></div>'
        f'<div hx-swap-oob="afterbegin:#job-list">{card}</div>'
    )


def push_job(job_id: int, *, created: bool = False) -> None:
    job = (
        Job.objects.select_related("created_by")
        .prefetch_related("images")
        .filter(pk=job_id)
        .first()
    )
    if job is None:
        return
    if created:
        html = job_card_upsert_html(job)
    else:
        html = render_to_string(f"{PAGE}#job-card", {"job": job, "oob": True})
    push_html(project_group(job.project_id), html)


def project_snapshot_html(project_id: int) -> str:
    """The whole job list, swapped in over what a (re)connecting browser shows."""
    return render_to_string(f"{PAGE}#job-list", {"jobs": jobs_for_display(project_id), "oob": True})
