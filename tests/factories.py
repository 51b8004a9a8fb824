"""Plain factories: keyword-only `make_*` functions."""

import functools
import io
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageOps

from studio.accounts.models import Membership, ProviderKey, Role, Team, User
from studio.billing.models import Budget
from studio.generation.models import Job, ResultImage
from studio.projects.models import Project
from studio.providers.legnext import action_names

PASSWORD = "correct-horse-battery"


def make_user(*, username: str, password: str = PASSWORD) -> User:
    return User.objects.create_user(username=username, password=password)


def make_team(
    *,
    name: str,
    api_key: str = "sandbox-test-key",
    budget: Decimal | None = Decimal("100"),
    concurrency_limit: int = 3,
) -> Team:
    """A team with a provider key and, unless `budget` is None, a monthly budget."""
    team = Team.objects.create(name=name, concurrency_limit=concurrency_limit)
    if budget is not None:
        Budget.objects.create(team=team, amount=budget)
    if api_key:
        make_key(team=team, api_key=api_key, label="Default")
    return team


def make_key(
    *,
    team: Team,
    provider: str = "piapi",
    api_key: str = "sandbox-test-key",
    label: str = "",
    position: int | None = None,
) -> ProviderKey:
    """A provider key, after the team's other keys unless `position` says otherwise."""
    if position is None:
        position = team.provider_keys.count()
    key = ProviderKey(team=team, provider=provider, label=label or provider, position=position)
    key.set_key(api_key)
    key.save()
    return key


def make_membership(*, team: Team, user: User, role: str = Role.MEMBER) -> Membership:
    return Membership.objects.create(team=team, user=user, role=role)


def make_project(*, team: Team, name: str = "Campaign") -> Project:
    return Project.objects.create(team=team, name=name)


def make_job(*, project: Project, user: User, **fields: Any) -> Job:
    fields.setdefault("operation", "imagine")
    fields.setdefault("prompt", "a lighthouse at dusk")
    job = Job.objects.create(project=project, created_by=user, **fields)
    if job.last_event_at is None:
        Job.objects.filter(pk=job.pk).update(last_event_at=job.created_at)
        job.last_event_at = job.created_at
    return job


def make_result_image(*, project: Project, user: User, color: str = "#2a9d8f") -> ResultImage:
    """The grid of a completed imagine in the project, stored like a real result."""
    job = make_job(project=project, user=user, status="completed")
    result = ResultImage(job=job, index=ResultImage.GRID, width=512, height=512)
    result.file.save(f"grid-{job.pk}.png", ContentFile(make_png(color=color)), save=False)
    result.thumbnail.save(f"grid-{job.pk}.webp", ContentFile(make_png(color=color)), save=False)
    result.save()
    return result


def make_png(*, size: tuple[int, int] = (512, 512), color: str = "#5b5bd6") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


# What LegNext's `available_actions` says of a fresh v7 grid: every image, every kind.
LEGNEXT_AVAILABLE = {
    kind: [0, 1, 2, 3] for kind in ("upscale", "variation", "remix", "pan", "outpaint", "inpaint")
} | {"reroll": True}


