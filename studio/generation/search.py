"""Finding jobs, shared by the project's feed and its gallery: the words of a search, the
filters both offer (maker, operation, mode) and keyset paging newest first.

A page is found by a cursor (created_at, id), not by OFFSET, so that page 200 costs what
page 1 does and a job arriving meanwhile never shifts a page.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from django import forms
from django.db.models import Q, QuerySet

from studio.accounts.models import User
from studio.generation.models import ProcessMode
from studio.projects.models import Project

SEARCH_WORDS = 12  # more words than this in a search are ignored

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"(\d{1,20})\.(\d{1,20})")


class Dated(Protocol):
    created_at: datetime
    pk: int


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: the last row a page showed."""

    created_at: datetime
    pk: int

    @classmethod
    def after(cls, row: Dated) -> "Cursor":
        return cls(row.created_at, row.pk)

    @classmethod
    def parse(cls, token: str) -> "Cursor | None":
        """The cursor a token names, or None for anything else (a page starts at the top)."""
        match = _CURSOR.fullmatch(token or "")
        if match is None:
            return None
        try:
            moment = _EPOCH + timedelta(microseconds=int(match[1]))
        except OverflowError:
            return None
        return cls(moment, int(match[2]))

    @property
    def token(self) -> str:
        # Whole microseconds since the epoch: exact, unlike a float timestamp.
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.pk}"


def older_than[Rows: QuerySet[Any]](rows: Rows, cursor: Cursor) -> Rows:
    """The rows after `cursor` in the newest-first order.

    Written as a range on created_at minus the cursor's own instant, rather than
    `a < t OR (a = t AND id < pk)`, so that the database walks the (created_at, id)
    index from the cursor instead of from the top.
    """
    return rows.filter(created_at__lte=cursor.created_at).exclude(
        created_at=cursor.created_at, pk__gte=cursor.pk
    )


def newer_than[Rows: QuerySet[Any]](rows: Rows, cursor: Cursor) -> Rows:
    return rows.filter(created_at__gte=cursor.created_at).exclude(
        created_at=cursor.created_at, pk__lte=cursor.pk
    )


def search_words(text: str) -> tuple[str, ...]:
    """The distinct words of a search, in order (case is ignored when matching)."""
    seen: dict[str, str] = {}
    for word in text.split():
        seen.setdefault(word.casefold(), word)
    return tuple(seen.values())[:SEARCH_WORDS]


@dataclass(frozen=True)
class JobFilters:
    """What the feed and the gallery both filter by: the job's prompt, maker, operation
    and mode. The empty filter is everything."""

    words: tuple[str, ...] = ()
    member: int | None = None
    operation: str = ""
    mode: str = ""

    def job_condition(self, prefix: str = "") -> Q:
        """The condition on a job (`prefix` "job__" from one of its images).

        Search: every word must appear in the prompt, case-insensitively (a plain LIKE per
        word, so SQLite and PostgreSQL give the same results)."""
        condition = Q()
        for word in self.words:
            condition &= Q(**{f"{prefix}prompt__icontains": word})
        if self.member:
            condition &= Q(**{f"{prefix}created_by_id": self.member})
        if self.operation:
            condition &= Q(**{f"{prefix}operation": self.operation})
        if self.mode:
            condition &= Q(**{f"{prefix}process_mode": self.mode})
        return condition

    def query_pairs(self) -> list[tuple[str, Any]]:
        """These filters as a URL's query pairs, in a fixed order."""
        pairs: list[tuple[str, Any]] = []
        if self.words:
            pairs.append(("q", " ".join(self.words)))
        if self.member:
            pairs.append(("member", self.member))
        if self.operation:
            pairs.append(("operation", self.operation))
        if self.mode:
            pairs.append(("mode", self.mode))
        return pairs


class JobFilterForm(forms.Form):
    """The filters a job has, read from the URL (each page adds its own and says which
    operations it lists). A value that makes no sense (a shared link edited by hand) is
    ignored rather than refused."""

    q = forms.CharField(required=False, max_length=300)
    member = forms.IntegerField(required=False, min_value=1)
    operation = forms.ChoiceField(required=False)
    mode = forms.ChoiceField(required=False, choices=ProcessMode.choices)

    def job_filters(self) -> dict[str, Any]:
        """The valid fields as `JobFilters`' arguments."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "words": search_words(data.get("q") or ""),
            "member": data.get("member") or None,
            "operation": data.get("operation") or "",
            "mode": data.get("mode") or "",
        }


def team_members(project: Project) -> list[tuple[int, str]]:
    """Who a "Made by" filter offers: the project's team, by name (one query)."""
    return [
        (user.pk, user.display_name)
        for user in User.objects.filter(memberships__team_id=project.team_id).order_by(
            "first_name", "last_name", "username"
        )
    ]
