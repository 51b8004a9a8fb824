"""Background tasks of the accounts app (Django's tasks framework, database-backed
queue). Thin: each one calls a service."""

from django.tasks import task


@task
def check_provider_key(key_id: int, actor_id: int | None) -> None:
    from studio.accounts.services import provider_key_test

    provider_key_test(key_id=key_id, actor_id=actor_id)


@task
def send_password_reset(user_id: int, base_url: str) -> None:
    from studio.accounts.services import password_reset_send

    password_reset_send(user_id=user_id, base_url=base_url)
