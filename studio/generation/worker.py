"""The background worker: runs queued tasks from the database queue and, every few
seconds, sweeps for jobs whose webhook is late or whose deadline has passed.

`manage.py worker` runs it as its own process (at scale, one or many); `manage.py
runstudio` runs it in a thread beside the web server (the embedded default, where the
in-memory channel layer only reaches browsers of the same process).
"""

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.db.utils import OperationalError
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from studio.generation.services import jobs_sweep

logger = logging.getLogger(__name__)


class StudioWorker:
    def __init__(
        self,
        *,
        interval: float | None = None,
        sweep_every: float | None = None,
    ) -> None:
        self.interval = settings.WORKER_INTERVAL_SECONDS if interval is None else interval
        self.sweep_every = settings.WORKER_SWEEP_SECONDS if sweep_every is None else sweep_every
        self.stopping = threading.Event()
        self.tasks = Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"[:64],
            excluded_queue_names=[],
        )

    def run_ready_tasks(self) -> int:
        """Run every task that is ready now, then return how many ran.

        The claim is django-tasks-db's own (a locked row, claimed in a transaction), so
        many workers share one queue; running is its `run_task`, which records the
        result or the error."""
        ran = 0
        while True:
            try:
                with exclusive_transaction():
                    result = (
                        DBTaskResult.objects.ready().filter(backend_name="default").get_locked()
                    )
                    if result is None:
                        return ran
                    result.claim(self.tasks.worker_id)
            except OperationalError as exc:
                if is_locked_database_exception(exc):
                    return ran  # SQLite is busy; the next turn tries again
                raise
            self.tasks.run_task(result)
            ran += 1

    def run(self) -> None:
        next_sweep = 0.0
        while not self.stopping.is_set():
            try:
                close_old_connections()
                self.run_ready_tasks()
                if time.monotonic() >= next_sweep:
                    jobs_sweep()
                    next_sweep = time.monotonic() + self.sweep_every
            except Exception:
                # A broken database connection or a bug in one sweep must not end the
                # worker; the next turn starts clean.
                logger.exception("worker turn failed")
                close_old_connections()
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
