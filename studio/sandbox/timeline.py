"""A task's state as a pure function of the time since it was created.

Step 0 is pending, steps 1-5 processing (progress 0, 25, 50, 75, 90), step 6 completed;
each step lasts the task's ``step_seconds``. Nothing moves a task along: every reader
(a GET in any process, the webhook thread) computes the same state from the clock, so
a dead thread or a second web process never leaves a task stuck.

Describe and blend first fetch their input images (fetching.py): they stay at progress 0
until the fetch is recorded on the task, then go on at the same pace from there (or
fail, "failed to fetch image"). What the fetch recorded is stored data like the
behaviours, so the state stays a function of the clock and the row.

So too a task whose images are drawn while it runs (SANDBOX_DRAW_AHEAD): it completes
when its timeline says, or when its drawing was recorded as done, if later; a drawing
never recorded (its process died) holds it back DRAWING_WAITED_SECONDS at most, after
which its images are drawn when fetched.
"""

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
# The first step that needs the fetched input images of a describe or blend.
NEEDS_INPUTS_FROM_STEP = 2
# How long past its time a task drawn ahead waits for its drawing to be recorded.
DRAWING_WAITED_SECONDS = 30.0


def fetch_error(detail: str) -> TaskError:
    return TaskError(code=10000, message=f"failed to fetch image: {detail}", raw_message=detail)


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


def plan(behaviours: Sequence[str], input_error: str = "") -> list[Step]:
    """Every state a task with these behaviours (and this failure to fetch its inputs)
    goes through, in order; step i begins i × step_seconds after creation (see
    step_begins_at) and the last one lasts forever."""
    steps = [Step(0, TaskStatus.PENDING, 0)]
    if Behaviour.STAY_PENDING in behaviours:
        return steps
    if Behaviour.MODERATE in behaviours:
        return [*steps, Step(1, TaskStatus.FAILED, 0, MODERATION_ERROR)]
    for progress in PROGRESS_STEPS:
        steps.append(Step(len(steps), TaskStatus.PROCESSING, progress))
        if input_error and len(steps) == NEEDS_INPUTS_FROM_STEP:
            return [*steps, Step(len(steps), TaskStatus.FAILED, progress, fetch_error(input_error))]
        if Behaviour.NEVER_FINISH in behaviours and progress == NEVER_FINISH_PROGRESS:
            return steps
        if Behaviour.FAIL in behaviours and progress == FAIL_AFTER_PROGRESS:
            return [*steps, Step(len(steps), TaskStatus.FAILED, progress, FAILED_ERROR)]
    return [*steps, Step(len(steps), TaskStatus.COMPLETED, 100)]


def plan_for(task: Task) -> list[Step]:
    return plan(task.behaviours, task.input_error)


def step_at(task: Task, moment: datetime) -> Step:
    if task.canceled_at is not None and moment >= task.canceled_at:
        return CANCELED_STEP
    steps = plan_for(task)
    current = steps[0]
    for step in steps[1:]:
        begins = step_begins_at(task, step)
        if begins is None or (task.step_seconds > 0 and begins > moment):
            break
        current = step
    return current


def current_step(task: Task) -> Step:
    return step_at(task, now())


def step_begins_at(task: Task, step: Step) -> datetime | None:
    """When the step begins; None while it waits for input images still being fetched,
    or for its images being drawn."""
    normally = task.created_at + timedelta(seconds=step.index * task.step_seconds)
    if waits_for_drawing(task, step):
        return _once_drawn(task, normally)
    if not task.fetches_inputs or step.index < NEEDS_INPUTS_FROM_STEP:
        return normally
    if task.inputs_ready_at is None:
        return None
    since_fetched = (step.index - NEEDS_INPUTS_FROM_STEP) * task.step_seconds
    return max(normally, task.inputs_ready_at + timedelta(seconds=since_fetched))


def waits_for_drawing(task: Task, step: Step) -> bool:
    """Whether the step is a task's completion that waits for its images being drawn
    (a task at zero step time is instant: its images are drawn when fetched)."""
    return step.status == TaskStatus.COMPLETED and task.draws_ahead and task.step_seconds > 0


def _once_drawn(task: Task, normally: datetime) -> datetime | None:
    """When a task drawn ahead completes: not before its time, nor before its drawing was
    recorded; not after its time and DRAWING_WAITED_SECONDS, drawn or not (a wait that
    only ever ends, so a state once shown is never taken back)."""
    latest = normally + timedelta(seconds=DRAWING_WAITED_SECONDS)
    if task.drawn_at is not None:
        return max(normally, min(task.drawn_at, latest))
    return latest if now() >= latest else None


def started_at(task: Task, step: Step) -> datetime | None:
    """When Midjourney picked the task up (the first step after pending)."""
    if step.canceled or step.index < 1:
        return None
    return task.created_at + timedelta(seconds=task.step_seconds)


def ended_at(task: Task, step: Step) -> datetime | None:
    if step.canceled:
        return task.canceled_at
    return step_begins_at(task, step) if step.is_final else None
