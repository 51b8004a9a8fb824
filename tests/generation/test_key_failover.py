from typing import Any

from django.utils import timezone

from studio.accounts.models import ProviderKey
from studio.generation.models import Job, Status
from studio.generation.services import job_dispatch, job_refresh
from tests.conftest import StudioServer, wait_for
from tests.factories import make_job


def add_key(team: Any, raw: str, position: int) -> ProviderKey:
    key = ProviderKey(team=team, label=raw[:10], position=position)
    key.set_key(raw)
    key.save()
    return key


def test_a_refused_key_fails_over_to_the_next_and_the_task_stays_with_it(
    server: StudioServer, project: Any, bob: Any, acme: Any, settings: Any
) -> None:
    settings.PIAPI_BASE_URL = f"{server.url}/sandbox"
    settings.STUDIO_PUBLIC_URL = ""
    acme.provider_keys.all().delete()
    add_key(acme, "invalid-key-0001", 0)  # the provider answers 401
    add_key(acme, "nocredits-key-0002", 1)  # the provider reports no credits
    working = add_key(acme, "sandbox-key-0003", 2)
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())

    job_dispatch(job_id=job.pk)

    job.refresh_from_db()
    assert job.status in (Status.SUBMITTED, Status.PROCESSING, Status.COMPLETED), job.error
    assert job.provider_key == working
    # Reading the task back uses the key that created it.
    wait_for(lambda: job_refresh(job_id=job.pk) or Job.objects.get(pk=job.pk).is_finished)
    assert Job.objects.get(pk=job.pk).status == Status.COMPLETED


def test_when_every_key_is_refused_the_job_fails_saying_so(
    server: StudioServer, project: Any, bob: Any, acme: Any, settings: Any
) -> None:
    settings.PIAPI_BASE_URL = f"{server.url}/sandbox"
    acme.provider_keys.all().delete()
    add_key(acme, "invalid-key-0001", 0)
    add_key(acme, "nocredits-key-0002", 1)
    job = make_job(project=project, user=bob, dispatched_at=timezone.now())

    job_dispatch(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "credits" in job.error


def test_disabled_keys_are_skipped(project: Any, bob: Any, acme: Any) -> None:
    acme.provider_keys.all().delete()
    first = add_key(acme, "sandbox-key-0001", 0)
    first.is_active = False
    first.save()
    second = add_key(acme, "sandbox-key-0002", 1)

    assert list(acme.active_provider_keys()) == [second]
    assert acme.default_provider_key() == second
