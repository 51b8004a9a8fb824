"""Plain factories: keyword-only `make_*` functions."""

import io
from decimal import Decimal
from typing import Any

from PIL import Image

from studio.accounts.models import Membership, ProviderKey, Role, Team, User
from studio.billing.models import Budget
from studio.generation.models import Job
from studio.projects.models import Project

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
        key = ProviderKey(team=team, label="Default")
        key.set_key(api_key)
        key.save()
    return team


def make_provider_key(
    *, team: Team, provider: str, label: str = "", api_key: str = "sandbox-test-key"
) -> ProviderKey:
    """Another key for the team, after its others (so it is tried after them)."""
    key = ProviderKey(
        team=team,
        provider=provider,
        label=label or provider.title(),
        position=team.provider_keys.count(),
    )
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


def make_png(*, size: tuple[int, int] = (512, 512), color: str = "#5b5bd6") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()
