"""The team admin's money pages: settings (prices, budgets, Turbo, concurrency), spend
charts, and the ledger with its CSV export. Admins of the team only: outsiders get a
404, members and viewers a 403."""

import calendar
import csv
import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from studio.accounts.models import AuthenticatedRequest, Membership, Role, Team, User
from studio.billing.forms import (
    BudgetForm,
    LedgerFilterForm,
    ModePricesForm,
    PriceOverrideForm,
    TeamLimitsForm,
)
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
from studio.generation import tasks as generation_tasks
from studio.generation.models import Operation

SETTINGS_PAGE = "billing/settings.html"
SPEND_PAGE = "billing/spend.html"
LEDGER_PAGE = "billing/ledger.html"
LEDGER_PAGE_SIZE = 50
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


def team_for_admin(user: User, team_id: int) -> Team:
    """The team, if the user administers it: 404 for outsiders, 403 for other roles."""
    membership = (
        Membership.objects.select_related("team").filter(user=user, team_id=team_id).first()
    )
    if membership is None:
        raise Http404("No such team.")
    if membership.role != Role.ADMIN:
        raise PermissionDenied("Only the team's admins can see and change its money.")
    return membership.team


# --- settings ---------------------------------------------------------------------------


@dataclass
class MemberRow:
    membership: Membership
    form: BudgetForm | None  # None: viewers never spend
    spent: Decimal
    held: Decimal
    budget: Decimal | None
    saved: bool = False

    @property
    def used(self) -> Decimal:
        return self.spent + self.held

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.used > self.budget

    @property
    def percent_used(self) -> int:
        if self.budget is None:
            return 0
        if not self.budget:
            return 100 if self.used else 0
        return min(100, round(self.used / self.budget * 100))


def _budgets_by_owner(team: Team) -> dict[int | None, dict[str, Decimal]]:
    budgets: dict[int | None, dict[str, Decimal]] = {}
    for budget in Budget.objects.filter(team=team):
        budgets.setdefault(budget.user_id, {})[budget.mode] = budget.amount
    return budgets


def _usage_by_owner(team: Team) -> dict[int | None, Usage]:
    month = month_of(timezone.now())
    return {usage.user_id: usage for usage in Usage.objects.filter(team=team, month=month)}


def member_rows(team: Team, *, bound: dict[int, BudgetForm] | None = None) -> list[MemberRow]:
    """Every membership of the team with its budgets and this month's usage."""
    budgets = _budgets_by_owner(team)
    usage = _usage_by_owner(team)
    memberships = (
        Membership.objects.filter(team=team).select_related("user").order_by("user__username")
    )
    return [
        member_row(m, budgets.get(m.user_id, {}), usage.get(m.user_id), (bound or {}).get(m.pk))
        for m in memberships
    ]


def member_row(
    membership: Membership,
    budgets: dict[str, Decimal],
    usage: Usage | None,
    form: BudgetForm | None = None,
) -> MemberRow:
    usage = usage or Usage()
    if membership.role == Role.VIEWER:
        form = None
    elif form is None:
        form = BudgetForm(initial=BudgetForm.initial_for(budgets))
    return MemberRow(
        membership=membership,
        form=form,
        spent=exact(usage.spent()),
        held=exact(usage.held()),
        budget=budgets.get(""),
    )


def team_budget_context(team: Team, form: BudgetForm | None = None) -> dict[str, Any]:
    budgets = _budgets_by_owner(team).get(None, {})
    usage = _usage_by_owner(team).get(None) or Usage()
    return {
        "team": team,
        "team_budget_form": form or BudgetForm(initial=BudgetForm.initial_for(budgets)),
        "team_has_budget": "" in budgets,
        "team_spent": exact(usage.spent()),
        "team_held": exact(usage.held()),
        "month_label": f"{timezone.now():%B %Y}",
    }


