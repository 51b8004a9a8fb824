"""A token's limits under real concurrency: threads with their own connections, started
together (PostgreSQL in CI), through the API's own door."""

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from studio.api.models import ApiToken
from studio.api.services import token_create
from studio.billing.models import EntryKind, LedgerEntry
from studio.generation.models import Job
from tests.billing.test_races import race
from tests.factories import make_membership, make_project, make_team, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_other_worker(alone: None) -> None:
    """The jobs made here are counted, not run: no shared server's worker sends them."""


def test_thirty_requests_at_once_get_exactly_the_tokens_rate() -> None:
    team = make_team(name="Rushers")
    user = make_user(username="rusher")
    make_membership(team=team, user=user)
    made = token_create(user=user, project=make_project(team=team), name="burst")
    ApiToken.objects.filter(pk=made.token.pk).update(requests_per_minute=7)

    answers = race(
        [
            lambda: Client().get("/account/info", headers={"x-api-key": made.secret}).status_code
            for _ in range(30)
        ]
    )

    assert sorted(answers).count(200) == 7
    assert sorted(answers).count(429) == 23


def test_twenty_tasks_at_once_through_one_token_stop_exactly_at_the_budget() -> None:
    team = make_team(name="Spenders", budget=Decimal("0.45"), concurrency_limit=20)
    user = make_user(username="spender")
    make_membership(team=team, user=user)
    made = token_create(user=user, project=make_project(team=team), name="batch")

    def submit(n: int) -> Any:
        return (
            Client()
            .post(
                "/api/v1/task",
                data=json.dumps({"task_type": "imagine", "input": {"prompt": f"moth {n}"}}),
                content_type="application/json",
                headers={"x-api-key": made.secret},
            )
            .status_code
        )

    answers = race([lambda n=n: submit(n) for n in range(20)])

    assert answers.count(200) == 10  # $0.45 at $0.045 a fast job
    assert answers.count(402) == 10
    assert Job.objects.count() == 10
    assert LedgerEntry.objects.filter(kind=EntryKind.HOLD).count() == 10
