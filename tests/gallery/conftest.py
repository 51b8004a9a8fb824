"""Gallery images made quickly: rows with file names only (a page never opens a file),
or with real PNG files when a test reads them back (downloads, the browser)."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from studio.generation.models import Job, ResultImage, Status
from tests.factories import make_job, make_png

GRID_ACTIONS = [
    "upscale1",
    "upscale2",
    "upscale3",
    "upscale4",
    "variation1",
    "variation2",
    "variation3",
    "variation4",
    "reroll",
]
UPSCALE_ACTIONS = ["high_variation", "low_variation", "outpaint_2x", "pan_left", "inpaint"]


def make_image(
    *,
    job: Job,
    index: int,
    png: bytes | None = None,
    created_at: datetime | None = None,
    size: tuple[int, int] = (512, 512),
) -> ResultImage:
    image = ResultImage(job=job, index=index, width=size[0], height=size[1])
    name = f"job-{job.pk}-{index}"
    if png is None:
        image.file.name = f"results/{name}.png"
        image.thumbnail.name = f"thumbnails/{name}.webp"
    else:
        image.file.save(f"{name}.png", ContentFile(png), save=False)
        image.thumbnail.save(f"{name}.webp", ContentFile(png), save=False)
        image.thumbnail_small.save(f"{name}-s.webp", ContentFile(png), save=False)
    image.save()
    if created_at is not None:
        ResultImage.objects.filter(pk=image.pk).update(created_at=created_at)
        image.created_at = created_at
    return image


def make_grid(
    *,
    project: Any,
    user: Any,
    prompt: str = "a lighthouse at dusk",
    files: bool = False,
    at: datetime | None = None,
    **job_fields: Any,
) -> list[ResultImage]:
    """A completed imagine (or other grid job) and its four tiles, oldest first; the
    whole grid (index 0) is stored too, as the worker does, but is not a gallery image."""
    job_fields.setdefault("status", Status.COMPLETED)
    job_fields.setdefault("output", {"actions": GRID_ACTIONS})
    job = make_job(project=project, user=user, prompt=prompt, **job_fields)
    make_image(job=job, index=0, created_at=at)
    return [
        make_image(
            job=job,
            index=index,
            png=make_png(size=(64, 64), color=f"#{index * 40:02x}3366") if files else None,
            created_at=at + timedelta(milliseconds=index) if at else None,
        )
        for index in range(1, 5)
    ]


def make_upscale(
    *, parent: Job, user: Any, index: int = 1, files: bool = False, at: datetime | None = None
) -> ResultImage:
    job = make_job(
        project=parent.project,
        user=user,
        prompt=parent.prompt,
        operation="upscale",
        parent=parent,
        root=parent.root or parent,
        parameters={"index": str(index)},
        status=Status.COMPLETED,
        output={"actions": UPSCALE_ACTIONS},
        process_mode=parent.process_mode,
    )
    return make_image(
        job=job, index=0, png=make_png(size=(128, 128)) if files else None, created_at=at
    )


def make_many(*, project: Any, user: Any, count: int, prompt: str = "bulk") -> None:
    """`count` gallery tiles in one go (a job per four), for pages of any length."""
    jobs = Job.objects.bulk_create(
        [
            Job(project=project, created_by=user, operation="imagine", prompt=f"{prompt} {n}")
            for n in range((count + 3) // 4)
        ]
    )
    start = timezone.now() - timedelta(days=1)
    images = [
        ResultImage(
            job=job,
            project=project,
            index=index,
            file=f"results/{job.pk}-{index}.png",
            thumbnail=f"thumbnails/{job.pk}-{index}.webp",
            width=512,
            height=512,
        )
        for job in jobs
        for index in range(1, 5)
    ][:count]
    created = ResultImage.objects.bulk_create(images)
    for n, image in enumerate(created):
        image.created_at = start + timedelta(seconds=n)
    ResultImage.objects.bulk_update(created, ["created_at"], batch_size=500)


@pytest.fixture
def login(client: Client) -> Callable[[Any], Client]:
    def log_in(user: Any) -> Client:
        client.force_login(user)
        return client

    return log_in


def gallery_url(project: Any, query: str = "") -> str:
    return f"/projects/{project.pk}/gallery/{query}"


HX = {"HX-Request": "true"}
