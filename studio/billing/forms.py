"""The team admin's money forms: prices, budgets, Turbo and concurrency, ledger filters.

Money is read from text, never through float: a strict pattern first (so "1e-3", "NaN",
"inf", "-1" and a float's artifacts like 0.045000000000000005 are refused with one clear
message), then Decimal with at most four decimal places, as the database stores it.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction

from studio.accounts.models import Membership, Role, Team, User
from studio.billing.models import Budget, EntryKind, Mode, Price
from studio.billing.services import PriceTable
from studio.forms import date_filter_field
from studio.generation.models import Operation
from studio.projects.models import Project
from studio.providers import Provider

PRICE_MESSAGE = "Enter a price in dollars, e.g. 0.045."
BUDGET_MESSAGE = "Enter an amount in dollars, e.g. 250, or leave it blank for no cap."
PRICE_MAX = Decimal("100")
BUDGET_MAX = Decimal("1000000")
DECIMAL_PLACES = 4

# Digits with an optional fraction, or a bare fraction; thousands may be grouped with
# commas (1,000.50). A leading "$" is allowed, as people type it.
AMOUNT_PATTERN = re.compile(r"\$?\s*(?P<number>(\d{1,3}(,\d{3})+|\d+)(\.\d*)?|\.\d+)")


def parse_amount(raw: str, *, message: str, maximum: Decimal) -> Decimal:
    """A non-negative dollar amount with at most four decimal places, or ValidationError."""
    match = AMOUNT_PATTERN.fullmatch(raw.strip())
    if match is None:
        raise ValidationError(message, code="invalid")
    try:
        amount = Decimal(match["number"].replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise ValidationError(message, code="invalid") from None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > DECIMAL_PLACES:
        raise ValidationError(
            f"{message} At most {DECIMAL_PLACES} decimal places.", code="decimal_places"
        )
    if amount > maximum:
        raise ValidationError(f"At most ${maximum:,}.", code="max_value")
    return amount


class MoneyField(forms.Field):
    """Dollars as a Decimal (≥ 0, ≤ maximum, 4 decimal places); blank is None when the
    field is optional."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(
        self, *, maximum: Decimal, message: str, required: bool = True, **kwargs: Any
    ) -> None:
        self.maximum = maximum
        self.message = message
        super().__init__(required=required, error_messages={"required": message}, **kwargs)

    def to_python(self, value: Any) -> Decimal | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, Decimal):
            value = str(value)
        if not isinstance(value, str):
            raise ValidationError(self.message, code="invalid")
        return parse_amount(value, message=self.message, maximum=self.maximum)


def price_field(*, required: bool = True) -> MoneyField:
    return MoneyField(maximum=PRICE_MAX, message=PRICE_MESSAGE, required=required)


def budget_field() -> MoneyField:
    return MoneyField(maximum=BUDGET_MAX, message=BUDGET_MESSAGE, required=False)


def plain(amount: Decimal | None) -> str:
    """An amount as an admin would type it: 0.045, 0.10, 12.50, 250."""
    if amount is None:
        return ""
    amount = amount.normalize()
    if amount.as_tuple().exponent == -1:
        amount = amount.quantize(Decimal("0.01"))
    return f"{amount:f}"


# --- prices -----------------------------------------------------------------------------


# How the prices page names each price key ("upscale_creative": see Provider.price_key).
OPERATION_LABELS = {
    **dict(Operation.choices),
    "upscale_creative": "Upscale (Creative)",
    "animate": "Animate (480p)",
    "animate_720p": "Animate (720p)",
    "extend": "Extend (480p)",
    "extend_720p": "Extend (720p)",
}


