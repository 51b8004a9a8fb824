"""Money: prices, monthly budgets, and the append-only ledger.

Prices are data per provider, mode and operation: each provider module has its default
prices (`Provider.default_prices`), and a team's `Price` rows override them.

Every movement of money is a `LedgerEntry` (hold, charge, release); `Usage` rows are a
cache of the ledger per team, member and month, locked while a hold is decided, so that
no interleaving of requests can spend past a budget. Money is Decimal, never float.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from studio.accounts.models import Team
from studio.providers import CHOICES as PROVIDER_CHOICES

ZERO = Decimal("0")


class Mode(models.TextChoices):
    RELAX = "relax", "Relax"
    FAST = "fast", "Fast"
    TURBO = "turbo", "Turbo"


def month_of(moment: datetime.datetime | datetime.date) -> datetime.date:
    """The budget period: the calendar month (UTC) a moment falls in."""
    if isinstance(moment, datetime.datetime):
        moment = moment.astimezone(datetime.UTC).date()
    return moment.replace(day=1)


class Price(models.Model):
    """What Studio charges a team per job of one provider, by mode, optionally for one
    operation only, instead of the provider's default price."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="prices")
    provider = models.CharField(max_length=12, choices=PROVIDER_CHOICES, default="piapi")
    mode = models.CharField(max_length=5, choices=Mode.choices)
    # An operation, or a variant its provider charges differently ("upscale_creative").
    operation = models.CharField(max_length=20, blank=True, help_text="Blank: every operation.")
    amount = models.DecimalField(max_digits=12, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "provider", "mode", "operation"], name="one_price_per_kind"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.provider} {self.mode} {self.operation or 'any'} ${self.amount}"


class Budget(models.Model):
    """A monthly limit. `user` empty: the whole team's; `mode` empty: all modes together.
    Zero means nothing may be spent."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="budgets")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="budgets",
    )
    mode = models.CharField(max_length=5, choices=Mode.choices, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=4)

    class Meta:
        constraints = [
            # Two partial indexes rather than NULLS NOT DISTINCT, which SQLite lacks.
            models.UniqueConstraint(
                fields=["team", "user", "mode"],
                condition=Q(user__isnull=False),
                name="one_member_budget_per_mode",
            ),
            models.UniqueConstraint(
                fields=["team", "mode"],
                condition=Q(user__isnull=True),
                name="one_team_budget_per_mode",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="budget_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.user or 'team'} {self.mode or 'all'}: ${self.amount}"


class Usage(models.Model):
    """Spent and held money of one team member (or, with no user, the whole team) in one
    month, per mode. A cache of the ledger, rebuilt by `usage_rebuild`; the row is locked
    while a hold is decided."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="usage")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="usage",
    )
    month = models.DateField()
    spent_relax = models.DecimalField(max_digits=12, decimal_places=4, default=ZERO)
    spent_fast = models.DecimalField(max_digits=12, decimal_places=4, default=ZERO)
    spent_turbo = models.DecimalField(max_digits=12, decimal_places=4, default=ZERO)
    held_relax = models.DecimalField(max_digits=12, decimal_places=4, default=ZERO)
    held_fast = models.DecimalField(max_digits=12, decimal_places=4, default=ZERO)
    held_turbo = models.DecimalField(max_digits=12, decimal_places=4, default=ZERO)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "user", "month"],
                condition=Q(user__isnull=False),
                name="one_member_usage_per_month",
            ),
            models.UniqueConstraint(
                fields=["team", "month"],
                condition=Q(user__isnull=True),
                name="one_team_usage_per_month",
            ),
            models.CheckConstraint(
                condition=Q(held_relax__gte=0, held_fast__gte=0, held_turbo__gte=0),
                name="held_never_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"usage {self.team} {self.user or 'team'} {self.month:%Y-%m}"

    def spent(self, mode: str = "") -> Decimal:
        modes = [mode] if mode else list(Mode.values)
        return sum((getattr(self, f"spent_{m}") for m in modes), ZERO)

    def held(self, mode: str = "") -> Decimal:
        modes = [mode] if mode else list(Mode.values)
        return sum((getattr(self, f"held_{m}") for m in modes), ZERO)

    def used(self, mode: str = "") -> Decimal:
        return self.spent(mode) + self.held(mode)


class EntryKind(models.TextChoices):
    HOLD = "hold", "Hold"
    CHARGE = "charge", "Charge"
    RELEASE = "release", "Release"


class LedgerEntry(models.Model):
    """One movement of money; rows are only ever added. A job has one hold, then exactly
    one charge (for the held amount) or one release."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="ledger")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger"
    )
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="ledger")
    job = models.ForeignKey("generation.Job", on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=7, choices=EntryKind.choices)
    mode = models.CharField(max_length=5, choices=Mode.choices)
    operation = models.CharField(max_length=16)
    amount = models.DecimalField(max_digits=12, decimal_places=4)
    month = models.DateField()
    # What the provider reported (meta.usage: points frozen and consumed), beside our price.
    provider_usage = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job"], condition=Q(kind="hold"), name="one_hold_per_job"
            ),
            models.UniqueConstraint(
                fields=["job"],
                condition=Q(kind__in=["charge", "release"]),
                name="one_settlement_per_job",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="entry_not_negative"),
        ]
        indexes = [models.Index(fields=["team", "month"])]

    def __str__(self) -> str:
        return f"{self.kind} ${self.amount} for job {self.job_id}"
