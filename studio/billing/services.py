"""Holding, charging and releasing money for jobs.

`job_hold` runs in the same transaction that creates a job, before any call to the
provider: it locks the month's usage rows (the team's first, then the member's — always
in that order, so concurrent holds queue instead of deadlocking), checks every budget
that applies, and records the hold. `job_settle` turns the hold into a charge or
releases it; a partial unique index on the ledger makes a second settlement of the same
job impossible, whoever races.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from studio.accounts.models import Membership, Team, User
from studio.billing.models import (
    DEFAULT_PRICES,
    ZERO,
    Budget,
    EntryKind,
    LedgerEntry,
    Mode,
    Price,
    Usage,
    month_of,
)

if TYPE_CHECKING:
    from studio.generation.models import Job


class BudgetExceeded(Exception):
    """The job would spend past a budget; the message says which and by how much."""


def dollars(amount: Decimal) -> str:
    """$0.045, $5.00: cents always, a third decimal only when the price has one."""
    if amount == amount.quantize(Decimal("0.01")):
        return f"${amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"
    return f"${amount.normalize():f}"


def price_for(*, team: Team, mode: str, operation: str) -> Decimal:
    """The team's price for a job: an override for the operation, else the mode's."""
    return table_price(price_table(team.pk), mode, operation)


def price_table(team_id: int) -> dict[tuple[str, str], Decimal]:
    """Every price of the team by (mode, operation); operation "" is the mode's price."""
    table: dict[tuple[str, str], Decimal] = {
        (str(mode), ""): amount for mode, amount in DEFAULT_PRICES.items()
    }
    table.update({(p.mode, p.operation): p.amount for p in Price.objects.filter(team_id=team_id)})
    return table


def table_price(table: dict[tuple[str, str], Decimal], mode: str, operation: str) -> Decimal:
    return table.get((mode, operation), table[(mode, "")])


def prices_by_mode(team: Team) -> dict[str, Decimal]:
    """What an ordinary job costs in each mode (for showing costs before a click)."""
    overrides = {p.mode: p.amount for p in Price.objects.filter(team=team, operation="")}
    return {mode: overrides.get(mode, DEFAULT_PRICES[Mode(mode)]) for mode in Mode.values}


def _locked_usage(team: Team, user: User | None, month: Any) -> Usage:
    Usage.objects.get_or_create(team=team, user=user, month=month)
    return Usage.objects.select_for_update().get(team=team, user=user, month=month)


@dataclass(frozen=True)
class Limit:
    amount: Decimal
    used: Decimal
    whose: str  # "your" or "the team's"
    mode: str  # "" for all modes

    @property
    def left(self) -> Decimal:
        return max(ZERO, self.amount - self.used)

    def refusal(self, price: Decimal) -> str:
        kind = f"{self.mode} budget" if self.mode else "budget"
        return (
            f"{dollars(self.left)} left of {self.whose} {dollars(self.amount)} {kind} this "
            f"month; this job costs {dollars(price)}."
        )


def _limits(team: Team, user: User, mode: str, member: Usage, whole: Usage) -> list[Limit]:
    """Every budget that applies to a job of `user` in `mode`, tightest scope first."""
    budgets = {
        (b.user_id, b.mode): b.amount
        for b in Budget.objects.filter(Q(user=user) | Q(user__isnull=True), team=team)
    }
    limits = []
    for owner, usage, whose in ((user.pk, member, "your"), (None, whole, "the team's")):
        if (owner, mode) in budgets:
            limits.append(Limit(budgets[(owner, mode)], usage.used(mode), whose, mode))
        if (owner, "") in budgets:
            limits.append(Limit(budgets[(owner, "")], usage.used(), whose, ""))
    return limits


