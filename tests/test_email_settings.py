"""EMAIL_URL: one URL says where Studio's mail goes; a URL that does not read stops
start-up with a sentence that says why (and never repeats the password)."""

import io
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage

from studio.env import env_email
from studio.mail import ReadableConsoleBackend
from tests.test_settings import REAL_SECRET, manage

SMTP = "django.core.mail.backends.smtp.EmailBackend"


def email(monkeypatch: Any, url: str | None) -> dict[str, Any]:
    if url is None:
        monkeypatch.delenv("EMAIL_URL", raising=False)
    else:
        monkeypatch.setenv("EMAIL_URL", url)
    return env_email("EMAIL_URL")


def test_mail_goes_to_the_console_by_default(monkeypatch: Any) -> None:
    assert email(monkeypatch, None) == {"BACKEND": "studio.mail.ReadableConsoleBackend"}
    assert email(monkeypatch, "console://") == {"BACKEND": "studio.mail.ReadableConsoleBackend"}


def test_smtp_with_starttls_reads_host_port_and_decoded_credentials(monkeypatch: Any) -> None:
    settings = email(
        monkeypatch, "smtp://studio%40acme.test:p%40ss%3Aword@mail.acme.test:587?tls=1"
    )

    assert settings == {
        "BACKEND": SMTP,
        "OPTIONS": {
            "host": "mail.acme.test",
            "port": 587,
            "username": "studio@acme.test",
            "password": "p@ss:word",
            "use_tls": True,
            "use_ssl": False,
            "timeout": 10.0,
        },
    }


@pytest.mark.parametrize(
    ("url", "port", "tls", "ssl"),
    [
        ("smtp://mail.acme.test", 25, False, False),
        ("smtp://mail.acme.test?tls=1", 587, True, False),
        ("smtp+tls://mail.acme.test", 587, True, False),
        ("smtp+ssl://mail.acme.test", 465, False, True),
        ("smtps://mail.acme.test:2465", 2465, False, True),
        ("smtp://mail.acme.test?ssl=yes&timeout=3", 465, False, True),
    ],
)
def test_each_smtp_flavour_gets_its_security_and_port(
    monkeypatch: Any, url: str, port: int, tls: bool, ssl: bool
) -> None:
    options = email(monkeypatch, url)["OPTIONS"]

    assert (options["port"], options["use_tls"], options["use_ssl"]) == (port, tls, ssl)


def test_a_file_url_names_the_folder(monkeypatch: Any) -> None:
    options = email(monkeypatch, "file:///var/mail/studio")["OPTIONS"]

    assert options == {"file_path": "/var/mail/studio"}


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("smtp://user:secret@mail.acme.test:58x7", "has a port that is not a number"),
        ("mailgun://key@acme.test", "must start with one of"),
        ("mail.acme.test", "must start with one of"),
        ("smtp://:secret@", "names no mail server"),
        ("smtp://mail.acme.test?tls=1&ssl=1", "asks for both TLS and SSL"),
        ("smtp+ssl://mail.acme.test?tls=1", "asks for both TLS and SSL"),
        ("smtp://mail.acme.test?tls=maybe", "needs tls=1 or tls=0"),
        ("smtp://mail.acme.test?starttls=1", "options Studio does not know: starttls"),
        ("smtp://mail.acme.test?timeout=soon", "needs timeout in seconds"),
        ("console://?verbose=1", "takes no options with console://"),
        ("file://", "must name a folder"),
    ],
)
def test_a_url_that_does_not_read_says_why_without_the_password(
    monkeypatch: Any, url: str, says: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        email(monkeypatch, url)

    assert says in str(refused.value)
    assert str(refused.value).startswith("EMAIL_URL ")
    assert "secret" not in str(refused.value)


def test_an_smtp_url_makes_a_mailer_that_uses_it(monkeypatch: Any) -> None:
    from django.core.mail import mailers
    from django.test import override_settings

    with override_settings(MAILERS={"default": email(monkeypatch, "smtps://u:p@mail.acme.test")}):
        mailer = mailers.default

    assert (mailer.host, mailer.port, mailer.use_ssl, mailer.username) == (
        "mail.acme.test",
        465,
        True,
        "u",
    )


def test_a_bad_email_url_stops_start_up() -> None:
    result = manage("check", EMAIL_URL="smtp://mail.acme.test?tls=1&ssl=1")

    assert result.returncode != 0
    assert "EMAIL_URL asks for both TLS and SSL; choose one" in result.stderr


def test_production_refuses_mail_that_is_not_sent() -> None:
    result = manage(
        "check",
        DEBUG="0",
        SECRET_KEY=REAL_SECRET,
        STUDIO_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        EMAIL_URL="console://",
    )

    assert result.returncode != 0
    assert "EMAIL_URL must be an smtp:// URL when DEBUG=0" in result.stderr


def test_the_console_prints_a_long_link_whole() -> None:
    stream = io.StringIO()
    link = "http://127.0.0.1:8000/accounts/password-reset/MQ/" + "x" * 60 + "/"
    message = EmailMessage("Your Studio password", f"Choose it here:\n\n{link}\n", to=["b@a.test"])

    ReadableConsoleBackend(stream=stream, alias="default").send_messages([message])

    printed = stream.getvalue()
    assert "Subject: Your Studio password\nFrom: " in printed
    assert f"\n{link}\n" in printed
