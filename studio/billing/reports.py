"""Reports on the ledger: spend by member, project, mode and day; ledger filtering; CSV rows."""

import calendar
import csv
import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from studio.accounts.models import Team
from studio.billing.models import (
    ZERO,
    EntryKind,
    LedgerEntry,
    Mode,
)

CSV_COLUMNS = [
    "created_at",
    "member",
    "project",
    "job_id",
    "operation",
    "mode",
    "kind",
    "amount",
    "provider_points_consumed",
    "reason",
]
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV
# injection); a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONTH_PATTERN = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})")
CENTI_CENTS = Decimal("0.0001")


def exact(amount: Decimal | float | None) -> Decimal:
    """A sum of money at the ledger's precision. SQLite adds decimals as floats (a sum
    of 0.1 and 0.2 comes back as 0.30000000000000004); every amount in the ledger has
    at most 4 places, so rounding to them restores the exact sum."""
    if amount is None:
        return ZERO
    return Decimal(str(amount)).quantize(CENTI_CENTS)


@dataclass
class SpendRow:
    key: str
    label: str
    amount: Decimal
    jobs: int


@dataclass
class Spend:
    month: datetime.date
    charged: Decimal
    charged_jobs: int
    held: Decimal
    released: Decimal
    released_jobs: int
    by_member: list[SpendRow]
    by_project: list[SpendRow]
    by_mode: list[SpendRow]
    by_day: list[SpendRow]

    def chart_data(self) -> dict[str, Any]:
        """What spend.js draws; amounts as exact decimal strings."""

        def series(rows: list[SpendRow]) -> dict[str, list[str]]:
            return {
                "keys": [row.key for row in rows],
                "labels": [row.label for row in rows],
                "amounts": [str(row.amount) for row in rows],
                "jobs": [str(row.jobs) for row in rows],
            }

        return {
            "month": f"{self.month:%Y-%m}",
            "month_label": f"{self.month:%B %Y}",
            "charged": str(self.charged),
            "by_member": series(self.by_member),
            "by_project": series(self.by_project),
            "by_mode": series(self.by_mode),
            "by_day": series(self.by_day),
        }


def parse_month(raw: str | None) -> datetime.date | None:
    """YYYY-MM as the first day of that month, or None if it does not read."""
    match = MONTH_PATTERN.fullmatch(raw or "")
    if match is None:
        return None
    year, month = int(match["year"]), int(match["month"])
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        return None
    return datetime.date(year, month, 1)


