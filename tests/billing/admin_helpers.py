"""Ledger rows and page helpers for the admin money pages' tests."""

import datetime
import json
import re
from decimal import Decimal
from typing import Any

from studio.billing.models import EntryKind, LedgerEntry, month_of
from tests.factories import make_job

UTC = datetime.UTC


def at(day: str, time: str = "12:00") -> datetime.datetime:
    """A moment in UTC, e.g. at("2026-03-05", "09:30")."""
    return datetime.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC)


def money_job(
    *,
    project: Any,
    user: Any,
    when: datetime.datetime,
    mode: str = "fast",
    operation: str = "imagine",
    amount: str = "0.045",
    settle: str | None = "charge",
    reason: str = "",
    points: int | None = None,
    month: datetime.date | None = None,
) -> Any:
    """A job with its hold and, unless `settle` is None, its charge or release, all
    dated `when`; `month` is the budget month, when it is not `when`'s."""
    job = make_job(project=project, user=user, operation=operation, process_mode=mode)
    common = {
        "team": project.team,
        "user": user,
        "project": project,
        "job": job,
        "mode": mode,
        "operation": operation,
        "amount": Decimal(amount),
        "month": month or month_of(when),
    }
    entries = [LedgerEntry.objects.create(kind=EntryKind.HOLD, **common)]
    if settle is not None:
        entries.append(
            LedgerEntry.objects.create(
                kind=EntryKind.CHARGE if settle == "charge" else EntryKind.RELEASE,
                provider_usage={"type": "point", "consume": points} if points else {},
                reason=reason,
                **common,
            )
        )
    LedgerEntry.objects.filter(pk__in=[entry.pk for entry in entries]).update(created_at=when)
    return job


def chart_data(html: str) -> dict[str, Any]:
    """The JSON the spend page hands to its charts."""
    match = re.search(r'<script id="spend-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the spend page has no chart data"
    return json.loads(match.group(1))


def hx(client: Any, url: str, data: dict[str, Any] | None = None) -> Any:
    """An HTMX form post, as the page's forms send it."""
    return client.post(url, data or {}, headers={"HX-Request": "true"})
