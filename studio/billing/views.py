"""The team admin's money pages: settings (prices, budgets, Turbo, concurrency), spend
charts, and the ledger with its CSV export. Admins of the team only: outsiders get a
404, members and viewers a 403."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from studio.accounts import audit
from studio.accounts.access import team_for_admin
from studio.accounts.models import AuthenticatedRequest, Membership, Role, Team
from studio.billing.forms import (
    OPERATION_LABELS,
    TURBO_ROLE_CHOICES,
    BudgetForm,
    LedgerFilterForm,
    ProviderPricesForm,
    TeamLimitsForm,
    plain,
)
from studio.billing.models import (
    Budget,
    EntryKind,
    LedgerEntry,
    Mode,
    Usage,
    month_of,
)
from studio.billing.reports import (
    csv_rows,
    exact,
    ledger_entries,
    parse_month,
    points_consumed,
    shift_month,
    spend_for,
)
from studio.billing.services import PriceTable, dollars, price_table, table_price
from studio.generation import tasks as generation_tasks
from studio.generation.models import Job, Operation
from studio.generation.services import SettleRefused, job_settle_unknown, providers_of
from studio.providers import PROVIDERS, Provider

SETTINGS_PAGE = "billing/settings.html"
SPEND_PAGE = "billing/spend.html"
LEDGER_PAGE = "billing/ledger.html"
UNKNOWN_PAGE = "billing/unknown.html"
LEDGER_PAGE_SIZE = 50


# --- the audit log ----------------------------------------------------------------------
# Every save below writes an entry when it changed something: {field: [before, after]},
# money as dollars, "—" for no cap.


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else dollars(amount)


def _budget_changes(
    before: dict[str, Decimal], after: dict[str, Decimal]
) -> dict[str, tuple[Any, Any]]:
    return audit.changed(
        {field: _money(before.get(mode)) for field, mode in BudgetForm.LEVELS.items()},
        {field: _money(after.get(mode)) for field, mode in BudgetForm.LEVELS.items()},
    )


def _turbo_roles(stored: str) -> str:
    labels = dict(TURBO_ROLE_CHOICES)
    return ", ".join(labels.get(role, role) for role in stored.split(",") if role) or "Nobody"


def _price_changes(
    api: type[Provider], before: PriceTable, after: PriceTable
) -> dict[str, tuple[Any, Any]]:
    """A provider's prices that the team set, changed or cleared: the mode's price under
    the mode's name ("fast"), an operation's as "Upscale in Fast"."""

    def named(table: PriceTable) -> dict[str, str | None]:
        return {
            mode if not operation else f"{OPERATION_LABELS[operation]} in {Mode(mode).label}": (
                _money(table.get((api.name, mode, operation)))
            )
            for operation in ("", *api.priced_operations)
            for mode in api.modes
        }

    return audit.changed(named(before), named(after))


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


@dataclass
class PriceCell:
    mode: str
    field: Any  # the form's BoundField
    default: Decimal  # what applies while the field is blank
    label: str  # "Fast", "Upscale in Fast": for screen readers and error messages

    @property
    def placeholder(self) -> str:
        return plain(self.default)

    @property
    def mode_label(self) -> str:
        return Mode(self.mode).label


@dataclass
class PriceRow:
    label: str  # the operation's ("" for the modes' own prices)
    cells: list[PriceCell]


@dataclass
class PriceSection:
    """One provider's part of the prices page."""

    api: type[Provider]
    form: ProviderPricesForm
    rows: list[PriceRow]  # the modes' prices first, then one row per operation
    has_key: bool
    operations_set: int  # how many operation prices the team set
    saved: bool = False

    # Templates call what is callable, a class too: they get the provider's names.
    @property
    def name(self) -> str:
        return self.api.name

    @property
    def label(self) -> str:
        return self.api.label

    @property
    def modes(self) -> list[tuple[str, str]]:
        return [(mode, Mode(mode).label) for mode in self.api.modes]

    @property
    def mode_row(self) -> PriceRow:
        return self.rows[0]

    @property
    def operation_rows(self) -> list[PriceRow]:
        return self.rows[1:]


def price_section(
    api: type[Provider],
    table: PriceTable,
    *,
    has_key: bool,
    form: ProviderPricesForm | None = None,
) -> PriceSection:
    """A provider's prices as the page shows them: each blank field's placeholder is the
    price that applies without it (computed as `table_price` would, leaving it out)."""
    form = form or ProviderPricesForm.for_team(table, api)
    rows = []
    for operation in ("", *api.priced_operations):
        label = OPERATION_LABELS[operation] if operation else ""
        cells = []
        for mode in api.modes:
            without = {k: v for k, v in table.items() if k != (api.name, mode, operation)}
            mode_label = Mode(mode).label
            cells.append(
                PriceCell(
                    mode=mode,
                    field=form[form.field_name(mode, operation)],
                    default=table_price(without, provider=api.name, mode=mode, operation=operation),
                    label=f"{label} in {mode_label}" if operation else mode_label,
                )
            )
        rows.append(PriceRow(label, cells))
    operations_set = sum(
        1 for name, _, operation in table if name == api.name and operation in api.priced_operations
    )
    return PriceSection(
        api=api, form=form, rows=rows, has_key=has_key, operations_set=operations_set
    )