def shift_month(month: datetime.date, by: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + by
    return datetime.date(index // 12, index % 12 + 1, 1)


def spend_for(team: Team, month: datetime.date) -> Spend:
    """The team's money in one budget month, from the ledger (the source of truth)."""
    entries = LedgerEntry.objects.filter(team=team, month=month)
    charges = entries.filter(kind=EntryKind.CHARGE)
    totals = entries.aggregate(
        held=Sum("amount", filter=Q(kind=EntryKind.HOLD), default=ZERO),
        charged=Sum("amount", filter=Q(kind=EntryKind.CHARGE), default=ZERO),
        released=Sum("amount", filter=Q(kind=EntryKind.RELEASE), default=ZERO),
        charged_jobs=Count("id", filter=Q(kind=EntryKind.CHARGE)),
        released_jobs=Count("id", filter=Q(kind=EntryKind.RELEASE)),
    )

    by_member = [
        SpendRow(
            key=row["user__username"],
            label=" ".join(filter(None, [row["user__first_name"], row["user__last_name"]]))
            or row["user__username"],
            amount=exact(row["total"]),
            jobs=row["jobs"],
        )
        for row in charges.values(
            "user_id", "user__username", "user__first_name", "user__last_name"
        )
        .annotate(total=Sum("amount"), jobs=Count("id"))
        .order_by("-total", "user__username")
    ]
    by_project = [
        SpendRow(
            key=str(row["project_id"]),
            label=row["project__name"],
            amount=exact(row["total"]),
            jobs=row["jobs"],
        )
        for row in charges.values("project_id", "project__name")
        .annotate(total=Sum("amount"), jobs=Count("id"))
        .order_by("-total", "project__name")
    ]
    modes = {
        row["mode"]: row
        for row in charges.values("mode").annotate(total=Sum("amount"), jobs=Count("id"))
    }
    by_mode = [
        SpendRow(
            key=mode,
            label=label,
            amount=exact(modes[mode]["total"]) if mode in modes else ZERO,
            jobs=modes[mode]["jobs"] if mode in modes else 0,
        )
        for mode, label in Mode.choices
    ]

    days_in_month = calendar.monthrange(month.year, month.month)[1]
    last_day = month.replace(day=days_in_month)
    daily: dict[datetime.date, tuple[Decimal, int]] = {}
    per_day = (
        charges.annotate(day=TruncDate("created_at", tzinfo=datetime.UTC))
        .values("day")
        .annotate(total=Sum("amount"), jobs=Count("id"))
    )
    for row in per_day:
        # A job held late on the month's last day and finished after midnight is still
        # that month's money (the budget it was held against): it counts on the last day.
        day = min(max(row["day"], month), last_day)
        amount, jobs = daily.get(day, (ZERO, 0))
        daily[day] = (amount + exact(row["total"]), jobs + row["jobs"])
    by_day = []
    for number in range(1, days_in_month + 1):
        day = month.replace(day=number)
        amount, jobs = daily.get(day, (ZERO, 0))
        by_day.append(SpendRow(key=day.isoformat(), label=str(number), amount=amount, jobs=jobs))

    held, charged, released = (exact(totals[k]) for k in ("held", "charged", "released"))
    return Spend(
        month=month,
        charged=charged,
        charged_jobs=totals["charged_jobs"],
        held=held - charged - released,
        released=released,
        released_jobs=totals["released_jobs"],
        by_member=by_member,
        by_project=by_project,
        by_mode=by_mode,
        by_day=by_day,
    )


def ledger_entries(team: Team, filters: dict[str, Any]) -> QuerySet[LedgerEntry]:
    """The team's ledger, newest first, narrowed by the filters that read."""
    entries = LedgerEntry.objects.filter(team=team).select_related("user", "project")
    if "member" in filters:
        entries = entries.filter(user_id=filters["member"])
    if "project" in filters:
        entries = entries.filter(project_id=filters["project"])
    if "mode" in filters:
        entries = entries.filter(mode=filters["mode"])
    if "kind" in filters:
        entries = entries.filter(kind=filters["kind"])
    # Dates are whole UTC days, both ends included.
    if "date_from" in filters:
        entries = entries.filter(created_at__gte=_utc_midnight(filters["date_from"]))
    if "date_to" in filters:
        end = _utc_midnight(filters["date_to"]) + datetime.timedelta(days=1)
        entries = entries.filter(created_at__lt=end)
    return entries.order_by("-created_at", "-id")


def _utc_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def points_consumed(entry: LedgerEntry) -> Any:
    """The provider's points for the job (meta.usage.consume), when it reported them."""
    usage = entry.provider_usage or {}
    return usage.get("consume", usage.get("consumed"))


class _Echo:
    """A file-like object that hands back what csv.writer writes, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_rows(entries: QuerySet[LedgerEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries.iterator(chunk_size=1000):
        created = entry.created_at.astimezone(datetime.UTC)
        points = points_consumed(entry)
        yield writer.writerow(
            csv_safe(cell)
            for cell in (
                created.isoformat(timespec="seconds").replace("+00:00", "Z"),
                entry.user.username,
                entry.project.name,
                entry.job_id,
                entry.operation,
                entry.mode,
                entry.kind,
                f"{entry.amount:f}",
                "" if points is None else points,
                entry.reason,
            )
        )
