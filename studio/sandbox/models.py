"""What the sandbox stores. A task's state is not stored: it is a function of the clock
(see timeline.py), so every web process and the webhook thread agree on it."""

import hashlib
import uuid

from django.db import models


def hash_api_key(api_key: str) -> str:
    # Only a hash is kept: the sandbox needs to tell keys apart, never to show one.
    return hashlib.sha256(api_key.encode()).hexdigest()


class TaskStatus(models.TextChoices):
    # Lowercase on the wire, although PiAPI's docs print them capitalised.
    PENDING = "pending", "Pending"
    STAGED = "staged", "Staged"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class TaskQuerySet(models.QuerySet["Task"]):
    def for_api_key(self, api_key: str) -> "TaskQuerySet":
        """Tasks created with this x-api-key; another key sees none of them."""
        return self.filter(api_key_hash=hash_api_key(api_key))


class Task(models.Model):
    task_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    api_key_hash = models.CharField(max_length=64, db_index=True)
    model = models.CharField(max_length=40)
    task_type = models.CharField(max_length=20)
    input = models.JSONField()
    config = models.JSONField()
    behaviours = models.JSONField(default=list)
    # Seconds per timeline step, fixed at creation (SANDBOX_STEP_SECONDS, times the
    # slow factor) so that a settings change never rewrites a running task's history.
    step_seconds = models.FloatField()
    # Scheme and host the client called, e.g. "http://127.0.0.1:8000": image URLs in
    # webhooks sent later by a thread (which has no request) are built on it.
    base_url = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.task_type} {self.task_id}"

    @property
    def webhook_endpoint(self) -> str:
        webhook_config = self.config.get("webhook_config") or {}
        return str(webhook_config.get("endpoint") or "")

    @property
    def webhook_secret(self) -> str:
        webhook_config = self.config.get("webhook_config") or {}
        return str(webhook_config.get("secret") or "")


class FiredOnceMarker(models.Model):
    """A ``-once`` behaviour that has already fired for one prompt."""

    fingerprint = models.CharField(max_length=64, unique=True)
    behaviour = models.CharField(max_length=40)
    fired_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.behaviour} {self.fingerprint[:12]}"
