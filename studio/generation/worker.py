"""The background worker: runs queued tasks from the database queue, several at once,
and every few seconds sweeps for jobs whose webhook is late or whose deadline passed.

`manage.py worker` runs it as its own process (at scale, one or many); `manage.py
runstudio` runs it in a thread beside the web server (the embedded default, where the
in-memory channel layer only reaches browsers of the same process).

Nothing here sleeps on a provider: a call that must be tried again is a new task with
`run_after`, so one slow or failing provider never holds the others' jobs. A worker
beats in the database; the tasks a dead worker (killed, say) was running are put back
in the queue by the others. Every task is safe to run twice (a job's create is claimed
before it is sent, so running `send_job` again never sends it again). Once an hour a
worker deletes the finished tasks and handled webhooks' records older than
RECORDS_KEPT_DAYS (records_prune).
"""

import json
import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.utils import OperationalError
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, get_date_max
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from studio.generation.models import WebhookDelivery, WorkerBeat
from studio.generation.services import jobs_sweep
from studio.generation.task_backend import listen_for_tasks, tasks_database, work_enqueued

logger = logging.getLogger(__name__)

# How often a worker deletes the records kept no longer; how many rows a statement
# deletes (a short lock each: on SQLite, writes wait for it); and how long one turn of
# it may hold up the sweep (and the beat): a first prune of a large table takes many
# turns, one a sweep.
PRUNE_EVERY_SECONDS = 3600.0
PRUNE_BATCH = 5000
PRUNE_TURN_SECONDS = 1.0

# A worker's claim on PostgreSQL, in one statement (in autocommit, its own transaction):
# the ready task first in django-tasks-db's order (its `ready()`, its `ordering`, served
# by its partial index), locked so no other worker takes it (one another holds is
# skipped, not waited for), marked running by this worker as its `claim()` marks it, and
# returned with the model's columns, named: a prepared statement that returned `*` would
# fail on every claim after a migration changed the table, until its connection closed.
CLAIM = """
UPDATE {table}
SET status = 'RUNNING', started_at = %(now)s, worker_ids = worker_ids || %(worker)s::jsonb
WHERE id = (
    SELECT id FROM {table}
    WHERE status = 'READY' AND backend_name = %(backend)s
        AND (run_after = %(never)s OR run_after <= %(now)s)
    ORDER BY priority DESC, run_after ASC, enqueued_at ASC
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING {columns}
"""


