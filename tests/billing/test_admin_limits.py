from typing import Any

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from tests.billing.admin_helpers import hx


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


def save_limits(client: Client, team: Any, roles: list[str], limit: str = "3") -> Any:
    return hx(
        client,
        f"/teams/{team.pk}/money/limits/",
        {"turbo_roles": roles, "concurrency_limit": limit},
    )


def test_the_page_shows_who_may_use_turbo_and_the_limit(alice_client: Client, acme: Any) -> None:
    page = alice_client.get(f"/teams/{acme.pk}/money/").content.decode()

    assert 'value="admin" id="id_turbo_roles_0" checked' in page
    assert 'value="member" id="id_turbo_roles_1">' in page
    assert 'name="concurrency_limit"' in page and 'value="3"' in page
    assert "3, 10 or 30 at once" in page


def test_members_can_be_given_turbo(alice_client: Client, acme: Any) -> None:
    response = save_limits(alice_client, acme, ["member", "admin"])

    assert response.status_code == 200
    assert "Saved" in response.content.decode()
    acme.refresh_from_db()
    assert acme.turbo_roles == "admin,member"
    assert acme.may_use_turbo("member") and acme.may_use_turbo("admin")
    assert not acme.may_use_turbo("viewer")


def test_turbo_can_be_closed_to_everyone(alice_client: Client, acme: Any) -> None:
    save_limits(alice_client, acme, [])

    acme.refresh_from_db()
    assert acme.turbo_roles == ""
    assert not acme.may_use_turbo("admin")


def test_viewers_can_never_be_given_turbo(alice_client: Client, acme: Any) -> None:
    response = save_limits(alice_client, acme, ["admin", "viewer"])

    assert response.status_code == 422
    assert "Only admins and members can be given Turbo." in response.content.decode()
    acme.refresh_from_db()
    assert acme.turbo_roles == "admin"


def test_the_concurrency_limit_is_saved(alice_client: Client, acme: Any) -> None:
    save_limits(alice_client, acme, ["admin"], limit="10")

    acme.refresh_from_db()
    assert acme.concurrency_limit == 10


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "At least 1 job must be able to run."),
        ("101", "At most 100 jobs at once."),
        ("2.5", "Enter a whole number from 1 to 100."),
        ("", "Enter how many jobs may run at once (1 to 100)."),
    ],
)
def test_the_concurrency_limit_is_bounded(
    alice_client: Client, acme: Any, typed: str, message: str
) -> None:
    response = save_limits(alice_client, acme, ["admin", "member"], limit=typed)

    assert response.status_code == 422
    assert message in response.content.decode()
    acme.refresh_from_db()
    assert (acme.concurrency_limit, acme.turbo_roles) == (3, "admin")


def test_raising_the_limit_lets_waiting_jobs_start_at_once(
    alice_client: Client, acme: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        save_limits(alice_client, acme, ["admin"], limit="10")

    assert DBTaskResult.objects.filter(task_path__endswith="dispatch_team").count() == 1
