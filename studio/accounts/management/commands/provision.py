import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.accounts.models import Role, User
from studio.accounts.services import team_provision

DEMO_TEAM = "Demo"
DEMO_PROJECT = "First project"
DEMO_USER = "admin"
DEMO_KEY = "sandbox-demo-key"
DEMO_BUDGET = Decimal("25.00")


class Command(BaseCommand):
    help = (
        "Create a team and, optionally, a project, a user with a role and the team's "
        "provider key; whatever exists already is left as it is."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", help="The team's name.")
        parser.add_argument("--project", default="", help="A project in the team.")
        parser.add_argument("--user", default="", help="A username to create or find.")
        parser.add_argument("--password", default="", help="Password for a new user.")
        parser.add_argument("--role", default=Role.MEMBER, choices=Role.values)
        parser.add_argument(
            "--piapi-key", default="", help="A PiAPI-protocol key (PiAPI, GoAPI, …)."
        )
        parser.add_argument("--legnext-key", default="", help="A LegNext key.")
        parser.add_argument(
            "--budget",
            type=Decimal,
            default=None,
            help="The team's monthly budget in dollars, if it has none yet.",
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Set up the demo team, project and admin (sandbox key) and print the login.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["demo"]:
            self.provision_demo()
            return
        if not options["team"]:
            raise CommandError("--team is required (or --demo).")
        try:
            report = team_provision(
                team_name=options["team"],
                project_name=options["project"],
                username=options["user"],
                password=options["password"],
                role=options["role"],
                piapi_key=options["piapi_key"],
                legnext_key=options["legnext_key"],
                budget=options["budget"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for line in report.done:
            self.stdout.write(line)

    def provision_demo(self) -> None:
        # The demo password is made once and kept beside the database (var/ is not
        # committed), so that every `make run` can print it.
        login_file = Path(settings.VAR_DIR) / "demo-login.txt"
        password = login_file.read_text().strip() if login_file.exists() else ""
        user = User.objects.filter(username=DEMO_USER).first()
        if not password or (user and not user.check_password(password)):
            password = secrets.token_urlsafe(9)
            login_file.parent.mkdir(parents=True, exist_ok=True)
            login_file.write_text(password + "\n")
            if user:
                user.set_password(password)
                user.save(update_fields=["password"])
        team_provision(
            team_name=DEMO_TEAM,
            project_name=DEMO_PROJECT,
            username=DEMO_USER,
            password=password,
            role=Role.ADMIN,
            piapi_key=DEMO_KEY,
            legnext_key=DEMO_KEY,
            budget=DEMO_BUDGET,
        )
        url = f"http://127.0.0.1:{settings.PORT}/"
        bar = "─" * 60
        self.stdout.write(
            f"\n{bar}\n  Studio demo is ready. Open {url}\n"
            f"  Log in as   {DEMO_USER}\n  Password    {password}\n{bar}\n"
        )