class ProviderPricesForm(forms.Form):
    """One provider's prices for the team: each mode's price (`fast`) and each
    operation's in each mode (`fast.upscale`). Blank: the default — the provider's, or
    for an operation without one, the mode's price."""

    def __init__(self, *args: Any, provider: type[Provider], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider
        for mode, operation in self.kinds():
            self.fields[self.field_name(mode, operation)] = price_field(required=False)

    def kinds(self) -> list[tuple[str, str]]:
        """(mode, operation) of every price on the form; operation "" is the mode's."""
        operations = ("", *self.provider.priced_operations)
        return [(mode, operation) for operation in operations for mode in self.provider.modes]

    @staticmethod
    def field_name(mode: str, operation: str) -> str:
        return f"{mode}.{operation}" if operation else mode

    @classmethod
    def for_team(cls, table: PriceTable, provider: type[Provider]) -> "ProviderPricesForm":
        """The form showing the team's own prices (`table`) of the provider."""
        initial = {
            cls.field_name(mode, operation): plain(amount)
            for (name, mode, operation), amount in table.items()
            if name == provider.name
        }
        return cls(initial=initial, provider=provider)

    def save(self, team: Team) -> None:
        with transaction.atomic():
            for mode, operation in self.kinds():
                amount = self.cleaned_data[self.field_name(mode, operation)]
                kind: dict[str, Any] = {"team": team, "provider": self.provider.name, "mode": mode}
                if amount is None:
                    Price.objects.filter(**kind, operation=operation).delete()
                else:
                    Price.objects.update_or_create(
                        **kind, operation=operation, defaults={"amount": amount}
                    )


# --- budgets ----------------------------------------------------------------------------


class BudgetForm(forms.Form):
    """A monthly budget in total and per mode, for the team (user None) or one member.
    Blank: no cap at that level (the row is deleted); 0: nothing may be spent."""

    total = budget_field()
    relax = budget_field()
    fast = budget_field()
    turbo = budget_field()

    LEVELS = {"total": "", "relax": Mode.RELAX, "fast": Mode.FAST, "turbo": Mode.TURBO}

    @classmethod
    def initial_for(cls, budgets: dict[str, Decimal]) -> dict[str, str]:
        return {field: plain(budgets.get(mode)) for field, mode in cls.LEVELS.items()}

    def save(self, team: Team, user: User | None) -> None:
        with transaction.atomic():
            for field, mode in self.LEVELS.items():
                amount = self.cleaned_data[field]
                if amount is None:
                    Budget.objects.filter(team=team, user=user, mode=mode).delete()
                else:
                    Budget.objects.update_or_create(
                        team=team, user=user, mode=mode, defaults={"amount": amount}
                    )


# --- Turbo and concurrency --------------------------------------------------------------

TURBO_ROLE_CHOICES = [(Role.ADMIN.value, "Admins"), (Role.MEMBER.value, "Members")]


class TeamLimitsForm(forms.Form):
    turbo_roles = forms.MultipleChoiceField(
        choices=TURBO_ROLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Only admins and members can be given Turbo."},
    )
    concurrency_limit = forms.IntegerField(
        min_value=1,
        max_value=100,
        error_messages={
            "required": "Enter how many jobs may run at once (1 to 100).",
            "invalid": "Enter a whole number from 1 to 100.",
            "min_value": "At least 1 job must be able to run.",
            "max_value": "At most 100 jobs at once.",
        },
    )

    @classmethod
    def for_team(cls, team: Team) -> "TeamLimitsForm":
        roles = [role for role in team.turbo_roles.split(",") if role]
        return cls(initial={"turbo_roles": roles, "concurrency_limit": team.concurrency_limit})

    def save(self, team: Team) -> None:
        chosen = set(self.cleaned_data["turbo_roles"])
        # Stored in a fixed order so the same choice always reads the same.
        team.turbo_roles = ",".join(role for role, _ in TURBO_ROLE_CHOICES if role in chosen)
        team.concurrency_limit = self.cleaned_data["concurrency_limit"]
        with transaction.atomic():
            team.save(update_fields=["turbo_roles", "concurrency_limit"])


# --- ledger filters ---------------------------------------------------------------------


class LedgerFilterForm(forms.Form):
    """The ledger's filters, read from the query string. A filter that does not read is
    shown with its error and ignored; the others still apply."""

    member = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    project = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    mode = forms.ChoiceField(choices=[("", "Any mode"), *Mode.choices], required=False)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *EntryKind.choices], required=False)
    date_from = date_filter_field()
    date_to = date_filter_field()

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = (
            Membership.objects.filter(team=team).select_related("user").order_by("user__username")
        )
        member_field = self.fields["member"]
        assert isinstance(member_field, forms.TypedChoiceField)
        member_field.choices = [("", "Anyone")] + [
            (m.user_id, m.user.display_name) for m in members
        ]
        project_field = self.fields["project"]
        assert isinstance(project_field, forms.TypedChoiceField)
        projects = Project.objects.filter(team=team).order_by("name").values_list("pk", "name")
        project_field.choices = [("", "Any project"), *projects]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date comes before the start date.")
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The filters that read, whatever else did not."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}
