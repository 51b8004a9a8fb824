"""A forgotten password: "Forgot password?" on the login page, a mail naming Studio whose
link (on STUDIO_PUBLIC_URL) sets a new password once, and the same answer whether or not
an account has the address."""

import datetime
import re
from typing import Any
from unittest import mock

from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.accounts.models import User
from studio.realtime.groups import SESSION_ENDED, account_group
from tests.factories import PASSWORD

RESET = reverse("accounts:password-reset")
SENT = reverse("accounts:password-reset-sent")


def ask_for_a_link(client: Client, address: str) -> Any:
    """Ask on the page, then let the worker send what the page queued."""
    response = client.post(RESET, {"email": address}, follow=True)
    for queued in DBTaskResult.objects.all():
        queued.task.call(*queued.args_kwargs["args"], **queued.args_kwargs["kwargs"])
        queued.delete()
    return response


def page_text(response: Any) -> str:
    """The page as a person reads it: without the per-request CSRF token and nonce."""
    html = response.content.decode()
    return re.sub(r'(nonce="|"X-CSRFToken": "|value=")[^"]*', r"\1…", html)


def link_in(message: Any) -> str:
    found = re.search(r"https?://\S+", message.body)
    assert found, message.body
    return found.group(0)


def test_the_login_page_offers_a_reset(client: Client) -> None:
    login = client.get(reverse("accounts:login")).content.decode()

    assert f'href="{RESET}"' in login
    assert "Forgot password?" in login


def test_the_mailed_link_sets_a_new_password_end_to_end(
    client: Client, bob: Any, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = "https://studio.acme.test"
    bob.email = "bob@acme.test"
    bob.save()

    answer = ask_for_a_link(client, "BOB@acme.test")

    assert answer.redirect_chain[-1][0] == SENT
    assert "Check your mail" in answer.content.decode()
    (message,) = mail.outbox
    assert message.to == ["bob@acme.test"]
    assert message.subject == "Your Studio password"
    assert "your Studio account, @bob" in message.body
    link = link_in(message)
    assert link.startswith("https://studio.acme.test/accounts/password-reset/")

    form = client.get(link.removeprefix("https://studio.acme.test"), follow=True)
    assert "Choose a new password" in form.content.decode()
    with mock.patch("studio.accounts.views.close_sockets", autospec=True) as ended:
        done = client.post(
            form.redirect_chain[-1][0],
            {"new_password1": "a-fresh-pass-phrase", "new_password2": "a-fresh-pass-phrase"},
            follow=True,
        )

    assert "Your new password is set" in done.content.decode()
    ended.assert_called_once_with(account_group(bob.pk), code=SESSION_ENDED)  # its sockets
    assert client.login(username="bob", password="a-fresh-pass-phrase")
    client.logout()
    assert not client.login(username="bob", password=PASSWORD)
    again = client.get(link.removeprefix("https://studio.acme.test"), follow=True)
    assert "This link no longer works" in again.content.decode()  # used once


def test_the_page_leaves_the_mail_to_the_worker_and_no_secret_in_the_queue(
    client: Client, bob: Any, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = "https://studio.acme.test"
    bob.email = "bob@acme.test"
    bob.save()

    client.post(RESET, {"email": "bob@acme.test"})

    assert mail.outbox == []  # the answer never waits on a mail server
    queued = DBTaskResult.objects.get(task_path__endswith="send_password_reset")
    assert queued.args_kwargs["args"] == [bob.pk, "https://studio.acme.test"]


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client: Client, bob: Any) -> None:
    bob.email = "bob@acme.test"
    bob.save()

    known = ask_for_a_link(client, "bob@acme.test")
    mail.outbox.clear()
    unknown = ask_for_a_link(client, "nobody@acme.test")

    assert unknown.redirect_chain == known.redirect_chain
    assert page_text(unknown) == page_text(known)
    assert mail.outbox == []


def test_a_mistyped_address_is_refused_in_place(client: Client) -> None:
    response = client.post(RESET, {"email": "bob-at-acme"})

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert mail.outbox == []


def test_a_forged_link_says_it_no_longer_works(client: Client, bob: Any) -> None:
    response = client.get(
        reverse("accounts:password-reset-confirm", args=["Mg", "abc-123"]), follow=True
    )

    html = response.content.decode()
    assert "This link no longer works" in html
    assert 'name="new_password1"' not in html


def test_asking_again_and_again_sends_one_mail_until_the_gap_passes(
    client: Client, bob: Any, settings: Any
) -> None:
    settings.PASSWORD_RESET_MAIL_GAP_SECONDS = 300
    bob.email = "bob@acme.test"
    bob.save()

    for _ in range(3):
        answer = ask_for_a_link(client, "bob@acme.test")
        assert answer.redirect_chain[-1][0] == SENT  # the page says the same every time
    assert len(mail.outbox) == 1

    User.objects.filter(pk=bob.pk).update(
        password_reset_mailed_at=timezone.now() - datetime.timedelta(seconds=301)
    )
    ask_for_a_link(client, "bob@acme.test")
    assert len(mail.outbox) == 2
