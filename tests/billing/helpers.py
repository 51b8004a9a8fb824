from decimal import Decimal
from typing import Any

from django.utils import timezone

from studio.billing.models import Budget, EntryKind, LedgerEntry, Usage, month_of


def set_budget(team: Any, amount: str | None, *, user: Any = None, mode: str = "") -> None:
    """A monthly budget (None removes it)."""
    if amount is None:
        Budget.objects.filter(team=team, user=user, mode=mode).delete()
        return
    Budget.objects.update_or_create(
        team=team, user=user, mode=mode, defaults={"amount": Decimal(amount)}
    )


def usage(team: Any, user: Any = None) -> Usage:
    return (
        Usage.objects.filter(team=team, user=user, month=month_of(timezone.now())).first()
        or Usage()
    )


def settlements(job: Any) -> list[str]:
    return list(
        LedgerEntry.objects.filter(job=job)
        .exclude(kind=EntryKind.HOLD)
        .values_list("kind", flat=True)
    )
