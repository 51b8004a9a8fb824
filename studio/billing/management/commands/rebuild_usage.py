from typing import Any

from django.core.management.base import BaseCommand

from studio.accounts.models import Team
from studio.billing.services import usage_rebuild


class Command(BaseCommand):
    help = "Recompute every team's spent and held figures from the ledger."

    def handle(self, *args: Any, **options: Any) -> None:
        for team in Team.objects.order_by("name"):
            rows = usage_rebuild(team=team)
            self.stdout.write(f"{team.name}: {rows} usage rows rebuilt from the ledger.")
