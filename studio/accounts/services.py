"""Setting a team up: used by `manage.py provision` and by the demo."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from studio.accounts.models import Membership, ProviderKey, Role, Team, User
from studio.billing.models import Budget
from studio.projects.models import Project


@dataclass
class ProvisionReport:
    done: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.done.append(line)


def team_provision(
    *,
    team_name: str,
    project_name: str = "",
    username: str = "",
    password: str = "",
    role: str = Role.MEMBER,
    piapi_key: str = "",
    budget: Decimal | None = None,
) -> ProvisionReport:
    """Create whatever of team, project, user, membership and provider key is missing.
    Running it twice changes nothing the second time."""
    report = ProvisionReport()
    with transaction.atomic():
        team, created = Team.objects.get_or_create(name=team_name)
        report.say(f"{'Created' if created else 'Found'} team {team.name!r}.")
        if budget is not None:
            _, created = Budget.objects.get_or_create(
                team=team, user=None, mode="", defaults={"amount": budget}
            )
            if created:
                report.say(f"Set the team's monthly budget to ${budget}.")
        if project_name:
            project, created = Project.objects.get_or_create(team=team, name=project_name)
            report.say(f"{'Created' if created else 'Found'} project {project.name!r}.")
        if username:
            user = User.objects.filter(username=username).first()
            if user is None:
                if not password:
                    raise ValueError(f"User {username!r} does not exist; give --password.")
                user = User.objects.create_user(username=username, password=password)
                report.say(f"Created user {username!r}.")
            else:
                report.say(f"Found user {username!r} (password left unchanged).")
            membership, created = Membership.objects.get_or_create(
                team=team, user=user, defaults={"role": role}
            )
            if created:
                report.say(f"Added {username!r} to {team.name!r} as {role}.")
            elif membership.role != role:
                membership.role = role
                membership.save(update_fields=["role"])
                report.say(f"Changed {username!r}'s role in {team.name!r} to {role}.")
            else:
                report.say(f"{username!r} is already {role} of {team.name!r}.")
        if piapi_key:
            if any(key.reveal() == piapi_key for key in team.provider_keys.all()):
                report.say(f"The provider key …{piapi_key[-4:]} is already stored.")
            else:
                key = ProviderKey(team=team, label="Default")
                key.set_key(piapi_key)
                key.save()
                report.say(f"Stored the provider key …{key.last4} (encrypted).")
    return report
