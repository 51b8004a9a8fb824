"""Behaviours: how a test or a demo tells the sandbox to misbehave.

Put a marker ``[sandbox:NAME]`` anywhere in a prompt, or list NAME in the
``SANDBOX_BEHAVIOURS`` setting to apply it to every task. The prompt is echoed exactly
as given (markers included), as the real provider would echo it. Names are
case-insensitive and ``_`` may stand for ``-`` (``drop_webhooks`` = ``drop-webhooks``);
unknown names in a prompt are ignored, unknown names in the setting fail the system check.

Outcome of the task:

- ``fail``: pending → processing (0, 25) → failed, error code 10000,
  "the sandbox was told to fail this task".
- ``moderate``: pending → failed at the first processing step, like Midjourney's
  moderator rejecting the prompt ("Banned prompt detected by moderation").
- ``slow``: every step takes 5× ``SANDBOX_STEP_SECONDS``.
- ``never-finish``: stays processing at progress 50 forever.
- ``stay-pending``: stays pending until canceled (a cancel is always possible), and the
  cancel is delivered by webhook like any other.

Answer of the create call (nothing is created when it fires):

- ``http-401``, ``http-429``, ``http-500``: every create call with the marker answers
  that HTTP status (429 with ``Retry-After: 1``).
- ``http-429-once``, ``http-500-once``: only the first create call with this exact prompt
  answers 429 / 500; later ones succeed. Remembered in the database, so it holds across
  processes.

The create call's answer, when the task *was* created (the unclear outcomes a client
must never answer by sending again):

- ``ambiguous-create``: the task is created (and runs, and sends its webhooks), but the
  create call answers HTTP 500 without a task id, as if the answer were lost.
- ``slow-create``: the task is created at once, but the answer comes only after
  ``SANDBOX_SLOW_CREATE_SECONDS`` (40 by default, longer than a client's usual 30 s
  timeout); ``slow-create-N`` waits N seconds instead.

Webhooks:

- ``drop-webhooks``: none are sent; polling has to finish the job.
- ``duplicate-webhooks``: every delivery is sent twice.
- ``reorder-webhooks``: all deliveries are held back and sent at the end in reverse
  order (the final state first, then the stale ones).
"""

import hashlib
import re
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction

from studio.sandbox.models import FiredOnceMarker


class Behaviour(StrEnum):
    FAIL = "fail"
    MODERATE = "moderate"
    SLOW = "slow"
    NEVER_FINISH = "never-finish"
    STAY_PENDING = "stay-pending"
    HTTP_401 = "http-401"
    HTTP_429 = "http-429"
    HTTP_500 = "http-500"
    HTTP_429_ONCE = "http-429-once"
    HTTP_500_ONCE = "http-500-once"
    AMBIGUOUS_CREATE = "ambiguous-create"
    SLOW_CREATE = "slow-create"
    DROP_WEBHOOKS = "drop-webhooks"
    DUPLICATE_WEBHOOKS = "duplicate-webhooks"
    REORDER_WEBHOOKS = "reorder-webhooks"


SLOW_FACTOR = 5

MARKER_PATTERN = re.compile(r"\[sandbox:\s*([A-Za-z0-9_-]+)\s*\]")
SLOW_CREATE_SECONDS = re.compile(r"\[sandbox:\s*slow[-_]create[-_](\d{1,3})\s*\]", re.IGNORECASE)

# The create call's answer for each HTTP behaviour, checked in this order.
HTTP_FAILURES: dict[Behaviour, tuple[int, str]] = {
    Behaviour.HTTP_401: (401, "Unauthorized: the sandbox was told to reject this call"),
    Behaviour.HTTP_429: (429, "Too many requests: the sandbox was told to rate-limit this call"),
    Behaviour.HTTP_500: (500, "Internal server error: the sandbox was told to fail this call"),
    Behaviour.HTTP_429_ONCE: (
        429,
        "Too many requests: the sandbox was told to rate-limit the first call with this prompt",
    ),
    Behaviour.HTTP_500_ONCE: (
        500,
        "Internal server error: the sandbox was told to fail the first call with this prompt",
    ),
}
ONCE = {Behaviour.HTTP_429_ONCE, Behaviour.HTTP_500_ONCE}


def normalise_name(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def known(name: str) -> Behaviour | None:
    try:
        return Behaviour(normalise_name(name))
    except ValueError:
        return None


def from_prompt(prompt: str) -> list[Behaviour]:
    """The known markers in a prompt, in order of first appearance."""
    found = (known(name) for name in MARKER_PATTERN.findall(prompt))
    return list(dict.fromkeys(behaviour for behaviour in found if behaviour))


def from_settings() -> list[Behaviour]:
    found = (known(name) for name in settings.SANDBOX_BEHAVIOURS)
    return list(dict.fromkeys(behaviour for behaviour in found if behaviour))


def for_prompt(prompt: str) -> list[Behaviour]:
    """Everything that applies to a new task: the prompt's markers, then the setting's."""
    return list(dict.fromkeys([*from_prompt(prompt), *from_settings()]))


def unknown_in_settings() -> list[str]:
    return [name for name in settings.SANDBOX_BEHAVIOURS if not known(name)]


def http_failure(behaviours: list[Behaviour], prompt: str) -> tuple[int, str] | None:
    """The HTTP status and message the create call must answer instead of creating,
    or None. A ``-once`` behaviour fires only on the first call with this prompt."""
    for behaviour, failure in HTTP_FAILURES.items():
        if behaviour not in behaviours:
            continue
        if behaviour not in ONCE or _fire_once(behaviour, prompt):
            return failure
    return None


def create_answer_delay(behaviours: list[str], prompt: str) -> float:
    """Seconds the create call waits, after creating the task, before it answers."""
    numbered = SLOW_CREATE_SECONDS.search(prompt)
    if numbered:
        return float(numbered.group(1))
    if Behaviour.SLOW_CREATE in behaviours:
        return float(settings.SANDBOX_SLOW_CREATE_SECONDS)
    return 0.0


def _fire_once(behaviour: Behaviour, prompt: str) -> bool:
    fingerprint = hashlib.sha256(f"{behaviour}\n{prompt}".encode()).hexdigest()
    try:
        # The unique fingerprint makes this safe across processes: one insert wins.
        with transaction.atomic():
            FiredOnceMarker.objects.create(fingerprint=fingerprint, behaviour=str(behaviour))
    except IntegrityError:
        return False
    return True
