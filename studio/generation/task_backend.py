"""The task queue: django-tasks-db's database backend, which also wakes this process's
idle worker threads as soon as a task is committed, instead of leaving it for their next
poll (WORKER_INTERVAL_SECONDS). A worker in another process still finds it by polling.

Not done (yet): waking workers of other processes too, e.g. with PostgreSQL's
LISTEN/NOTIFY (a `NOTIFY` in the enqueue's transaction is delivered on commit) and a
listening connection per worker process that sets `work_enqueued`; polling stays the
fallback either way (SQLite, a lost listener)."""

import threading
from typing import Any

from django.db import transaction
from django.tasks import Task
from django_tasks_db.backend import DatabaseBackend, TaskResult

# Set once a task is committed in this process; idle worker threads wait on it.
work_enqueued = threading.Event()


class WakingDatabaseBackend(DatabaseBackend):
    def enqueue(self, task: Task[Any, Any], args: Any, kwargs: Any) -> TaskResult[Any, Any]:
        result: TaskResult[Any, Any] = super().enqueue(task, args, kwargs)
        # The row is seen by workers once committed; a rolled-back task wakes nobody.
        transaction.on_commit(work_enqueued.set)
        return result
