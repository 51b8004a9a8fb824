import datetime
from typing import Any
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from studio.security.models import LoginFailure
from tests.factories import PASSWORD, make_png


def log_in(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_repeated_failures_lock_the_account_for_a_while(
    client: Client, bob: Any, alice: Any
) -> None:
    for _ in range(5):
        assert log_in(client, "bob", "wrong").status_code == 200

    locked = log_in(client, "bob", PASSWORD)

    assert locked.status_code == 200 and "_auth_user_id" not in client.session
    assert "Too many failed attempts for this account" in locked.content.decode()
    assert "your network" not in locked.content.decode()
    # Another account is not locked by bob's failures.
    assert log_in(Client(), "alice", PASSWORD).status_code == 302


def test_the_lock_ends_after_its_time(client: Client, bob: Any) -> None:
    for _ in range(5):
        log_in(client, "bob", "wrong")
    LoginFailure.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=16))

    assert log_in(client, "bob", PASSWORD).status_code == 302


def test_many_failures_from_one_address_lock_that_address(
    client: Client, bob: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for name in ("x1", "x2", "x3"):
        log_in(client, name, "wrong")

    response = log_in(client, "bob", PASSWORD)

    # bob's account is fine: it is the address that is locked, and the page says so.
    assert "Too many failed attempts from your network" in response.content.decode()
    assert "this account" not in response.content.decode()


def test_when_both_are_locked_the_page_names_the_lock_that_ends_last(
    client: Client, bob: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for name in ("x1", "x2", "x3"):
        log_in(client, name, "wrong")
    LoginFailure.objects.bulk_create(LoginFailure(username="bob") for _ in range(5))

    response = log_in(client, "bob", PASSWORD)

    assert "Too many failed attempts for this account" in response.content.decode()


def test_weak_passwords_are_refused_by_the_validators() -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password("12345678")
    except ValidationError as problem:
        assert any("too common" in message for message in problem.messages)
    else:
        raise AssertionError("a common password was accepted")


def test_a_body_over_the_limit_is_refused_before_anything_reads_it(
    client: Client, bob: Any, project: Any, settings: Any
) -> None:
    settings.REQUEST_MAX_BYTES = 1024
    client.force_login(bob)
    with mock.patch("PIL.Image.open", side_effect=AssertionError("Pillow saw the upload")):
        response = client.post(
            f"/projects/{project.pk}/describe/",
            {"mode": "fast", "image": SimpleUploadedFile("big.png", make_png(size=(600, 600)))},
            headers={"HX-Request": "true"},
        )

    assert response.status_code == 413
    assert "Studio accepts at most" in response.content.decode()


def test_an_api_client_gets_the_size_refusal_as_json(client: Client, settings: Any) -> None:
    settings.REQUEST_MAX_BYTES = 10
    response = client.post("/webhooks/piapi/1/", data="x" * 100, content_type="application/json")

    assert response.status_code == 413
    assert "error" in response.json()