def prices_context(
    team: Team, forms: dict[str, ProviderPricesForm] | None = None
) -> dict[str, Any]:
    """Every provider's prices, the team's own providers first (in key order): a team
    can price a provider before it adds a key for it."""
    table = price_table(team.pk)
    own = providers_of(team)
    ordered = own + [api for api in PROVIDERS.values() if api not in own]
    return {
        "team": team,
        "price_sections": [
            price_section(api, table, has_key=api in own, form=(forms or {}).get(api.name))
            for api in ordered
        ],
    }


def settings_context(team: Team, **bound: Any) -> dict[str, Any]:
    """The whole settings page; `bound` holds a refused form to show with its errors."""
    return {
        "team": team,
        "tab": "settings",
        **prices_context(team, bound.get("price_forms")),
        "limits_form": bound.get("limits_form") or TeamLimitsForm.for_team(team),
        "members": member_rows(team, bound=bound.get("member_forms")),
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
def prices_save(request: AuthenticatedRequest, team_id: int, provider: str) -> HttpResponse:
    """Save one provider's prices (blank fields: the defaults)."""
    team = team_for_admin(request.user, team_id)
    api = PROVIDERS.get(provider)
    if api is None:
        raise Http404("No such provider.")
    form = ProviderPricesForm(request.POST, provider=api)
    ok = form.is_valid()
    if ok:
        with transaction.atomic():
            before = price_table(team.pk)
            form.save(team)
            audit.record_changes(
                team=team,
                actor=request.user,
                action="prices.changed",
                target=api.label,
                changes=_price_changes(api, before, price_table(team.pk)),
            )
    has_key = api in providers_of(team)
    section = price_section(api, price_table(team.pk), has_key=has_key, form=None if ok else form)
    section.saved = ok
    return saved_or_refused(
        request,
        team,
        partial="provider-prices",
        context={"team": team, "section": section},
        ok=ok,
        bound={"price_forms": {api.name: form}},
    )


@require_POST
@login_required
def team_budget_save(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    form = BudgetForm(request.POST)
    ok = form.is_valid()
    if ok:
        with transaction.atomic():
            before = _budgets_by_owner(team).get(None, {})
            form.save(team, None)
            changes = _budget_changes(before, _budgets_by_owner(team).get(None, {}))
            audit.record_changes(
                team=team,
                actor=request.user,
                action="budget.changed",
                target="the whole team",
                changes=changes,
            )
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
        with transaction.atomic():
            before = _budgets_by_owner(team).get(membership.user_id, {})
            form.save(team, membership.user)
            after = _budgets_by_owner(team).get(membership.user_id, {})
            changes = _budget_changes(before, after)
            audit.record_changes(
                team=team,
                actor=request.user,
                action="budget.changed",
                target=membership.user.display_name,
                changes=changes,
            )
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
        before = {"turbo_roles": _turbo_roles(team.turbo_roles), "limit": team.concurrency_limit}
        with transaction.atomic():
            form.save(team)
            changes = audit.changed(
                before,
                {"turbo_roles": _turbo_roles(team.turbo_roles), "limit": team.concurrency_limit},
            )
            audit.record_changes(
                team=team,
                actor=request.user,
                action="limits.changed",
                target=team.name,
                changes={
                    "concurrency_limit" if field == "limit" else field: change
                    for field, change in changes.items()
                },
            )
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


# --- jobs whose outcome stayed unknown --------------------------------------------------


def unknown_context(team: Team, **extra: Any) -> dict[str, Any]:
    jobs = list(
        Job.objects.filter(project__team=team)
        .unsettled()
        .select_related("created_by", "project")
        .order_by("sent_at", "pk")
    )
    held = {
        entry.job_id: entry.amount
        for entry in LedgerEntry.objects.filter(job__in=jobs, kind=EntryKind.HOLD)
    }
    for job in jobs:
        job.held = held.get(job.pk)  # type: ignore[attr-defined]
    return {"team": team, "tab": "unknown", "jobs": jobs, **extra}


@require_GET
@login_required
def unknown_page(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    return render(request, UNKNOWN_PAGE, unknown_context(team))


@require_POST
@login_required
def unknown_settle(request: AuthenticatedRequest, team_id: int, job_id: int) -> HttpResponse:
    """Charge or release the hold of a job the provider never confirmed."""
    team = team_for_admin(request.user, team_id)
    job = get_object_or_404(Job, pk=job_id, project__team=team)
    decision = request.POST.get("decision", "")
    if decision not in ("charge", "release"):
        context = unknown_context(team, error="Choose to charge or to release the hold.")
        return render(request, f"{UNKNOWN_PAGE}#unknown-list", context, status=422)
    try:
        job_settle_unknown(job=job, actor=request.user, charge=decision == "charge")
    except SettleRefused as refused:
        context = unknown_context(team, error=str(refused))
        return render(request, f"{UNKNOWN_PAGE}#unknown-list", context, status=409)
    verb = "charged" if decision == "charge" else "released"
    context = unknown_context(team, done=f"The hold of job #{job.pk} is {verb}.")
    if request.htmx:
        return render(request, f"{UNKNOWN_PAGE}#unknown-list", context)
    return redirect("billing:unknown", team.pk)
