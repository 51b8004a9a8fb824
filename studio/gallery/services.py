"""What members do with a gallery: favourite, tag, archive, download."""

import csv
import io
import zipfile
from collections.abc import Iterable
from typing import IO

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from studio.accounts.models import User
from studio.billing.reports import csv_safe
from studio.gallery.models import Favourite, ImageTag, Tag
from studio.gallery.queries import GALLERY_KINDS
from studio.generation import files
from studio.generation.models import ResultImage, ResultImageQuerySet
from studio.projects.models import Project

SLUG_LENGTH = 60
MANIFEST_COLUMNS = [
    "file",
    "image_id",
    "job_id",
    "index",
    "operation",
    "prompt",
    "aspect_ratio",
    "mode",
    "made_by",
    "made_at",
    "width",
    "height",
    "seconds",  # a clip's length; empty for a still
]


def images_of(*, project: Project, ids: Iterable[int]) -> ResultImageQuerySet:
    """The gallery images (tiles and upscales, archived or not) of `project` among `ids`;
    ids of anything else are left out."""
    return ResultImage.objects.filter(GALLERY_KINDS, project=project, pk__in=list(ids))


def favourites_set(*, user: User, images: Iterable[ResultImage], favourite: bool) -> None:
    """Make `images` the user's favourites, or not; doing it twice changes nothing."""
    ids = [image.pk for image in images]
    if favourite:
        Favourite.objects.bulk_create(
            [Favourite(user=user, image_id=pk) for pk in ids], ignore_conflicts=True
        )
    else:
        Favourite.objects.filter(user=user, image_id__in=ids).delete()


def tag_for_name(*, project: Project, name: str) -> tuple[Tag, bool]:
    """The project's tag called `name` (whatever its case), made if there is none; and
    whether it was made."""
    existing = _named(project, name)
    tag = existing.first()
    if tag is not None:
        return tag, False
    try:
        with transaction.atomic():
            return Tag.objects.create(project=project, name=name), True
    except IntegrityError:
        # Someone made it (in some case) a moment ago: use theirs.
        return existing.get(), False


def tag_named(*, project: Project, name: str) -> Tag | None:
    """The project's tag called `name`, whatever its case, if there is one."""
    return _named(project, name).first()


def _named(project: Project, name: str) -> QuerySet[Tag]:
    return Tag.objects.annotate(lower=Lower("name")).filter(project=project, lower=name.lower())


def tags_add(*, tag: Tag, images: Iterable[ResultImage], user: User) -> None:
    ImageTag.objects.bulk_create(
        [ImageTag(tag=tag, image=image, added_by=user) for image in images],
        ignore_conflicts=True,
    )


def tags_remove(*, tag: Tag, images: Iterable[ResultImage]) -> None:
    ImageTag.objects.filter(tag=tag, image__in=[image.pk for image in images]).delete()


def images_archive(*, images: Iterable[ResultImage]) -> int:
    """Hide images from the gallery (the files are kept); returns how many were hidden."""
    ids = [image.pk for image in images]
    return ResultImage.objects.filter(pk__in=ids, archived_at__isnull=True).update(
        archived_at=timezone.now()
    )


def images_restore(*, images: Iterable[ResultImage]) -> int:
    ids = [image.pk for image in images]
    return ResultImage.objects.filter(pk__in=ids, archived_at__isnull=False).update(
        archived_at=None
    )


def zip_name(image: ResultImage) -> str:
    """`<job>-<index>-<prompt-slug>.<ext>`, e.g. `12-3-a-lighthouse-at-dusk.png`; a clip
    is its `.mp4`, a cut-out its `.png`."""
    slug = slugify(image.job.prompt)[:SLUG_LENGTH].strip("-") or "image"
    return f"{image.job_id}-{image.index}-{slug}{image.download_extension}"


def zip_write(*, images: Iterable[ResultImage], into: IO[bytes]) -> None:
    """Write a ZIP of the images' full-resolution files (a clip's video) and a
    `prompts.csv` manifest.

    The files are stored, not deflated (PNG, WebP and MP4 are compressed already), and
    copied in chunks, so memory stays small whatever their size.
    """
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(MANIFEST_COLUMNS)
    with zipfile.ZipFile(into, "w", compression=zipfile.ZIP_STORED) as archive:
        for image in images:
            name = zip_name(image)
            with files.full_file(image) as source, archive.open(name, "w") as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
            job = image.job
            writer.writerow(
                [
                    csv_safe(value)
                    for value in (
                        name,
                        image.pk,
                        job.pk,
                        image.index,
                        job.operation,
                        job.prompt,
                        job.aspect_ratio,
                        job.process_mode,
                        job.created_by.display_name,
                        image.created_at.isoformat(),
                        image.width,
                        image.height,
                        f"{image.duration:.2f}" if image.duration else "",
                    )
                ]
            )
        archive.writestr("prompts.csv", manifest.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
