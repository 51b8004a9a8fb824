"""The project's feed of jobs: its whole history, newest first, a page at a time, found by
prompt words and filtered by maker, operation, mode and state.

The search and the filters a job has are the gallery's too (`studio.generation.search`).
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms

from studio.generation.models import ACTIVE_STATUSES, Job, JobQuerySet, Operation, Status
from studio.generation.search import Cursor, JobFilterForm, JobFilters, older_than

# What a state filter offers, and the statuses each one means. The page's script reads a
# pushed job's state (`state_of`) to decide whether a filtered feed shows it.
STATES: dict[str, tuple[str, list[str]]] = {
    "running": ("Running", list(ACTIVE_STATUSES)),
    "completed": ("Completed", [Status.COMPLETED]),
    "failed": ("Failed or unknown", [Status.FAILED, Status.UNKNOWN]),
    "canceled": ("Canceled", [Status.CANCELED]),
}
STATE_CHOICES = [(name, label) for name, (label, _) in STATES.items()]


def state_of(status: str) -> str:
    return next(name for name, (_, statuses) in STATES.items() if status in statuses)


@dataclass(frozen=True)
class FeedFilters(JobFilters):
    """What the viewer asked to see; the empty filter is the whole (live) feed."""

    state: str = ""

    @property
    def is_empty(self) -> bool:
        return self == FeedFilters()

    @property
    def count(self) -> int:
        """How many of the drawer's filters are set (the search box shows on its own)."""
        return sum(bool(value) for value in (self.member, self.operation, self.mode, self.state))

    def query_string(self) -> str:
        """The filters as a URL's query ("?q=fox&state=running"), "" when there are none."""
        pairs = self.query_pairs()
        if self.state:
            pairs.append(("state", self.state))
        return "?" + urlencode(pairs) if pairs else ""

    def as_data(self) -> dict[str, Any]:
        """The filters as the page's script matches a pushed job against them."""
        return {
            "q": " ".join(self.words),
            "member": self.member or "",
            "operation": self.operation,
            "mode": self.mode,
            "state": self.state,
        }


class FeedFilterForm(JobFilterForm):
    operation = forms.ChoiceField(required=False, choices=Operation.choices)
    state = forms.ChoiceField(required=False, choices=STATE_CHOICES)

    def filters(self) -> FeedFilters:
        job_filters = self.job_filters()
        return FeedFilters(**job_filters, state=self.cleaned_data.get("state") or "")


def feed_jobs(*, project_id: int, filters: FeedFilters, after: Cursor | None = None) -> JobQuerySet:
    """The project's jobs that match `filters`, newest first, after `after` if given."""
    jobs = Job.objects.filter(project_id=project_id).filter(filters.job_condition())
    if filters.state:
        jobs = jobs.filter(status__in=STATES[filters.state][1])
    if after is not None:
        jobs = older_than(jobs, after)
    return jobs.order_by("-created_at", "-id")


def operations_used(project_id: int, filters: FeedFilters) -> list[tuple[str, str]]:
    """The operations an operation filter offers: those the project's jobs used (one
    query), and the one asked for."""
    used = set(
        Job.objects.filter(project_id=project_id)
        .order_by()  # or the jobs' default ordering would make every row distinct
        .values_list("operation", flat=True)
        .distinct()
    )
    used.add(filters.operation)
    return [(value, label) for value, label in Operation.choices if value in used]
