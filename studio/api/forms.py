"""The forms of the API's pages: a member's new token, and an admin's limits for one."""

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from studio.accounts.models import Role, Team, User
from studio.projects.models import Project

REQUESTS_PER_MINUTE_MAX = 6000


def projects_for_tokens(user: User) -> QuerySet[Project]:
    """The projects `user` may make a token for: those of the teams where they generate."""
    return (
        Project.objects.filter(
            team__memberships__user=user, team__memberships__role__in=[Role.ADMIN, Role.MEMBER]
        )
        .select_related("team")
        .order_by("team__name", "name")
    )


class ProjectChoiceField(forms.ModelChoiceField[Project]):
    def label_from_instance(self, obj: Project) -> str:
        return obj.name


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        strip=True,
        error_messages={
            "required": "Give the token a name, so you know later where it is used.",
            "max_length": "At most 80 characters.",
        },
    )
    project = ProjectChoiceField(
        queryset=Project.objects.none(),
        empty_label=None,
        error_messages={
            "required": "Choose the project the token’s jobs go to.",
            "invalid_choice": "Choose one of your projects: that one is not yours to spend in.",
        },
    )
    expires = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date like 2026-12-31, or leave it empty."},
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects_for_tokens(user)  # type: ignore[attr-defined]

    @property
    def project_groups(self) -> list[tuple[Team, list[Project]]]:
        """The choices by team, for a select with a group per team."""
        groups: dict[int, tuple[Team, list[Project]]] = {}
        for project in self.fields["project"].queryset:  # type: ignore[attr-defined]
            groups.setdefault(project.team_id, (project.team, []))[1].append(project)
        return list(groups.values())

    @property
    def chosen_project(self) -> str:
        return str(self["project"].value() or "")

    def clean_expires(self) -> datetime.date | None:
        day: datetime.date | None = self.cleaned_data["expires"]
        if day is not None and day < timezone.now().date():
            raise ValidationError("That day has passed; choose a later one, or none.")
        return day

    @property
    def expires_at(self) -> datetime.datetime | None:
        """The token works through the chosen day (UTC), and stops at its end."""
        day = self.cleaned_data.get("expires")
        if day is None:
            return None
        return datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
        )


class TokenLimitsForm(forms.Form):
    requests_per_minute = forms.IntegerField(
        min_value=1,
        max_value=REQUESTS_PER_MINUTE_MAX,
        error_messages={
            "required": "Enter how many requests a minute the token may make.",
            "invalid": "Enter a whole number of requests a minute.",
            "min_value": "At least 1 request a minute; revoke the token to stop it.",
            "max_value": f"At most {REQUESTS_PER_MINUTE_MAX:,} requests a minute.",
        },
    )
    max_running = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={
            "invalid": "Enter a whole number of jobs, or leave it empty for the team’s limit.",
            "min_value": "At least 1 job at once; leave it empty for the team’s limit.",
        },
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_max_running(self) -> int | None:
        value: int | None = self.cleaned_data["max_running"]
        if value is not None and value > self.team.concurrency_limit:
            raise ValidationError(
                f"At most {self.team.concurrency_limit}: the team runs "
                f"{self.team.concurrency_limit} jobs at once in all."
            )
        return value
