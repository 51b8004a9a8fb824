"""Background tasks (Django's tasks framework, database-backed queue). Thin: each one
calls a service.

A worker takes the ready task of the highest priority first (django-tasks-db orders by
priority, then run_after, then enqueue time), so what moves a job's status (sending it,
reading it, cancelling it, giving out slots) never waits behind image work: copying a
result takes hundreds of milliseconds, a preview is a nicety. Tasks of other apps keep
the default priority (0), between the two."""

from django.tasks import task

# Higher runs first; django.tasks allows -100 to 100.
STATUS_PRIORITY = 20
RESULTS_PRIORITY = -10
PREVIEW_PRIORITY = -20


@task(priority=STATUS_PRIORITY)
def send_job(job_id: int) -> None:
    from studio.generation.services import job_dispatch

    job_dispatch(job_id=job_id)


@task(priority=STATUS_PRIORITY)
def refresh_job(job_id: int) -> None:
    from studio.generation.services import job_refresh

    job_refresh(job_id=job_id)


@task(priority=RESULTS_PRIORITY)
def store_results(job_id: int, attempt: int) -> None:
    from studio.generation.services import job_store_results

    job_store_results(job_id=job_id, attempt=attempt)


@task(priority=PREVIEW_PRIORITY)
def store_preview(job_id: int, url: str) -> None:
    from studio.generation.services import job_store_preview

    job_store_preview(job_id=job_id, url=url)


@task(priority=STATUS_PRIORITY)
def cancel_job(job_id: int) -> None:
    from studio.generation.services import job_cancel_at_provider

    job_cancel_at_provider(job_id=job_id)


@task(priority=STATUS_PRIORITY)
def dispatch_team(team_id: int) -> None:
    from studio.generation.queue import team_dispatch

    team_dispatch(team_id=team_id)