def job_hold(*, job: "Job") -> Decimal:
    """Hold the job's price against every budget that applies, or raise BudgetExceeded.
    Must run inside the transaction that creates the job."""
    team = job.project.team
    user = job.created_by
    mode = job.process_mode
    membership = Membership.objects.get(team=team, user=user)
    if mode == Mode.TURBO and not team.may_use_turbo(membership.role):
        raise BudgetExceeded(
            f"Turbo is not open to {membership.get_role_display().lower()}s in this team; "
            "choose Fast or Relax."
        )
    if not Budget.objects.filter(team=team, user__isnull=True, mode="").exists():
        raise BudgetExceeded(
            "Your team has no monthly budget yet, so nothing can be spent; an admin sets it "
            "under Money."
        )
    price = price_for(team=team, mode=mode, operation=job.operation)
    month = month_of(timezone.now())
    whole = _locked_usage(team, None, month)
    member = _locked_usage(team, user, month)
    for limit in _limits(team, user, mode, member, whole):
        if limit.used + price > limit.amount:
            raise BudgetExceeded(limit.refusal(price))
    held = f"held_{mode}"
    Usage.objects.filter(pk__in=[whole.pk, member.pk]).update(**{held: F(held) + price})
    LedgerEntry.objects.create(
        team=team,
        user=user,
        project=job.project,
        job=job,
        kind=EntryKind.HOLD,
        mode=mode,
        operation=job.operation,
        amount=price,
        month=month,
    )
    _push_meters_on_commit(team, user)
    return price


def held_amount(*, job: "Job") -> Decimal:
    """What was held for the job (zero if nothing was)."""
    hold = LedgerEntry.objects.filter(job=job, kind=EntryKind.HOLD).first()
    return hold.amount if hold else ZERO


def job_settle(
    *, job: "Job", charge: bool, provider_usage: dict[str, Any] | None = None, reason: str = ""
) -> bool:
    """Charge the held amount (the job completed) or release it (failed, moderated,
    canceled, past the deadline). Exactly once per job: returns False if it was settled
    already or never held."""
    hold = LedgerEntry.objects.filter(job=job, kind=EntryKind.HOLD).first()
    if hold is None:
        return False
    try:
        with transaction.atomic():
            LedgerEntry.objects.create(
                team_id=hold.team_id,
                user_id=hold.user_id,
                project_id=hold.project_id,
                job=job,
                kind=EntryKind.CHARGE if charge else EntryKind.RELEASE,
                mode=hold.mode,
                operation=hold.operation,
                amount=hold.amount,
                month=hold.month,
                provider_usage=provider_usage or {},
                reason=reason[:200],
            )
    except IntegrityError:
        return False
    held, spent = f"held_{hold.mode}", f"spent_{hold.mode}"
    changes: dict[str, Any] = {held: F(held) - hold.amount}
    if charge:
        changes[spent] = F(spent) + hold.amount
    rows = Usage.objects.filter(team_id=hold.team_id, month=hold.month).filter(
        Q(user_id=hold.user_id) | Q(user__isnull=True)
    )
    # Team row first, as job_hold locks them.
    for row in rows.order_by(F("user_id").asc(nulls_first=True)):
        Usage.objects.filter(pk=row.pk).update(**changes)
    _push_meters_on_commit(hold.team, hold.user)
    return True


def _push_meters_on_commit(team: Team, user: User) -> None:
    from studio.billing import live

    transaction.on_commit(lambda: live.push_meters(team_id=team.pk, user_id=user.pk))


def usage_rebuild(*, team: Team) -> int:
    """Recompute every usage row of the team from the ledger (the source of truth).
    Returns how many rows were written."""
    totals: dict[tuple[int | None, Any], dict[str, Decimal]] = {}
    entries = (
        LedgerEntry.objects.filter(team=team)
        .values("user_id", "month", "mode", "kind")
        .annotate(total=Sum("amount"))
    )
    for entry in entries:
        for owner in (entry["user_id"], None):
            row = totals.setdefault((owner, entry["month"]), {})
            mode, total = entry["mode"], entry["total"]
            if entry["kind"] == EntryKind.HOLD:
                row[f"held_{mode}"] = row.get(f"held_{mode}", ZERO) + total
            else:
                row[f"held_{mode}"] = row.get(f"held_{mode}", ZERO) - total
                if entry["kind"] == EntryKind.CHARGE:
                    row[f"spent_{mode}"] = row.get(f"spent_{mode}", ZERO) + total
    with transaction.atomic():
        Usage.objects.filter(team=team).delete()
        Usage.objects.bulk_create(
            Usage(team=team, user_id=owner, month=month, **values)
            for (owner, month), values in totals.items()
        )
    return len(totals)
