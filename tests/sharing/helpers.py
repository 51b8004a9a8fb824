"""Factories for share-link tests: finished jobs with real image files, and their charges."""

import datetime
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from studio.billing.models import EntryKind, LedgerEntry
from studio.generation.models import Job, ResultImage, Status
from studio.sharing.models import ShareLink
from tests.factories import make_job, make_png


def make_result(
    *,
    job: Job,
    index: int,
    size: tuple[int, int] = (64, 64),
    archived: bool = False,
    small: bool = True,
) -> ResultImage:
    """A stored result with real PNG/WebP-named files under MEDIA_ROOT."""
    image = ResultImage(job=job, index=index, width=size[0], height=size[1])
    image.file.save(f"job-{job.pk}-{index}.png", ContentFile(make_png(size=size)), save=False)
    image.thumbnail.save(f"job-{job.pk}-{index}.webp", ContentFile(make_png(size=size)), save=False)
    if small:
        image.thumbnail_small.save(
            f"job-{job.pk}-{index}-s.webp", ContentFile(make_png(size=size)), save=False
        )
    if archived:
        image.archived_at = timezone.now()
    image.save()
    return image


def make_grid(
    *, project: Any, user: Any, prompt: str = "a lighthouse at dusk", **fields: Any
) -> Job:
    """A finished imagine: the whole grid (index 0) and its four tiles."""
    job = make_job(project=project, user=user, prompt=prompt, status=Status.COMPLETED, **fields)
    for index in range(5):
        make_result(job=job, index=index)
    return job


def make_upscale(*, project: Any, user: Any, prompt: str = "a lighthouse, upscaled") -> Job:
    job = make_job(
        project=project, user=user, prompt=prompt, status=Status.COMPLETED, operation="upscale"
    )
    make_result(job=job, index=0)
    return job


def charge(job: Job, amount: str) -> LedgerEntry:
    return LedgerEntry.objects.create(
        team=job.project.team,
        user=job.created_by,
        project=job.project,
        job=job,
        kind=EntryKind.CHARGE,
        mode=job.process_mode,
        operation=job.operation,
        amount=Decimal(amount),
        month=timezone.now().date().replace(day=1),
    )


def make_share(*, project: Any, user: Any, **fields: Any) -> ShareLink:
    return ShareLink.objects.create(project=project, created_by=user, **fields)


def in_the_past(**delta: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)
