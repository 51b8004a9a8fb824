"""A job holds the price of its own provider, mode and operation (a draft grid half),
and is charged or released exactly that hold."""

from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from studio.billing.models import EntryKind, LedgerEntry
from studio.billing.services import job_hold
from studio.generation.models import Job, Status
from studio.generation.services import job_advance, job_dispatch, job_submit
from studio.providers.base import ProviderError, ProviderTask
from studio.providers.legnext import LegNext
from studio.providers.piapi import PiAPI
from tests.billing.admin_helpers import hx
from tests.billing.helpers import settlements, usage
from tests.factories import make_job, make_key


@pytest.fixture
def legnext_key(acme: Any) -> Any:
    """Acme runs LegNext too, after its PiAPI key."""
    return make_key(team=acme, provider="legnext", api_key="legnext-key-0001", position=1)


def submit(project: Any, user: Any, *, provider: str, mode: str = "fast", prompt: str = "") -> Job:
    return job_submit(
        project=project,
        user=user,
        prompt=prompt or "a lighthouse at dusk",
        process_mode=mode,
        provider=provider,
    )


def held(job: Job) -> Decimal:
    return LedgerEntry.objects.get(job=job, kind=EntryKind.HOLD).amount


@pytest.mark.parametrize(("mode", "price"), [("fast", "0.08"), ("turbo", "0.16")])
def test_a_legnext_imagine_holds_legnexts_price(
    project: Any, alice: Any, acme: Any, legnext_key: Any, mode: str, price: str
) -> None:
    job = submit(project, alice, provider="legnext", mode=mode)

    assert job.provider == "legnext"
    assert held(job) == Decimal(price)
    assert usage(acme, alice).held(mode) == Decimal(price)


@pytest.mark.parametrize(
    ("provider", "mode", "price"),
    [("legnext", "fast", "0.04"), ("legnext", "turbo", "0.08"), ("piapi", "fast", "0.0225")],
)
def test_a_draft_holds_half(
    project: Any, alice: Any, legnext_key: Any, provider: str, mode: str, price: str
) -> None:
    job = submit(project, alice, provider=provider, mode=mode, prompt="a fox --v 7 --draft")

    assert held(job) == Decimal(price)


def test_a_legnext_job_is_charged_its_hold_when_it_completes(
    project: Any, bob: Any, acme: Any, legnext_key: Any
) -> None:
    job = submit(project, bob, provider="legnext")

    job_advance(job, status=Status.COMPLETED, output={"usage": {"frozen": 80, "consume": 80}})

    charge = LedgerEntry.objects.get(job=job, kind=EntryKind.CHARGE)
    assert (charge.amount, charge.provider_usage) == (
        Decimal("0.08"),
        {"frozen": 80, "consume": 80},
    )
    member = usage(acme, bob)
    assert (member.spent_fast, member.held_fast) == (Decimal("0.08"), Decimal("0"))


def test_a_legnext_job_that_fails_releases_its_hold(
    project: Any, bob: Any, acme: Any, legnext_key: Any
) -> None:
    job = submit(project, bob, provider="legnext")

    job_advance(job, status=Status.FAILED, error="moderated")

    assert settlements(job) == ["release"]
    member = usage(acme, bob)
    assert (member.spent(), member.held()) == (Decimal("0"), Decimal("0"))


@pytest.mark.parametrize(
    ("parameters", "price"), [({"type": "creative"}, "0.16"), ({"type": "subtle"}, "0.12")]
)
def test_a_legnext_upscale_holds_the_price_of_its_kind(
    project: Any, bob: Any, legnext_key: Any, parameters: dict[str, Any], price: str
) -> None:
    job = make_job(
        project=project,
        user=bob,
        provider="legnext",
        operation="upscale",
        parameters={"image": 2, **parameters},
        prompt="a fox --v 7 --draft",  # an upscale of a draft renders in full: full price
    )

    with transaction.atomic():
        assert job_hold(job=job) == Decimal(price)


def test_a_reroll_of_a_draft_is_a_draft_again(project: Any, bob: Any, legnext_key: Any) -> None:
    job = make_job(
        project=project, user=bob, provider="legnext", operation="reroll", prompt="x --v 7 --draft"
    )

    with transaction.atomic():
        assert job_hold(job=job) == Decimal("0.04")


def test_an_admins_legnext_price_is_held_by_the_next_legnext_job_and_piapi_keeps_its_own(
    client: Client, project: Any, alice: Any, bob: Any, acme: Any, legnext_key: Any
) -> None:
    client.force_login(alice)
    response = hx(client, f"/teams/{acme.pk}/money/prices/legnext/", {"fast": "0.07"})
    assert response.status_code == 200

    legnext_job = submit(project, bob, provider="legnext")
    piapi_job = submit(project, bob, provider="piapi")

    assert held(legnext_job) == Decimal("0.07")
    assert held(piapi_job) == Decimal("0.045")


def test_a_job_that_fails_over_to_another_provider_keeps_the_price_held_at_submit(
    project: Any, bob: Any, acme: Any, settings: Any
) -> None:
    """The member was quoted LegNext's price; a refused LegNext key changes the provider
    that runs the job, not what it costs."""
    settings.STUDIO_PUBLIC_URL = ""
    acme.provider_keys.update(position=1)
    make_key(team=acme, provider="legnext", api_key="legnext-key-0001", position=0)
    job = submit(project, bob, provider="")
    assert (job.provider, held(job)) == ("legnext", Decimal("0.08"))
    Job.objects.filter(pk=job.pk).update(dispatched_at=timezone.now())
    made = ProviderTask(task_id="task-1", task_type="imagine", status="pending")
    no_credits = ProviderError("Insufficient credits", status_code=402)

    with (
        mock.patch.object(LegNext, "create_task", autospec=True, side_effect=no_credits),
        mock.patch.object(PiAPI, "create_task", autospec=True, return_value=made),
    ):
        job_dispatch(job_id=job.pk)

    job.refresh_from_db()
    assert (job.provider, job.status) == ("piapi", Status.SUBMITTED)
    job_advance(job, status=Status.COMPLETED)
    assert LedgerEntry.objects.get(job=job, kind=EntryKind.CHARGE).amount == Decimal("0.08")
