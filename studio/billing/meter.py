"""What a member sees of the money: spent, held and left this month, per mode."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from studio.accounts.models import Team, User
from studio.billing.models import ZERO, Budget, Mode, Usage, month_of


@dataclass
class Line:
    label: str
    spent: Decimal
    held: Decimal
    budget: Decimal | None  # None: no limit of its own at this level

    @property
    def used(self) -> Decimal:
        return self.spent + self.held

    @property
    def left(self) -> Decimal | None:
        return None if self.budget is None else max(ZERO, self.budget - self.spent - self.held)

    @property
    def percent_used(self) -> int:
        if not self.budget:
            return 100 if self.budget == ZERO else 0
        return min(100, round((self.spent + self.held) / self.budget * 100))


@dataclass
class Meter:
    team: Team
    user: User | None  # None: the whole team's meter
    total: Line
    modes: list[Line] = field(default_factory=list)

    @property
    def month_label(self) -> str:
        return f"{timezone.now():%B}"


def meter_for(*, team: Team, user: User | None) -> Meter:
    month = month_of(timezone.now())
    usage = Usage.objects.filter(team=team, user=user, month=month).first() or Usage()
    scope = Q(user=user) if user else Q(user__isnull=True)
    budgets = {b.mode: b.amount for b in Budget.objects.filter(scope, team=team)}
    total = Line("All modes", usage.spent(), usage.held(), budgets.get(""))
    if user is None and total.budget is None:
        total.budget = ZERO  # a team without a budget can spend nothing
    modes = [
        Line(label, usage.spent(mode), usage.held(mode), budgets.get(mode))
        for mode, label in Mode.choices
    ]
    return Meter(team=team, user=user, total=total, modes=modes)
