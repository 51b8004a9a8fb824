"""The task queue: django-tasks-db's database backend, which also wakes idle worker
threads as soon as a task is committed, instead of leaving it for their next poll
(WORKER_INTERVAL_SECONDS): this process's at once (`work_enqueued`), and on PostgreSQL
every worker process's, by a `NOTIFY` in the enqueue's transaction (delivered when it
commits, dropped if it rolls back) that each worker LISTENs for (`listen_for_tasks`).
Polling stays the fallback: SQLite, a listener that lost its connection."""

import logging
import threading
from typing import Any

import psycopg
from django.db import connections, router, transaction
from django.tasks import Task
from django_tasks_db.backend import DatabaseBackend, TaskResult
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

# Set once a task is committed in this process, or another process's is announced;
# idle worker threads wait on it.
work_enqueued = threading.Event()

CHANNEL = "studio_tasks"
# How long a lost listening connection waits before it is opened again.
RELISTEN_SECONDS = 2.0


def tasks_database() -> Any:
    """The connection the task queue's table is written through."""
    return connections[router.db_for_write(DBTaskResult)]


class WakingDatabaseBackend(DatabaseBackend):
    def enqueue(self, task: Task[Any, Any], args: Any, kwargs: Any) -> TaskResult[Any, Any]:
        result: TaskResult[Any, Any] = super().enqueue(task, args, kwargs)
        # The row is seen by workers once committed; a rolled-back task wakes nobody.
        transaction.on_commit(work_enqueued.set)
        database = tasks_database()
        if database.vendor == "postgresql":
            with database.cursor() as cursor:
                cursor.execute(f"NOTIFY {CHANNEL}")
        return result


def listen_for_tasks(stopping: threading.Event) -> None:
    """Until `stopping`, set `work_enqueued` whenever a process announces a task (on
    PostgreSQL; elsewhere this returns at once). Runs in a thread of its own, on a
    connection of its own outside the pool: it waits on it all the time."""
    database = tasks_database()
    if database.vendor != "postgresql":
        return
    params = database.get_connection_params()
    wanted = ("dbname", "user", "password", "host", "port", "sslmode", "application_name")
    conninfo = {name: params[name] for name in wanted if params.get(name) not in (None, "")}
    while not stopping.is_set():
        try:
            with psycopg.connect(**conninfo, autocommit=True) as listening:
                listening.execute(f"LISTEN {CHANNEL}")
                # Anything committed while it was not listening is found by this look.
                work_enqueued.set()
                while not stopping.is_set():
                    for _ in listening.notifies(timeout=1.0):
                        work_enqueued.set()
        except psycopg.Error:
            logger.warning("listening for new tasks failed; polling until it is back")
            stopping.wait(RELISTEN_SECONDS)
