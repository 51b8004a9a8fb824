"""Members: roles change (a team always keeps an admin), people are removed, and an
admin can create an account directly, with a password Django's validators accept."""

from typing import Any

import pytest
from django.test import Client

from studio.accounts.models import AuditEntry, Membership, Role, User
from tests.billing.admin_helpers import hx
from tests.factories import make_membership, make_user


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


def membership(team: Any, user: Any) -> Membership:
    return Membership.objects.get(team=team, user=user)


def change_role(client: Client, team: Any, user: Any, role: str) -> Any:
    url = f"/accounts/teams/{team.pk}/members/{membership(team, user).pk}/role/"
    return hx(client, url, {"role": role})


def remove(client: Client, team: Any, user: Any) -> Any:
    return hx(client, f"/accounts/teams/{team.pk}/members/{membership(team, user).pk}/remove/")


def create(client: Client, team: Any, **fields: str) -> Any:
    data = {"username": "dana", "password": "a-long-and-unusual-passphrase", "role": "member"}
    return hx(client, f"/accounts/teams/{team.pk}/members/add/", {**data, **fields})


def test_the_members_page_lists_everyone_with_role_and_joining_date(
    alice_client: Client, acme: Any, bob: Any, vera: Any
) -> None:
    bob.first_name, bob.last_name = "Bob", "Okafor"
    bob.save()

    html = alice_client.get(f"/accounts/teams/{acme.pk}/members/").content.decode()

    assert "Bob Okafor" in html and "@bob" in html and "@vera" in html
    assert f"{membership(acme, bob).created_at:%-d %b %Y}" in html
    assert '<option value="viewer" selected>Viewer</option>' in html


def test_an_admin_changes_a_members_role(alice_client: Client, acme: Any, bob: Any) -> None:
    response = change_role(alice_client, acme, bob, "admin")

    assert response.status_code == 200
    assert "Now admin" in response.content.decode()
    assert membership(acme, bob).role == Role.ADMIN


def test_the_last_admin_cannot_be_demoted(alice_client: Client, acme: Any, alice: Any) -> None:
    response = change_role(alice_client, acme, alice, "member")

    assert response.status_code == 422
    assert "A team needs at least one admin." in response.content.decode()
    assert membership(acme, alice).role == Role.ADMIN
    assert not AuditEntry.objects.exists()


def test_the_last_admin_cannot_be_removed(alice_client: Client, acme: Any, alice: Any) -> None:
    response = remove(alice_client, acme, alice)

    assert response.status_code == 422
    assert "A team needs at least one admin." in response.content.decode()
    assert Membership.objects.filter(team=acme, user=alice).exists()


def test_with_a_second_admin_an_admin_may_step_down_and_leaves_the_admin_pages(
    alice_client: Client, acme: Any, alice: Any, bob: Any
) -> None:
    change_role(alice_client, acme, bob, "admin")

    response = change_role(alice_client, acme, alice, "viewer")

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/?all=1"
    assert membership(acme, alice).role == Role.VIEWER


def test_an_admin_removes_a_member(alice_client: Client, acme: Any, bob: Any) -> None:
    response = remove(alice_client, acme, bob)

    assert response.status_code == 200
    assert "@bob" not in response.content.decode()
    assert not Membership.objects.filter(team=acme, user=bob).exists()
    assert User.objects.filter(username="bob").exists()  # the account stays


def test_an_unknown_role_is_refused(alice_client: Client, acme: Any, bob: Any) -> None:
    response = change_role(alice_client, acme, bob, "owner")

    assert response.status_code == 422
    assert "Choose admin, member or viewer." in response.content.decode()
    assert membership(acme, bob).role == Role.MEMBER


def test_an_admin_creates_an_account_in_the_team(alice_client: Client, acme: Any) -> None:
    response = create(
        alice_client, acme, name="Dana Scully", email="dana@example.com", role="viewer"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Created <strong>Dana Scully</strong> (@dana) as viewer." in html
    assert 'id="member-list" class="member-table"' in html and 'hx-swap-oob="true"' in html
    assert "a-long-and-unusual-passphrase" not in html
    dana = User.objects.get(username="dana")
    assert (dana.first_name, dana.last_name, dana.email) == ("Dana", "Scully", "dana@example.com")
    assert dana.check_password("a-long-and-unusual-passphrase")
    assert membership(acme, dana).role == Role.VIEWER


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("abc", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("8675309217", "This password is entirely numeric."),
        ("scully12", "The password is too similar to the last name."),
    ],
)
def test_a_weak_password_is_refused_with_the_validators_message(
    alice_client: Client, acme: Any, password: str, message: str
) -> None:
    response = create(alice_client, acme, password=password, name="Dana Scully")

    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert f'value="{password}"' not in html
    assert not User.objects.filter(username="dana").exists()


def test_a_username_that_is_taken_is_refused(alice_client: Client, acme: Any, globex: Any) -> None:
    make_membership(team=globex, user=make_user(username="Dana"))

    response = create(alice_client, acme, username="dana")

    assert response.status_code == 422
    assert "That username is taken." in response.content.decode()
    assert not Membership.objects.filter(team=acme, user__username__iexact="dana").exists()
