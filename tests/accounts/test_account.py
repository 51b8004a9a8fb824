"""One's own account: display name, avatar colour, theme and password, each as a person
notices it (the topbar, the page's theme, logging in with the new password)."""

from typing import Any
from unittest import mock

from django.test import Client
from django.urls import reverse

from studio.realtime.groups import RECONNECT, account_group
from tests.factories import PASSWORD

ACCOUNT = reverse("accounts:account")


def test_the_topbar_leads_to_the_account_page(client: Client, bob: Any) -> None:
    client.force_login(bob)

    home = client.get(reverse("projects:home"), follow=True).content.decode()
    page = client.get(ACCOUNT)

    assert f'href="{ACCOUNT}"' in home
    assert page.status_code == 200
    assert "Your account" in page.content.decode()


def test_a_new_display_name_shows_in_the_topbar(client: Client, bob: Any) -> None:
    client.force_login(bob)

    response = client.post(
        reverse("accounts:account-profile"),
        {"display_name": "  Bob   Builder ", "avatar_tone": "3", "email": ""},
        follow=True,
    )

    html = response.content.decode()
    assert '<span class="account-name">Bob Builder</span>' in html
    assert '<span class="avatar tone-3" aria-hidden="true">B</span>' in html
    assert "others now see you as Bob Builder" in html
    bob.refresh_from_db()
    assert (bob.first_name, bob.last_name, bob.display_name) == ("Bob", "Builder", "Bob Builder")


def test_an_empty_or_long_display_name_is_refused_with_its_reason(client: Client, bob: Any) -> None:
    client.force_login(bob)

    blank = client.post(
        reverse("accounts:account-profile"), {"display_name": "   ", "avatar_tone": "0"}
    )
    long = client.post(
        reverse("accounts:account-profile"), {"display_name": "x" * 61, "avatar_tone": "0"}
    )

    assert blank.status_code == 422
    assert "Give a name others will know you by." in blank.content.decode()
    assert long.status_code == 422
    assert "A display name is at most 60 characters." in long.content.decode()
    bob.refresh_from_db()
    assert bob.display_name == "bob"


def test_an_avatar_colour_outside_the_palette_is_refused(client: Client, bob: Any) -> None:
    client.force_login(bob)

    response = client.post(
        reverse("accounts:account-profile"), {"display_name": "Bob", "avatar_tone": "99"}
    )

    assert response.status_code == 422
    assert "Choose one of the colours shown." in response.content.decode()


def test_the_avatar_colour_shows_on_the_members_and_money_pages(
    client: Client, alice: Any, bob: Any, acme: Any
) -> None:
    bob.avatar_tone = 5
    bob.save()
    client.force_login(alice)

    members = client.get(reverse("accounts:members", args=[acme.pk])).content.decode()
    money = client.get(reverse("billing:settings", args=[acme.pk])).content.decode()

    assert '<span class="avatar tone-5" aria-hidden="true">B</span>' in members
    assert '<span class="avatar small tone-5" aria-hidden="true">B</span>' in money


def test_a_chosen_theme_is_set_by_the_server_on_every_page(client: Client, bob: Any) -> None:
    client.force_login(bob)
    before = client.get(ACCOUNT).content.decode()

    client.post(reverse("accounts:account-theme"), {"theme": "dark"})
    dark = client.get(reverse("projects:home"), follow=True).content.decode()
    client.post(reverse("accounts:account-theme"), {"theme": "system"})
    system = client.get(ACCOUNT).content.decode()

    assert "data-theme" not in before
    assert '<html lang="en" data-theme="dark">' in dark
    assert '<meta name="color-scheme" content="dark">' in dark
    assert "data-theme" not in system
    assert '<meta name="color-scheme" content="light dark">' in system


def test_an_unknown_theme_is_refused(client: Client, bob: Any) -> None:
    client.force_login(bob)

    response = client.post(reverse("accounts:account-theme"), {"theme": "sepia"})

    assert response.status_code == 422
    assert "Choose system, light or dark." in response.content.decode()
    bob.refresh_from_db()
    assert bob.theme == "system"


def test_a_wrong_current_password_is_named_and_changes_nothing(client: Client, bob: Any) -> None:
    client.force_login(bob)

    response = client.post(
        reverse("accounts:password-change"),
        {
            "old_password": "not-it",
            "new_password1": "a-fresh-pass-phrase",
            "new_password2": "a-fresh-pass-phrase",
        },
    )

    assert response.status_code == 200
    assert "That is not your current password." in response.content.decode()
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)


def test_two_different_new_passwords_are_refused(client: Client, bob: Any) -> None:
    client.force_login(bob)

    response = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": "a-fresh-pass-phrase", "new_password2": "x"},
    )

    assert "The two new passwords differ; type the same one twice." in response.content.decode()


def test_a_changed_password_logs_in_and_the_old_one_does_not(client: Client, bob: Any) -> None:
    client.force_login(bob)

    with mock.patch("studio.accounts.views.close_sockets", autospec=True) as ended:
        response = client.post(
            reverse("accounts:password-change"),
            {
                "old_password": PASSWORD,
                "new_password1": "a-fresh-pass-phrase",
                "new_password2": "a-fresh-pass-phrase",
            },
            follow=True,
        )

    assert "Your password was changed." in response.content.decode()
    # Its live sockets are checked afresh: this session's come back, the others' do not.
    ended.assert_called_once_with(account_group(bob.pk), code=RECONNECT)
    assert client.get(ACCOUNT).status_code == 200  # this browser stays logged in
    client.logout()
    assert not client.login(username="bob", password=PASSWORD)
    assert client.login(username="bob", password="a-fresh-pass-phrase")


def test_the_account_pages_are_for_people_logged_in(client: Client) -> None:
    for name in ("accounts:account", "accounts:password-change"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