class StudioWorker:
    def __init__(
        self,
        *,
        interval: float | None = None,
        sweep_every: float | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.interval = settings.WORKER_INTERVAL_SECONDS if interval is None else interval
        self.sweep_every = settings.WORKER_SWEEP_SECONDS if sweep_every is None else sweep_every
        self.concurrency = max(1, concurrency or settings.WORKER_CONCURRENCY)
        self.beat_every = settings.WORKER_DEAD_AFTER_SECONDS / 5
        self.stopping = threading.Event()
        self.worker_id = f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.tasks = Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=self.worker_id,
            excluded_queue_names=[],
        )

    def run_ready_tasks(self) -> int:
        """Run every task that is ready now, then return how many ran.

        Each task is claimed (`claim`: a locked row, marked running), so many threads
        and workers share one queue; running is django-tasks-db's `run_task`, which
        records the result or the error."""
        ran = 0
        while not self.stopping.is_set():
            try:
                result = self.claim()
            except OperationalError as exc:
                if is_locked_database_exception(exc):
                    return ran  # SQLite is busy; the next turn tries again
                raise
            if result is None:
                return ran
            self.tasks.run_task(result)
            ran += 1
        return ran

    def claim(self) -> DBTaskResult | None:
        """The next ready task, marked running by this worker; None if there is none.

        On PostgreSQL one statement finds, locks and marks it (see CLAIM): a worker
        thread claims each task it runs, and every idle one looks when a task is
        enqueued, so django-tasks-db's claim (a transaction around a SELECT and an
        UPDATE, its query compiled each time) took 18% of a busy worker's time (py-spy,
        bench/live_completed.py). Elsewhere (SQLite, one writer at a time) it is
        django-tasks-db's own."""
        database = tasks_database()
        using = database.alias
        if database.vendor == "postgresql":
            quote = database.ops.quote_name
            columns = [field.column for field in DBTaskResult._meta.concrete_fields]
            sql = CLAIM.format(
                table=quote(DBTaskResult._meta.db_table), columns=", ".join(map(quote, columns))
            )
            now = timezone.now()
            parameters = {
                "now": now,
                "never": get_date_max(),
                "worker": json.dumps(self.worker_id),
                "backend": "default",
            }
            # Iterated once: each new iteration of a raw queryset runs its SQL again,
            # which here would claim another task.
            return next(iter(DBTaskResult.objects.raw(sql, parameters, using=using)), None)
        with exclusive_transaction(using):
            result = DBTaskResult.objects.ready().filter(backend_name="default").get_locked()
            if result is not None:
                result.claim(self.worker_id)
            return result

    def run(self) -> None:
        """Run `concurrency` task threads, and the beat and the sweep in this one, until
        `stop()`; a task in flight is finished first."""
        runners = [
            threading.Thread(target=self._run_tasks, name=f"studio-tasks-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        # Woken by tasks other processes commit (PostgreSQL), not only by polling.
        runners.append(
            threading.Thread(
                target=listen_for_tasks, args=(self.stopping,), name="studio-listen", daemon=True
            )
        )
        for runner in runners:
            runner.start()
        try:
            self._sweep()
        finally:
            self.stop()
            for runner in runners:
                runner.join()
            try:
                # A clean exit: nothing of ours is left running.
                WorkerBeat.objects.filter(worker_id=self.worker_id).delete()
            finally:
                connection.close()

    def stop(self) -> None:
        self.stopping.set()
        work_enqueued.set()  # idle task threads see it now

    def _run_tasks(self) -> None:
        try:
            while not self.stopping.is_set():
                ran = 0
                # Cleared before looking, so a task committed while we look wakes us.
                work_enqueued.clear()
                try:
                    close_old_connections()
                    ran = self.run_ready_tasks()
                except Exception:
                    # A broken database connection must not end the thread; the next turn
                    # starts clean.
                    logger.exception("worker turn failed")
                    close_old_connections()
                if not ran and not self.stopping.is_set():
                    # Woken by a task committed here or announced by another process
                    # (task_backend.py); else polls (tasks due at their run_after).
                    work_enqueued.wait(self.interval)
        finally:
            connection.close()

    def _sweep(self) -> None:
        next_sweep = next_beat = next_prune = 0.0
        while not self.stopping.is_set():
            try:
                close_old_connections()
                if time.monotonic() >= next_beat:
                    self.beat()
                    next_beat = time.monotonic() + self.beat_every
                if time.monotonic() >= next_sweep:
                    tasks_reclaim()
                    jobs_sweep()
                    next_sweep = time.monotonic() + self.sweep_every
                if time.monotonic() >= next_prune:
                    left = records_prune()
                    next_prune = time.monotonic() + (
                        self.sweep_every if left else PRUNE_EVERY_SECONDS
                    )
            except Exception:
                # A bug in one sweep must not end the worker.
                logger.exception("worker sweep failed")
                close_old_connections()
            self.stopping.wait(min(self.interval, self.sweep_every, self.beat_every))

    def beat(self) -> None:
        WorkerBeat.objects.update_or_create(
            worker_id=self.worker_id, defaults={"beat_at": timezone.now()}
        )


def tasks_reclaim() -> int:
    """Put back in the queue the tasks that workers silent for WORKER_DEAD_AFTER_SECONDS
    left running (a worker killed mid-task never records an end). Returns how many."""
    now = timezone.now()
    dead_after = timedelta(seconds=settings.WORKER_DEAD_AFTER_SECONDS)
    alive = set(
        WorkerBeat.objects.filter(beat_at__gte=now - dead_after).values_list("worker_id", flat=True)
    )
    abandoned = DBTaskResult.objects.running().filter(started_at__lt=now - dead_after)
    reclaimed = 0
    for result in abandoned.only("id", "worker_ids", "started_at"):
        if result.worker_ids and result.worker_ids[-1] in alive:
            continue
        reclaimed += DBTaskResult.objects.filter(
            pk=result.pk, status=TaskResultStatus.RUNNING, started_at=result.started_at
        ).update(status=TaskResultStatus.READY, started_at=None)
        logger.warning("task %s of a dead worker is queued again", result.pk)
    # Beats of workers long gone tell nothing any more.
    WorkerBeat.objects.filter(beat_at__lt=now - 10 * dead_after).delete()
    return reclaimed


def records_prune(seconds: float = PRUNE_TURN_SECONDS) -> bool:
    """Delete the finished tasks and the records of handled webhooks older than
    RECORDS_KEPT_DAYS, for about `seconds` at most: else the queue's table grows with
    every job for ever, and the sweeps that read it (tasks_reclaim, results_sweep) with
    it. Returns whether old tasks are left for the next turn."""
    before = timezone.now() - timedelta(days=settings.RECORDS_KEPT_DAYS)
    finished = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED], finished_at__lt=before
    )
    turn_ends = time.monotonic() + seconds
    while batch := list(finished.values_list("pk", flat=True)[:PRUNE_BATCH]):
        DBTaskResult.objects.filter(pk__in=batch).delete()
        if time.monotonic() >= turn_ends:
            return True
    # A provider redelivers a webhook within hours, not weeks.
    WebhookDelivery.objects.filter(received_at__lt=before).delete()
    return False