def make_legnext_grid(
    *,
    project: Project,
    user: User,
    made_at: datetime | None = None,
    available: dict[str, Any] | None = None,
    seed: str = "123",
    files: bool = False,
    **fields: Any,
) -> Job:
    """A completed LegNext grid (made `made_at`, default now) with its whole grid and its
    four images stored, as the worker leaves them. `files`: real PNGs (a browser loads
    them), else names only."""
    fields.setdefault("status", "completed")
    fields.setdefault("provider_task_id", "legnext-grid-job")
    job = make_job(
        project=project,
        user=user,
        provider="legnext",
        output={"actions": action_names(available or LEGNEXT_AVAILABLE), "seed": seed},
        **fields,
    )
    if made_at is not None:
        Job.objects.filter(pk=job.pk).update(created_at=made_at, submitted_at=made_at)
        job.refresh_from_db()
    quadrants = [make_art(palette) for palette in ART_PALETTES]
    grid = Image.new("RGB", (512, 512))
    for index, art in enumerate(quadrants):
        grid.paste(art, ((index % 2) * 256, (index // 2) * 256))
    for index, picture in enumerate([grid, *quadrants]):
        image = ResultImage(job=job, index=index, width=picture.width, height=picture.height)
        name = f"job-{job.pk}-{index}"
        if files:
            buffer = io.BytesIO()
            picture.save(buffer, "PNG")
            png = buffer.getvalue()
            image.file.save(f"{name}.png", ContentFile(png), save=False)
            image.thumbnail.save(f"{name}.webp", ContentFile(png), save=False)
        else:
            image.file.name = f"results/{name}.png"
            image.thumbnail.name = f"thumbnails/{name}.webp"
        image.save()
    return job


# Dusk skies for the four images of a test grid: (sky top, sky bottom, sun, land).
ART_PALETTES = [
    ("#1d2b64", "#f8cdda", "#ffd27f", "#232946"),
    ("#0f2027", "#2c5364", "#f6f5ae", "#10151c"),
    ("#42275a", "#f4a261", "#fff1c1", "#2b1b33"),
    ("#134e5e", "#a8e6cf", "#fefae0", "#0b2e36"),
]


def make_art(palette: tuple[str, str, str, str], size: int = 256) -> Image.Image:
    """A small picture (a sky, a sun, a hill) so that screenshots show images, not blocks."""
    top, bottom, sun, land = palette
    sky = ImageOps.colorize(Image.linear_gradient("L").resize((size, size)), top, bottom)
    draw = ImageDraw.Draw(sky)
    draw.ellipse((size * 0.55, size * 0.3, size * 0.8, size * 0.55), fill=sun)
    draw.ellipse((-size * 0.3, size * 0.62, size * 1.1, size * 1.5), fill=land)
    return sky.convert("RGB")


@functools.cache
def make_mp4(*, width: int = 320, height: int = 180, seconds: int = 3) -> bytes:
    """A small H.264 MP4 of a moving gradient (every frame differs), made once per size."""
    from tests.media.clips import gradient_clip

    with tempfile.TemporaryDirectory() as folder:
        path = gradient_clip(Path(folder) / "clip.mp4", width=width, height=height, seconds=seconds)
        return path.read_bytes()


def make_clip_job(
    *, project: Project, user: User, prompt: str = "waves rolling in", **fields: Any
) -> Job:
    """A completed Animate job and its four clips, each stored as the worker stores one
    (the mp4, a poster frame, a small preview)."""
    from studio.generation.services import _store_clip

    fields.setdefault("operation", "animate")
    fields.setdefault("provider", "legnext")
    fields.setdefault("status", "completed")
    fields.setdefault("aspect_ratio", "16:9")
    job = make_job(project=project, user=user, prompt=prompt, **fields)
    for index in range(1, 5):
        _store_clip(job, index, make_mp4())
    return job


def make_rgba_png(*, size: tuple[int, int] = (256, 256)) -> bytes:
    """A cut-out: a disc on a transparent background."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse(
        (size[0] // 6, size[1] // 6, size[0] * 5 // 6, size[1] * 5 // 6), fill=(230, 120, 40, 255)
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def make_cutout_job(
    *, project: Project, user: User, prompt: str = "a teapot, background removed", **fields: Any
) -> Job:
    """A completed Remove background job and its transparent PNG, stored as the worker
    stores a single image."""
    from studio.generation.services import _store_image

    fields.setdefault("operation", "remove_bg")
    fields.setdefault("provider", "legnext")
    fields.setdefault("status", "completed")
    job = make_job(project=project, user=user, prompt=prompt, **fields)
    _store_image(job, ResultImage.GRID, make_rgba_png())
    return job
