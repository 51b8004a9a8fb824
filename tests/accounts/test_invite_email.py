"""Emailing an invite: from the box that shows a new link, an admin sends it to an
address; the mail names the team, the role and the link, and the audit log says so.
Refusals say what to do: a mistyped address, an invite gone meanwhile, a mail server
that does not answer."""

import smtplib
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studio.accounts.models import AuditEntry, Invite, Role
from tests.billing.admin_helpers import hx
from tests.factories import make_membership, make_user


@pytest.fixture
def invite(acme: Any, alice: Any) -> Invite:
    return Invite.objects.create(team=acme, role=Role.VIEWER, created_by=alice)


def email_it(client: Client, invite: Invite, address: str) -> Any:
    url = reverse("accounts:invite-email", args=[invite.team_id, invite.pk])
    return hx(client, url, {"email": address})


def test_an_admin_emails_a_new_invite_and_it_is_audited(
    client: Client, alice: Any, acme: Any, invite: Invite, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = "https://studio.acme.test"
    alice.first_name = "Alice"
    alice.save()
    client.force_login(alice)

    response = email_it(client, invite, "erin@example.com")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Sent to erin@example.com" in html
    assert f"https://studio.acme.test/accounts/invites/{invite.token}/" in html  # still shown
    (message,) = mail.outbox
    assert message.to == ["erin@example.com"]
    assert message.subject == "Alice invites you to Acme on Studio"
    assert f"https://studio.acme.test/accounts/invites/{invite.token}/" in message.body
    assert "as a viewer" in message.body
    entry = AuditEntry.objects.get(action="invite.emailed")
    assert (entry.team, entry.actor, entry.target) == (acme, alice, "erin@example.com")
    audit = client.get(reverse("accounts:audit", args=[acme.pk])).content.decode()
    assert "emailed an invite link to" in audit


def test_a_mistyped_address_is_refused_and_nothing_is_sent(
    client: Client, alice: Any, invite: Invite
) -> None:
    client.force_login(alice)

    response = email_it(client, invite, "erin-at-example")

    assert response.status_code == 422
    assert "That is not an email address; it looks like name@example.com." in (
        response.content.decode()
    )
    assert mail.outbox == []
    assert not AuditEntry.objects.filter(action="invite.emailed").exists()


@pytest.mark.parametrize(
    ("close", "word"),
    [
        ({"revoked_at": timezone.now()}, "revoked"),
        ({"accepted_at": timezone.now()}, "used"),
        ({"expires_at": timezone.now()}, "expired"),
    ],
)
def test_an_invite_gone_meanwhile_is_not_sent_and_says_why(
    client: Client, alice: Any, invite: Invite, close: dict[str, Any], word: str
) -> None:
    Invite.objects.filter(pk=invite.pk).update(**close)
    client.force_login(alice)

    response = email_it(client, invite, "erin@example.com")

    assert response.status_code == 422
    assert f"This invite was {word} meanwhile, so it was not sent; create a new link." in (
        response.content.decode()
    )
    assert invite.token not in response.content.decode()
    assert mail.outbox == []


def test_a_mail_server_that_refuses_is_named_and_the_link_still_shows(
    client: Client, alice: Any, invite: Invite
) -> None:
    client.force_login(alice)

    with mock.patch(
        "studio.accounts.services.send_mail",
        autospec=True,
        side_effect=smtplib.SMTPAuthenticationError(535, b"bad credentials"),
    ):
        response = email_it(client, invite, "erin@example.com")

    html = response.content.decode()
    assert response.status_code == 422
    assert "The mail server did not take it (SMTPAuthenticationError" in html
    assert "The link still works: copy it and send it yourself." in html
    assert invite.token in html
    assert not AuditEntry.objects.filter(action="invite.emailed").exists()


def test_only_the_admin_who_made_the_invite_may_email_it(
    client: Client, bob: Any, charlie: Any, acme: Any, invite: Invite
) -> None:
    dana = make_user(username="dana")
    make_membership(team=acme, user=dana, role=Role.ADMIN)
    client.force_login(dana)  # another admin: the link is not theirs to see again
    response = email_it(client, invite, "erin@example.com")
    assert response.status_code == 404
    assert invite.token not in response.content.decode()
    client.force_login(bob)
    assert email_it(client, invite, "erin@example.com").status_code == 403
    client.force_login(charlie)
    assert email_it(client, invite, "erin@example.com").status_code == 404
    assert mail.outbox == []
