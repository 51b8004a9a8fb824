import secrets
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from studio.accounts.models import User
from studio.generation.models import FINISHED_STATUSES
from studio.inputs.validation import CONTENT_TYPES, EXTENSIONS
from studio.projects.models import Project

# How long after its last job finished (or, unused, after its upload) an input image's
# public URL keeps answering: the provider fetches inputs when a task starts, and a
# follow-up of a finished job may make it fetch them again.
PUBLIC_URL_GRACE = timedelta(days=1)


def new_token() -> str:
    """The key to an input image's public URL: the provider fetches it without logging in.

    Without "-": the URL goes into prompts, where "--" starts a flag and a link holding
    one is refused (see studio/generation/prompting.py)."""
    return secrets.token_urlsafe(24).replace("-", "_")


class ImageFormat(models.TextChoices):
    JPEG = "JPEG", "JPEG"
    PNG = "PNG", "PNG"
    GIF = "GIF", "GIF"
    WEBP = "WEBP", "WebP"


class InputImageQuerySet(models.QuerySet["InputImage"]):
    def for_project(self, project: Project) -> "InputImageQuerySet":
        """The project's input images, newest first."""
        return self.filter(project=project).order_by("-created_at")

    def publicly_served(self) -> "InputImageQuerySet":
        """Images whose public URL still answers, because the provider may still fetch
        them: while no job uses the image yet and it was uploaded less than
        PUBLIC_URL_GRACE ago (the member is composing), or while a job that uses it is
        unfinished or finished less than PUBLIC_URL_GRACE ago. One query, with the jobs
        in subqueries."""
        since = timezone.now() - PUBLIC_URL_GRACE
        uses = self.model.jobs.through.objects.filter(inputimage=OuterRef("pk"))
        # Any status that is not an end counts as unfinished, so new ones keep URLs alive.
        live_uses = uses.filter(
            ~Q(job__status__in=FINISHED_STATUSES) | Q(job__finished_at__gte=since)
        )
        return self.filter(Exists(live_uses) | (~Exists(uses) & Q(created_at__gte=since)))


class InputImage(models.Model):
    """An image a user gave Studio (an upload or a link) for describe, blend, --sref,
    --cref or an image prompt. The file holds the original bytes, untouched."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="input_images")
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="input_images")
    file = models.ImageField(upload_to="inputs/%Y/%m/")
    thumbnail = models.ImageField(upload_to="inputs/thumbnails/%Y/%m/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=4, choices=ImageFormat.choices)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    source_url = models.URLField(max_length=2048, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InputImageQuerySet.as_manager()

    class Meta:
        constraints = [
            # The same bytes in the same project are one input image, not copies.
            models.UniqueConstraint(
                fields=["project", "sha256"], name="input_image_unique_bytes_in_project"
            )
        ]

    def __str__(self) -> str:
        return self.original_name or self.public_filename

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def public_filename(self) -> str:
        """A URL-safe name from the original one, with the extension of the real format
        (the provider, like many fetchers, trusts a link's extension)."""
        stem = PurePosixPath(self.original_name.replace("\\", "/")).stem
        return f"{slugify(stem)[:60].strip('-_') or 'image'}.{EXTENSIONS[self.format]}"

    def public_path(self) -> str:
        return reverse("inputs:public", kwargs={"token": self.token, "name": self.public_filename})

    def public_url(self) -> str:
        """Where the provider fetches the image: Studio's public address and the token."""
        return settings.STUDIO_PUBLIC_URL + self.public_path()

    def image_path(self) -> str:
        """The original for Studio's own pages (members of the project only); it lasts as
        long as the image, unlike the public URL."""
        return reverse("inputs:image", kwargs={"input_id": self.pk})

    def thumbnail_path(self) -> str:
        return reverse("inputs:thumbnail", kwargs={"input_id": self.pk})

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "url": self.public_url(),
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "thumb": self.thumbnail_path(),
        }
