"""Public, read-only links to a project's gallery or to one image: unguessable,
revocable, optionally expiring."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from studio.generation.models import ResultImage
from studio.projects.models import Project


def new_share_token() -> str:
    return secrets.token_urlsafe(24)


class ShareLinkQuerySet(models.QuerySet["ShareLink"]):
    def live(self) -> "ShareLinkQuerySet":
        """Links that still open: not revoked, not expired."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ShareLink(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="share_links")
    # Empty: the whole project gallery; else this one image only.
    image = models.ForeignKey(
        ResultImage, null=True, blank=True, on_delete=models.CASCADE, related_name="share_links"
    )
    token = models.CharField(max_length=64, unique=True, default=new_share_token)
    label = models.CharField(max_length=100, blank=True)
    show_costs = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="share_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    def __str__(self) -> str:
        what = f"image {self.image_id}" if self.image_id else "gallery"
        return f"share of {self.project} {what}"

    @property
    def is_live(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()
