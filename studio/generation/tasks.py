"""Background tasks (Django's tasks framework, database-backed queue). Thin: each one
calls a service."""

from django.tasks import task


@task
def send_job(job_id: int) -> None:
    from studio.generation.services import job_dispatch

    job_dispatch(job_id=job_id)


@task
def refresh_job(job_id: int) -> None:
    from studio.generation.services import job_refresh

    job_refresh(job_id=job_id)


@task
def store_results(job_id: int, attempt: int) -> None:
    from studio.generation.services import job_store_results

    job_store_results(job_id=job_id, attempt=attempt)


@task
def store_preview(job_id: int, url: str) -> None:
    from studio.generation.services import job_store_preview

    job_store_preview(job_id=job_id, url=url)


@task
def cancel_job(job_id: int) -> None:
    from studio.generation.services import job_cancel_at_provider

    job_cancel_at_provider(job_id=job_id)


@task
def dispatch_team(team_id: int) -> None:
    from studio.generation.queue import team_dispatch

    team_dispatch(team_id=team_id)
