"""Holding, charging and releasing money for jobs.

`job_hold` runs in the same transaction that creates a job, before any call to the
provider: it locks the month's usage rows (the team's first, then the member's — always
in that order, so concurrent holds queue instead of deadlocking), checks every budget
that applies, and records the hold. `job_settle` turns the hold into a charge or
releases it; a partial unique index on the ledger makes a second settlement of the same
job impossible, whoever races.

A job's price depends on its provider, mode and operation (`price_for`): the team's own
price where an admin set one, else the provider's default; a V7 draft grid costs half.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from studio.accounts.models import Membership, Team, User
from studio.billing.models import (
    ZERO,
    Budget,
    EntryKind,
    LedgerEntry,
    Mode,
    Price,
    Usage,
    month_of,
)
from studio.providers import provider_class

if TYPE_CHECKING:
    from studio.generation.models import Job


class BudgetExceeded(Exception):
    """The job would spend past a budget; the message says which and by how much."""


def dollars(amount: Decimal) -> str:
    """$0.045, $5.00: cents always, a third decimal only when the price has one."""
    if amount == amount.quantize(Decimal("0.01")):
        return f"${amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"
    return f"${amount.normalize():f}"


# The team's own prices by (provider, mode, operation); operation "" is a mode's price.
PriceTable = dict[tuple[str, str, str], Decimal]

# Money is stored with four decimal places; half a price is rounded to them.
MONEY_STEP = Decimal("0.0001")


def price_for(
    *, team: Team, provider: str, mode: str, operation: str, draft: bool = False
) -> Decimal:
    """The team's price for a job of `provider` in `mode`. `operation` is the provider's
    price key for it (`Provider.price_key`: "upscale_creative" for a LegNext creative
    upscale); `draft` says the job makes a V7 draft grid, which costs half."""
    return table_price(
        price_table(team.pk), provider=provider, mode=mode, operation=operation, draft=draft
    )


def price_table(team_id: int) -> PriceTable:
    """The team's own prices (one query), for `table_price`."""
    return {
        (price.provider, price.mode, price.operation): price.amount
        for price in Price.objects.filter(team_id=team_id)
    }


