"""Studio's own PiAPI-compatible API: personal access tokens, the tasks made through
them, and the webhooks Studio sends to the callers' endpoints."""

import hashlib
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from studio.accounts.models import Team
from studio.generation.models import Job
from studio.projects.models import Project

# What every token starts with: a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "studio_"  # noqa: S105 (a prefix, not a secret)


def new_token() -> str:
    """A token as shown once to its owner: 256 random bits after the prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What Studio stores instead of the token. A token carries 256 random bits, so a
    plain SHA-256 is as safe as a slow password hash (nothing to guess) and lets every
    request find its token with one indexed lookup."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> "ApiTokenQuerySet":
        """Neither revoked nor expired."""
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )


class ApiToken(models.Model):
    """A personal access token: one member, one project, sent as `x-api-key`."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    # The token's first characters, to tell tokens apart ("studio_Ab3x…").
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_address = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Limits an admin sets: requests a minute, and jobs at the provider at once (inside
    # the team's concurrency limit; empty = only the team's limit).
    requests_per_minute = models.PositiveIntegerField(default=60)
    max_running = models.PositiveSmallIntegerField(null=True, blank=True)
    # The current rate-limit window (fixed, one minute), counted on the token's row.
    window_started_at = models.DateTimeField(null=True, blank=True)
    window_requests = models.PositiveIntegerField(default=0)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired

    @property
    def state(self) -> str:
        if self.is_revoked:
            return "Revoked"
        if self.is_expired:
            return "Expired"
        return "Active"


class ApiTokenAddress(models.Model):
    """An address a token was used from: the first use from each is audited."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="addresses")
    address = models.GenericIPAddressField()
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(fields=["token", "address"], name="one_row_per_token_address")
        ]

    def __str__(self) -> str:
        return f"{self.address} for {self.token}"


class ApiTask(models.Model):
    """A job made through the API: its PiAPI task id, and what the caller asked."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="api_task")
    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="tasks")
    task_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # As the caller named it (PiAPI's task types).
    task_type = models.CharField(max_length=16)
    # The normalised `input`, echoed back in the task object.
    request_input = models.JSONField(default=dict, blank=True)
    service_mode = models.CharField(max_length=16, blank=True)
    webhook_endpoint = models.URLField(max_length=2048, blank=True)
    # The caller's webhook secret, encrypted (Studio must send it back to them).
    webhook_secret = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.task_id)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Sending"
    DELIVERED = "delivered", "Delivered"
    # Never sent (again): a newer state of the task went out first, and a receiver must
    # not see the task move backwards.
    SUPERSEDED = "superseded", "Skipped: a newer state went first"
    FAILED = "failed", "Gave up"


class OutgoingWebhook(models.Model):
    """One POST of a task's state to the caller's endpoint, retried with backoff."""

    api_task = models.ForeignKey(ApiTask, on_delete=models.CASCADE, related_name="deliveries")
    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="deliveries")
    # The task object at the change (without the webhook secret, added when sent).
    payload: Any = models.JSONField(default=dict)
    task_status = models.CharField(max_length=12)
    progress = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set while a worker sends it: the task's other deliveries wait, so that they reach
    # the caller in order. A lease, so that a worker that died frees it by itself.
    sending_until = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["token", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.task_status} of {self.api_task} ({self.get_status_display()})"
