"""Login throttling: after repeated failures, an account (and, separately, an address)
is locked for a while. Kept in the database, so every web process sees it.

The address is REMOTE_ADDR: the connection's peer, or the client a trusted proxy names
(studio/security/proxies.py), never an X-Forwarded-For that anyone could send."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone

from studio.security.models import LoginFailure


def client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True)
class LoginLock:
    until: datetime.datetime
    # The address's lock (too many failures from one network, whoever they tried to log in
    # as), rather than the account's.
    of_address: bool


def login_lock(username: str, address: str | None) -> LoginLock | None:
    """The lock on this username or this address now, if there is one; when both are
    locked, the one that ends last (only then can this login work again)."""
    window = datetime.timedelta(seconds=settings.LOGIN_LOCK_SECONDS)
    since = timezone.now() - window
    recent = LoginFailure.objects.filter(created_at__gte=since)
    locks = []
    for failures, limit, of_address in (
        (recent.filter(username__iexact=username), settings.LOGIN_FAILURES_PER_ACCOUNT, False),
        (
            recent.filter(ip_address=address) if address else None,
            settings.LOGIN_FAILURES_PER_ADDRESS,
            True,
        ),
    ):
        if failures is None:
            continue
        times = list(failures.order_by("-created_at").values_list("created_at", flat=True)[:limit])
        if len(times) >= limit:
            locks.append(LoginLock(until=times[-1] + window, of_address=of_address))
    return max(locks, key=lambda lock: lock.until, default=None)


class ThrottledModelBackend(ModelBackend):
    """Django's own backend, refusing to even check a password while locked out."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        username = username or kwargs.get("username") or ""
        address = client_address(request)
        lock = login_lock(username, address)
        if lock is not None:
            if request is not None:
                request.login_lock = lock  # type: ignore[attr-defined]
            raise PermissionDenied("Too many failed logins.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and username:
            LoginFailure.objects.create(username=username[:150], ip_address=address)
        return user
