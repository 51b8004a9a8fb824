"""Login throttling: after repeated failures, an account (and, separately, an address)
is locked for a while. Kept in the database, so every web process sees it."""

import datetime
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


def locked_until(username: str, address: str | None) -> datetime.datetime | None:
    """When the lock on this username or address ends, if there is one now."""
    window = datetime.timedelta(seconds=settings.LOGIN_LOCK_SECONDS)
    since = timezone.now() - window
    recent = LoginFailure.objects.filter(created_at__gte=since)
    for failures, limit in (
        (recent.filter(username__iexact=username), settings.LOGIN_FAILURES_PER_ACCOUNT),
        (
            recent.filter(ip_address=address) if address else None,
            settings.LOGIN_FAILURES_PER_ADDRESS,
        ),
    ):
        if failures is None:
            continue
        times = list(failures.order_by("-created_at").values_list("created_at", flat=True)[:limit])
        if len(times) >= limit:
            return times[-1] + window
    return None


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
        until = locked_until(username, address)
        if until is not None:
            if request is not None:
                request.login_locked_until = until  # type: ignore[attr-defined]
            raise PermissionDenied("Too many failed logins.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and username:
            LoginFailure.objects.create(username=username[:150], ip_address=address)
        return user
