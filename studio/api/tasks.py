"""Background tasks of the API (Django's tasks framework, like studio/generation/tasks.py).
Thin: each one calls a service."""

from django.tasks import task


@task
def job_changed(job_id: int) -> None:
    """A job changed (enqueued by name from studio.generation.live.push_job): tell the
    caller of its API task, if they gave a webhook endpoint."""
    from studio.api.webhooks import webhook_record, webhooks_deliver

    delivery = webhook_record(job_id=job_id)
    if delivery is not None:
        webhooks_deliver(api_task_id=delivery.api_task_id)


@task
def deliver_api_webhooks(api_task_id: int) -> None:
    from studio.api.webhooks import webhooks_deliver

    webhooks_deliver(api_task_id=api_task_id)