def table_price(
    table: PriceTable, *, provider: str, mode: str, operation: str, draft: bool = False
) -> Decimal:
    """A price from the team's table, the first found of: the team's price for the
    operation; the provider's default for the operation; the team's price for the mode;
    the provider's default for the mode. A provider's default for an operation comes
    before the team's mode price because it says the operation costs the provider more
    or less than most (a LegNext upscale costs 120 credits, an imagine 80); an admin who
    wants another price for it sets one for the operation."""
    api = provider_class(provider)
    defaults = api.default_prices
    candidates = (
        table.get((api.name, mode, operation)),
        defaults.get((mode, operation)),
        table.get((api.name, mode, "")),
        defaults.get((mode, "")),
    )
    price = next((amount for amount in candidates if amount is not None), None)
    if price is None:
        raise LookupError(f"{api.label} has no {mode} mode, so no {mode} price.")
    if draft:
        # Midjourney's draft mode costs half (https://docs.legnext.ai/notice).
        price = (price / 2).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
    return price


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

    @property
    def kind(self) -> str:
        return f"{self.mode} budget" if self.mode else "budget"

    def refusal(self, price: Decimal) -> str:
        return (
            f"{dollars(self.left)} left of {self.whose} {dollars(self.amount)} {self.kind} "
            f"this month; this job costs {dollars(price)}."
        )

    def warning(self) -> str:
        return (
            f"Under 10 % left: {dollars(self.left)} of {self.whose} {dollars(self.amount)} "
            f"{self.kind} this month."
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


NO_TEAM_BUDGET = (
    "Your team has no monthly budget yet, so nothing can be spent; an admin sets it under Money."
)
# Below this share of a budget left, the composer warns before the member spends it.
LOW_SHARE = Decimal("0.1")


def turbo_refusal(membership: Membership, *, modes: Iterable[str]) -> str:
    """Why the member may not use Turbo in their team ("" if they may); `modes` are
    those of the provider the job would run on, to name the others."""
    if membership.team.may_use_turbo(membership.role):
        return ""
    others = [Mode(m).label for m in modes if m != Mode.TURBO]
    return (
        f"Turbo is not open to {membership.get_role_display().lower()}s in this team; "
        f"choose {' or '.join(others)}."
    )


@dataclass(frozen=True)
class Outlook:
    """What a job would meet if sent now: `refusal` is the sentence `job_hold` would
    refuse it with ("" if it would pass), `warning` names a budget with under 10 % left."""

    refusal: str = ""
    warning: str = ""


def job_outlook(
    *, membership: Membership, mode: str, price: Decimal, modes: Iterable[str]
) -> Outlook:
    """The composer's reading of the budgets for a job of `price` in `mode`, without
    locks (a glance, not a hold: `job_hold` still decides when the job is sent), in the
    same words as `job_hold`'s refusals."""
    team, user = membership.team, membership.user
    if mode == Mode.TURBO and (refused := turbo_refusal(membership, modes=modes)):
        return Outlook(refusal=refused)
    if not Budget.objects.filter(team=team, user__isnull=True, mode="").exists():
        return Outlook(refusal=NO_TEAM_BUDGET)
    month = month_of(timezone.now())
    whole = Usage.objects.filter(team=team, user=None, month=month).first() or Usage()
    member = Usage.objects.filter(team=team, user=user, month=month).first() or Usage()
    limits = _limits(team, user, mode, member, whole)
    for limit in limits:
        if limit.used + price > limit.amount:
            return Outlook(refusal=limit.refusal(price))
    low = [limit for limit in limits if limit.left < limit.amount * LOW_SHARE]
    return Outlook(warning=low[0].warning() if low else "")


@dataclass(frozen=True)
class Standing:
    """A member's month in money: spent, held, and what is left for them to spend under
    the tightest of their and the team's whole budgets (zero without a team budget)."""

    spent: Decimal
    held: Decimal
    left: Decimal
    total: Decimal


def member_standing(*, membership: Membership) -> Standing:
    """What `membership` has spent and may still spend this month (all modes)."""
    team, user = membership.team, membership.user
    month = month_of(timezone.now())
    whole = Usage.objects.filter(team=team, user=None, month=month).first() or Usage()
    member = Usage.objects.filter(team=team, user=user, month=month).first() or Usage()
    limits = [limit for limit in _limits(team, user, "", member, whole) if not limit.mode]
    if not Budget.objects.filter(team=team, user__isnull=True, mode="").exists() or not limits:
        return Standing(spent=member.spent(), held=member.held(), left=ZERO, total=ZERO)
    tightest = min(limits, key=lambda limit: limit.left)
    return Standing(
        spent=member.spent(),
        held=member.held(),
        left=tightest.left,
        total=tightest.amount,
    )


def job_hold(*, job: "Job") -> Decimal:
    """Hold the job's price against every budget that applies, or raise BudgetExceeded.
    Must run inside the transaction that creates the job.

    The price is that of the job's provider, mode and operation (a draft grid half).
    It is what the member was quoted and what the job is charged or released: if the
    job's create later fails over from one provider's key to another provider's (see
    `studio.generation.services.keys_to_try`), the price held at submit stands."""
    team = job.project.team
    user = job.created_by
    mode = job.process_mode
    membership = Membership.objects.get(team=team, user=user)
    if mode == Mode.TURBO and (refused := turbo_refusal(membership, modes=job.api.modes)):
        raise BudgetExceeded(refused)
    if not Budget.objects.filter(team=team, user__isnull=True, mode="").exists():
        raise BudgetExceeded(NO_TEAM_BUDGET)
    price = price_for(
        team=team,
        provider=job.provider,
        mode=mode,
        operation=job.api.price_key(job.operation, job.parameters or {}),
        draft=job.is_draft,
    )
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
