"""Invite links: an admin makes one (shown once), anyone holding it joins once in its
role, logged in or by signing up; expired, used or revoked links say which (410)."""

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from studio.accounts.models import AuditEntry, Invite, Membership, Role, User
from tests.billing.admin_helpers import hx
from tests.factories import make_user


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def invite(acme: Any, alice: Any) -> Invite:
    return Invite.objects.create(team=acme, role=Role.MEMBER, created_by=alice)


def invite_url(invite: Invite) -> str:
    return f"/accounts/invites/{invite.token}/"


def sign_up(client: Client, invite: Invite, **fields: str) -> Any:
    data = {
        "username": "erin",
        "password1": "a-long-and-unusual-passphrase",
        "password2": "a-long-and-unusual-passphrase",
    }
    return client.post(invite_url(invite), {**data, **fields})


def test_an_admin_creates_a_link_that_shows_once(alice_client: Client, acme: Any) -> None:
    response = hx(
        alice_client, f"/accounts/teams/{acme.pk}/invites/", {"role": "viewer", "days": "30"}
    )

    assert response.status_code == 200
    invite = Invite.objects.get()
    assert len(invite.token) >= 43  # secrets.token_urlsafe(32)
    assert invite.role == Role.VIEWER
    assert invite.created_by.username == "alice"
    days = (invite.expires_at - timezone.now()) / datetime.timedelta(days=1)
    assert 29.9 < days <= 30
    html = response.content.decode()
    link = f"/accounts/invites/{invite.token}/"
    # A full link, on Studio's public address, with a copy button.
    assert re.search(rf'data-copy="https?://[^"/]+{link}"', html)
    assert "Open invites" in html
    # Afterwards the page lists the invite, but never its link again.
    page = alice_client.get(f"/accounts/teams/{acme.pk}/members/").content.decode()
    assert "Viewer" in page and invite.token not in page


def test_an_invite_is_valid_for_seven_days_unless_told_otherwise(
    alice_client: Client, acme: Any
) -> None:
    hx(alice_client, f"/accounts/teams/{acme.pk}/invites/", {"role": "member", "days": "7"})

    days = (Invite.objects.get().expires_at - timezone.now()) / datetime.timedelta(days=1)
    assert 6.9 < days <= 7


def test_an_invite_for_another_length_is_refused(alice_client: Client, acme: Any) -> None:
    response = hx(
        alice_client, f"/accounts/teams/{acme.pk}/invites/", {"role": "member", "days": "365"}
    )

    assert response.status_code == 422
    assert "Choose 1, 7 or 30 days." in response.content.decode()
    assert not Invite.objects.exists()


def test_a_logged_in_user_joins_with_one_click(client: Client, invite: Invite, acme: Any) -> None:
    erin = make_user(username="erin")
    client.force_login(erin)

    page = client.get(invite_url(invite))
    assert page.status_code == 200
    assert "Join Acme as member" in page.content.decode()

    response = client.post(invite_url(invite))

    assert response.status_code == 302
    assert Membership.objects.get(team=acme, user=erin).role == Role.MEMBER
    invite.refresh_from_db()
    assert (invite.accepted_by, invite.accepted_at is not None) == (erin, True)


def test_a_member_already_is_told_so_and_nothing_changes(
    client: Client, invite: Invite, acme: Any, vera: Any
) -> None:
    client.force_login(vera)

    assert "You are already in Acme" in client.get(invite_url(invite)).content.decode()
    response = client.post(invite_url(invite))

    assert response.status_code == 200
    assert "You are already in Acme" in response.content.decode()
    assert Membership.objects.get(team=acme, user=vera).role == Role.VIEWER
    invite.refresh_from_db()
    assert invite.accepted_at is None  # still there for the person it was meant for


def test_a_visitor_signs_up_on_the_invite_page_and_is_logged_in(
    client: Client, invite: Invite, acme: Any
) -> None:
    page = client.get(invite_url(invite)).content.decode()
    assert "Create my account and join" in page

    response = sign_up(client, invite)

    assert response.status_code == 302
    erin = User.objects.get(username="erin")
    assert erin.check_password("a-long-and-unusual-passphrase")
    assert Membership.objects.get(team=acme, user=erin).role == Role.MEMBER
    assert client.get("/").wsgi_request.user == erin
    entry = AuditEntry.objects.get(action="invite.accepted")
    assert (entry.actor, entry.changes) == (erin, {"role": [None, "member"]})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password1": "abc", "password2": "abc"}, "This password is too short."),
        ({"password2": "something-else-entirely"}, "The two password fields didn’t match."),
        ({"username": "alice"}, "A user with that username already exists."),
        ({"username": "no spaces allowed"}, "Enter a valid username."),
    ],
)
def test_a_sign_up_that_does_not_validate_is_refused(
    client: Client, invite: Invite, fields: dict[str, str], message: str
) -> None:
    response = sign_up(client, invite, **fields)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Membership.objects.filter(user__username="erin").exists()
    invite.refresh_from_db()
    assert invite.accepted_at is None


def test_an_expired_invite_says_so(client: Client, invite: Invite) -> None:
    invite.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    invite.save()

    page = client.get(invite_url(invite))
    signed_up = sign_up(client, invite)

    assert page.status_code == 410
    assert "This invite has expired" in page.content.decode()
    assert signed_up.status_code == 410
    assert not User.objects.filter(username="erin").exists()


def test_a_revoked_invite_says_so(alice_client: Client, invite: Invite, acme: Any) -> None:
    response = hx(alice_client, f"/accounts/teams/{acme.pk}/invites/{invite.pk}/revoke/")
    assert response.status_code == 200
    assert "Revoked: the link no longer works." in response.content.decode()

    erin_client = Client()
    erin_client.force_login(make_user(username="erin"))
    page = erin_client.get(invite_url(invite))
    accepted = erin_client.post(invite_url(invite))

    assert page.status_code == 410
    assert "This invite was withdrawn" in page.content.decode()
    assert accepted.status_code == 410
    assert not Membership.objects.filter(user__username="erin").exists()


def test_an_invite_works_once(client: Client, invite: Invite, acme: Any) -> None:
    erin, frank = make_user(username="erin"), make_user(username="frank")
    client.force_login(erin)
    client.post(invite_url(invite))

    client.force_login(frank)
    page = client.get(invite_url(invite))
    second = client.post(invite_url(invite))

    assert page.status_code == 410
    assert "This invite has been used" in page.content.decode()
    assert second.status_code == 410
    assert not Membership.objects.filter(team=acme, user=frank).exists()


def test_signing_up_on_a_used_invite_creates_no_account(client: Client, invite: Invite) -> None:
    invite.claim(make_user(username="frank"))

    response = sign_up(client, invite)

    assert response.status_code == 410
    assert not User.objects.filter(username="erin").exists()


def test_an_unknown_token_is_not_found(client: Client, invite: Invite) -> None:
    assert client.get("/accounts/invites/not-a-token/").status_code == 404


def test_the_invite_page_never_shows_the_token_in_what_it_links_to_elsewhere(
    client: Client, invite: Invite
) -> None:
    html = client.get(invite_url(invite)).content.decode()

    links = re.findall(r'href="([^"]+)"', html)
    assert all(invite.token not in link or "next=" in link for link in links)