def prices_context(team: Team, form: ModePricesForm | None = None) -> dict[str, Any]:
    form = form or ModePricesForm.for_team(team)
    return {
        "team": team,
        "prices_form": form,
        "price_rows": [
            {"field": form[mode], "label": label, "default": DEFAULT_PRICES[Mode(mode)]}
            for mode, label in Mode.choices
        ],
    }


def overrides_context(team: Team, form: PriceOverrideForm | None = None) -> dict[str, Any]:
    mode_prices = {mode: DEFAULT_PRICES[Mode(mode)] for mode in Mode.values}
    overrides = []
    for price in Price.objects.filter(team=team).order_by("operation", "mode"):
        if price.operation:
            overrides.append(price)
        else:
            mode_prices[price.mode] = price.amount
    labels = dict(Operation.choices)
    for price in overrides:
        price.mode_price = mode_prices[price.mode]  # type: ignore[attr-defined]
        price.operation_label = labels.get(price.operation, price.operation)  # type: ignore[attr-defined]
    return {
        "team": team,
        "overrides": overrides,
        "override_form": form or PriceOverrideForm(initial={"mode": Mode.FAST}),
    }


def settings_context(team: Team, **bound: Any) -> dict[str, Any]:
    """The whole settings page; `bound` holds a refused form to show with its errors."""
    return {
        "team": team,
        "tab": "settings",
        **prices_context(team, bound.get("prices_form")),
        "limits_form": bound.get("limits_form") or TeamLimitsForm.for_team(team),
        "members": member_rows(team, bound=bound.get("member_forms")),
        **overrides_context(team, bound.get("override_form")),
        **team_budget_context(team, bound.get("team_budget_form")),
    }


def saved_or_refused(
    request: AuthenticatedRequest,
    team: Team,
    *,
    partial: str,
    context: dict[str, Any],
    ok: bool,
    bound: dict[str, Any] | None = None,
) -> HttpResponse:
    """HTMX swaps the form's partial in place (422 with errors when refused); without
    JavaScript a saved form goes back to the page, a refused one shows on it."""
    if not request.htmx:
        if ok:
            return redirect("billing:settings", team.pk)
        return render(request, SETTINGS_PAGE, settings_context(team, **(bound or {})), status=422)
    return render(request, f"{SETTINGS_PAGE}#{partial}", context, status=200 if ok else 422)


