"""`manage.py create_token`: a personal access token for a script or a deployment,
printed alone on the last line so that a shell can keep it (`| tail -n 1`)."""

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils import timezone

from studio.accounts.models import Team, User
from studio.api.services import TokenRefused, token_create
from studio.projects.models import Project


def user_named(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user is named “{username}”.")
    if not user.is_active:
        raise CommandError(f"{username} is deactivated: a token of theirs would be refused.")
    return user


def by_name_or_id[Row: (Team, Project)](rows: QuerySet[Row], value: str) -> list[Row]:
    """The rows named `value`, else the one whose id it is."""
    named = list(rows.filter(name=value))
    if named or not value.isdigit():
        return named
    return list(rows.filter(pk=int(value)))


def team_named(value: str) -> Team:
    found = by_name_or_id(Team.objects.all(), value)
    if not found:
        raise CommandError(f"No team is named “{value}” or has that id.")
    return found[0]  # team names are unique


def project_named(value: str, *, team: Team | None) -> Project:
    projects = Project.objects.select_related("team").order_by("team__name")
    found = by_name_or_id(projects.filter(team=team) if team else projects, value)
    if not found:
        where = f" in {team.name}" if team else ""
        raise CommandError(f"No project{where} is named “{value}” or has that id.")
    if len(found) > 1:
        teams = ", ".join(project.team.name for project in found)
        raise CommandError(
            f"Several teams have a project named “{value}” ({teams}): say which with --team."
        )
    return found[0]


def expiry(value: str | datetime.date | None) -> datetime.datetime | None:
    """The end of the given day (the token works through it), in Studio's time zone."""
    if not value:
        return None
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--expires takes a date as YYYY-MM-DD, not “{value}”.") from None
    day_after = datetime.datetime.combine(value + datetime.timedelta(days=1), datetime.time.min)
    return timezone.make_aware(day_after)


class Command(BaseCommand):
    help = (
        "Create a personal access token for USER in PROJECT (a name or an id; add --team "
        "when several teams have a project of that name) and print it alone on the last "
        "line. It is shown once: Studio keeps only its hash."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The member's username.")
        parser.add_argument("--project", required=True, help="The project's name or id.")
        parser.add_argument("--name", required=True, help="Where the token is used.")
        parser.add_argument("--team", default="", help="The project's team, by name or id.")
        parser.add_argument(
            "--expires", default="", help="The last day it works, as YYYY-MM-DD (default: never)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_named(options["user"])
        team = team_named(options["team"]) if options["team"] else None
        project = project_named(str(options["project"]), team=team)
        expires_at = expiry(options["expires"])
        try:
            made = token_create(
                user=user, project=project, name=options["name"], expires_at=expires_at
            )
        except TokenRefused as refused:
            raise CommandError(str(refused)) from None
        until = f", until {expires_at:%Y-%m-%d %H:%M %Z}" if expires_at else ""
        self.stdout.write(
            f"Created the token “{made.token.name}” for {user.username} in "
            f"{project.team.name} / {project.name}{until}. Keep it now; it is not shown again:"
        )
        self.stdout.write(made.secret)
