"""Forwarded headers against the Procfile's web process: a client cannot escape the
address lock (or lock someone else's address) with X-Forwarded-For, nor pass for HTTPS
with X-Forwarded-Proto; behind a trusted proxy, each client's own address is locked."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from django.conf import settings

from studio.security.models import LoginFailure
from tests.conftest import stop_server
from tests.factories import PASSWORD
from tests.security.procfile import start_procfile_web

ADDRESS_LOCKED = "Too many failed attempts from your network"


@pytest.fixture
def untrusting_web(alone: None, tmp_path: Path) -> Iterator[str]:
    process, url = start_procfile_web(media_root=tmp_path, STUDIO_TRUSTED_PROXIES="")
    yield url
    stop_server(process)


@pytest.fixture
def web_behind_proxy(alone: None, tmp_path: Path) -> Iterator[str]:
    """The web process with this machine (the tests) as its trusted load balancer."""
    process, url = start_procfile_web(media_root=tmp_path, STUDIO_TRUSTED_PROXIES="127.0.0.1")
    yield url
    stop_server(process)


def log_in(url: str, username: str, password: str, *, forwarded_for: str) -> requests.Response:
    session = requests.Session()
    session.get(f"{url}/accounts/login/", timeout=10)
    return session.post(
        f"{url}/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{url}/accounts/login/", "X-Forwarded-For": forwarded_for},
        allow_redirects=False,
        timeout=10,
    )


def test_rotating_x_forwarded_for_does_not_escape_the_address_lock(
    untrusting_web: str, bob: Any
) -> None:
    limit = settings.LOGIN_FAILURES_PER_ADDRESS
    for attempt in range(limit + 1):
        response = log_in(
            untrusting_web, f"guess{attempt}", "wrong", forwarded_for=f"203.0.113.{attempt}"
        )
        assert response.status_code == 200

    assert ADDRESS_LOCKED in response.text
    assert set(LoginFailure.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}
    # bob, from the same machine, with his right password and yet another claim.
    blocked = log_in(untrusting_web, "bob", PASSWORD, forwarded_for="198.51.100.7")
    assert blocked.status_code == 200 and ADDRESS_LOCKED in blocked.text


def test_behind_a_trusted_proxy_each_client_address_is_locked_on_its_own(
    web_behind_proxy: str, bob: Any, alice: Any
) -> None:
    limit = settings.LOGIN_FAILURES_PER_ADDRESS
    for attempt in range(limit):
        # What a load balancer sends: whatever the client claimed, then what it saw.
        log_in(
            web_behind_proxy,
            f"guess{attempt}",
            "wrong",
            forwarded_for=f"10.9.9.{attempt}, 203.0.113.7",
        )

    locked = log_in(web_behind_proxy, "bob", PASSWORD, forwarded_for="203.0.113.7")
    claimed = log_in(web_behind_proxy, "bob", PASSWORD, forwarded_for="198.51.100.9, 203.0.113.7")
    elsewhere = log_in(web_behind_proxy, "alice", PASSWORD, forwarded_for="198.51.100.9")

    assert set(LoginFailure.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    assert locked.status_code == 200 and ADDRESS_LOCKED in locked.text
    assert claimed.status_code == 200 and ADDRESS_LOCKED in claimed.text
    assert elsewhere.status_code == 302, "a client at another address was locked too"


@pytest.mark.parametrize(("trusted", "secure"), [("", False), ("127.0.0.1", True)])
def test_only_a_trusted_proxy_can_say_the_client_used_https(
    alone: None, tmp_path: Path, trusted: str, secure: bool
) -> None:
    process, url = start_procfile_web(
        media_root=tmp_path,
        DEBUG="0",
        SECRET_KEY="s" * 20 + "-a-real-looking-secret-key-for-this-test-0123456789",
        STUDIO_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        SANDBOX_ENABLED="0",
        ALLOWED_HOSTS="127.0.0.1",
        STUDIO_TRUSTED_PROXIES=trusted,
    )
    try:
        # A page that needs no templates (the production build's static files are not
        # collected here): logging out is POST only.
        response = requests.get(
            f"{url}/accounts/logout/",
            headers={"X-Forwarded-Proto": "https"},
            allow_redirects=False,
            timeout=10,
        )
    finally:
        stop_server(process)

    if secure:  # the view was reached over "HTTPS", and only allows POST
        assert response.status_code == 405
    else:  # plain HTTP, however it dresses up: sent to HTTPS
        assert response.status_code == 301
        assert response.headers["Location"].startswith("https://")
