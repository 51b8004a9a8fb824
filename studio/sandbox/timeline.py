"""A task's state as a pure function of the time since it was created.

Step 0 is pending, steps 1-5 processing (progress 0, 25, 50, 75, 90), step 6 completed;
each step lasts the task's ``step_seconds``. Nothing moves a task along: every reader
(a GET in any process, the webhook thread) computes the same state from the clock, so
a dead thread or a second web process never leaves a task stuck.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from studio.sandbox.behaviours import Behaviour
from studio.sandbox.models import Task, TaskStatus

PROGRESS_STEPS = (0, 25, 50, 75, 90)
# From this progress on, a processing task shows a blurred preview of its result.
PREVIEW_FROM_PROGRESS = 50
NEVER_FINISH_PROGRESS = 50
FAIL_AFTER_PROGRESS = 25


def now() -> datetime:
    """The sandbox's clock; tests patch this to walk a task through its timeline."""
    return timezone.now()


@dataclass(frozen=True)
class TaskError:
    code: int
    message: str
    raw_message: str


# PiAPI uses 10000 for a task that failed on Midjourney's side.
FAILED_ERROR = TaskError(
    code=10000,
    message="the sandbox was told to fail this task",
    raw_message="sandbox: failure requested by the [sandbox:fail] behaviour",
)
MODERATION_ERROR = TaskError(
    code=10000,
    message="Banned prompt detected by moderation",
    raw_message=(
        "Banned prompt detected. Sorry! Our AI moderator thinks this prompt is probably "
        "against our community standards. Please review our current community standards "
        "and try again."
    ),
)
CANCELED_ERROR = TaskError(code=10000, message="task canceled", raw_message="task canceled")


@dataclass(frozen=True)
class Step:
    index: int
    status: TaskStatus
    progress: int
    error: TaskError | None = None
    canceled: bool = False

    @property
    def is_final(self) -> bool:
        return self.status in (TaskStatus.COMPLETED, TaskStatus.FAILED)


CANCELED_STEP = Step(
    index=0, status=TaskStatus.FAILED, progress=0, error=CANCELED_ERROR, canceled=True
)


def plan(behaviours: Sequence[str]) -> list[Step]:
    """Every state a task with these behaviours goes through, in order; step i begins
    i × step_seconds after creation and the last one lasts forever."""
    steps = [Step(0, TaskStatus.PENDING, 0)]
    if Behaviour.MODERATE in behaviours:
        return [*steps, Step(1, TaskStatus.FAILED, 0, MODERATION_ERROR)]
    for progress in PROGRESS_STEPS:
        steps.append(Step(len(steps), TaskStatus.PROCESSING, progress))
        if Behaviour.NEVER_FINISH in behaviours and progress == NEVER_FINISH_PROGRESS:
            return steps
        if Behaviour.FAIL in behaviours and progress == FAIL_AFTER_PROGRESS:
            return [*steps, Step(len(steps), TaskStatus.FAILED, progress, FAILED_ERROR)]
    return [*steps, Step(len(steps), TaskStatus.COMPLETED, 100)]


def step_at(task: Task, moment: datetime) -> Step:
    if task.canceled_at is not None and moment >= task.canceled_at:
        return CANCELED_STEP
    steps = plan(task.behaviours)
    if task.step_seconds <= 0:
        return steps[-1]
    elapsed = (moment - task.created_at).total_seconds()
    index = math.floor(elapsed / task.step_seconds) if elapsed > 0 else 0
    return steps[min(index, len(steps) - 1)]


def current_step(task: Task) -> Step:
    return step_at(task, now())


def step_begins_at(task: Task, step: Step) -> datetime:
    return task.created_at + timedelta(seconds=step.index * task.step_seconds)


def started_at(task: Task, step: Step) -> datetime | None:
    """When Midjourney picked the task up (the first step after pending)."""
    if step.canceled or step.index < 1:
        return None
    return task.created_at + timedelta(seconds=task.step_seconds)


def ended_at(task: Task, step: Step) -> datetime | None:
    if step.canceled:
        return task.canceled_at
    return step_begins_at(task, step) if step.is_final else None