@require_GET
@login_required
def settings_page(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    return render(request, SETTINGS_PAGE, settings_context(team))


@require_POST
@login_required
def prices_save(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    form = ModePricesForm(request.POST)
    ok = form.is_valid()
    if ok:
        form.save(team)
    context = prices_context(team, None if ok else form)
    context["saved"] = ok
    return saved_or_refused(
        request,
        team,
        partial="mode-prices",
        context=context,
        ok=ok,
        bound={"prices_form": form},
    )


@require_POST
@login_required
def override_add(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    form = PriceOverrideForm(request.POST)
    ok = form.is_valid()
    if ok:
        form.save(team)
    context = overrides_context(team, None if ok else form)
    context["saved"] = ok
    return saved_or_refused(
        request, team, partial="overrides", context=context, ok=ok, bound={"override_form": form}
    )


@require_POST
@login_required
def override_delete(request: AuthenticatedRequest, team_id: int, price_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    with transaction.atomic():
        price = get_object_or_404(Price, pk=price_id, team=team, operation__gt="")
        price.delete()
    context = overrides_context(team)
    context["removed"] = True
    return saved_or_refused(request, team, partial="overrides", context=context, ok=True)


@require_POST
@login_required
def team_budget_save(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    form = BudgetForm(request.POST)
    ok = form.is_valid()
    if ok:
        form.save(team, None)
    context = team_budget_context(team, None if ok else form)
    context["saved"] = ok
    return saved_or_refused(
        request,
        team,
        partial="team-budget",
        context=context,
        ok=ok,
        bound={"team_budget_form": form},
    )


@require_POST
@login_required
def member_budget_save(
    request: AuthenticatedRequest, team_id: int, membership_id: int
) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    # Scoped to the team: another team's membership id is a 404, whatever the form says.
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, team=team
    )
    if membership.role == Role.VIEWER:
        raise PermissionDenied("Viewers never spend, so they have no budget.")
    form = BudgetForm(request.POST)
    ok = form.is_valid()
    if ok:
        form.save(team, membership.user)
    budgets = _budgets_by_owner(team).get(membership.user_id, {})
    usage = _usage_by_owner(team).get(membership.user_id)
    row = member_row(membership, budgets, usage, None if ok else form)
    row.saved = ok
    return saved_or_refused(
        request,
        team,
        partial="member-budget",
        context={"team": team, "row": row},
        ok=ok,
        bound={"member_forms": {membership.pk: form}},
    )


@require_POST
@login_required
def limits_save(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    form = TeamLimitsForm(request.POST)
    ok = form.is_valid()
    if ok:
        raised = form.cleaned_data["concurrency_limit"] > team.concurrency_limit
        form.save(team)
        if raised:
            # More slots: jobs waiting in Studio may start now rather than at the next sweep.
            transaction.on_commit(lambda: generation_tasks.dispatch_team.enqueue(team.pk))
        form = TeamLimitsForm.for_team(team)
    return saved_or_refused(
        request,
        team,
        partial="team-limits",
        context={"team": team, "limits_form": form, "saved": ok},
        ok=ok,
        bound={"limits_form": form},
    )


# --- spend ------------------------------------------------------------------------------


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


@require_GET
@login_required
def spend_page(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    this_month = month_of(timezone.now())
    month = parse_month(request.GET.get("month")) or this_month
    spend = spend_for(team, month)
    previous_month, next_month = shift_month(month, -1), shift_month(month, 1)
    return render(
        request,
        SPEND_PAGE,
        {
            "team": team,
            "tab": "spend",
            "spend": spend,
            "data": spend.chart_data(),
            "month": month,
            "is_this_month": month == this_month,
            "previous_month": previous_month,
            "next_month": next_month,
            "has_next_month": next_month <= this_month,
            "this_month": this_month,
        },
    )


# --- ledger -----------------------------------------------------------------------------


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


def filter_query(filters: LedgerFilterForm) -> str:
    """The filters as given (for links that keep them), without the page."""
    return urlencode(
        [(name, value) for name, value in filters.data.items() if name != "page" and value]
    )


@require_GET
@login_required
@vary_on_headers("HX-Request")
def ledger_page(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    filter_form = LedgerFilterForm(request.GET, team=team)
    filters = filter_form.filters()
    paginator = Paginator(ledger_entries(team, filters), LEDGER_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    operations = dict(Operation.choices)
    for entry in page.object_list:
        entry.points = points_consumed(entry)  # type: ignore[attr-defined]
        entry.operation_label = operations.get(entry.operation, entry.operation)  # type: ignore[attr-defined]
    query = filter_query(filter_form)
    context = {
        "team": team,
        "tab": "ledger",
        "filter_form": filter_form,
        "filtered": bool(filters),
        "page": page,
        "query": query,
        "csv_url": reverse("billing:ledger-csv", args=[team.pk]) + (f"?{query}" if query else ""),
    }
    if request.htmx and request.GET.get("page"):
        # "Load more": the next rows, and the next button, appended to the table.
        return render(request, f"{LEDGER_PAGE}#ledger-rows", context)
    return render(request, LEDGER_PAGE, context)


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


@require_GET
@login_required
def ledger_csv(request: AuthenticatedRequest, team_id: int) -> StreamingHttpResponse:
    team = team_for_admin(request.user, team_id)
    filters = LedgerFilterForm(request.GET, team=team).filters()
    filename = f"studio-ledger-{slugify(team.name) or team.pk}-{timezone.now():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(
        csv_rows(ledger_entries(team, filters)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
