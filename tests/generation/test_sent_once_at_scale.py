"""A job is sent exactly once and never loses its result, in the at-scale shape: a web
process (with the provider's emulator) and a worker process of their own, on the test
database (PostgreSQL in CI) — faults from the sandbox's markers, and `kill -9` where a
crash is the point.

Every test counts the tasks the provider made for the prompt: exactly one, whatever
happened to the answer. The last one shows the worker woken by the web process's news,
not by its poll."""

import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from studio.billing.models import LedgerEntry
from studio.generation.models import Job, Status, WorkerBeat
from studio.sandbox.models import Task
from tests.conftest import (
    StudioServer,
    _database_url,
    free_port,
    server_env,
    start_server,
    start_worker,
    stop_server,
    wait_for,
)
from tests.generation.helpers import finished, submit

WORKER_NAME = "studio-worker-under-test"


@dataclass
class Cluster:
    web: StudioServer
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    worker: subprocess.Popen[bytes] | None = None

    def start_worker(self) -> None:
        # PGAPPNAME names the worker's PostgreSQL sessions, so a test can see it wait.
        self.worker = start_worker(env={**self.env, "PGAPPNAME": WORKER_NAME})
        self.processes.append(self.worker)

    def kill_worker(self) -> None:
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                stop_server(process)


@pytest.fixture
def studio(alone: None, tmp_path: Path, settings: Any) -> Iterator[Callable[..., Cluster]]:
    """Starts a web process (no worker inside) and a worker process, with `env` set."""
    started: list[Cluster] = []
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media

    def start(**env: str) -> Cluster:
        port = free_port()
        shared = {
            "PROVIDER_TIMEOUT_SECONDS": "5",
            "WORKER_DEAD_AFTER_SECONDS": "2",
            "SANDBOX_STEP_SECONDS": "0.2",
            **env,
        }
        web, url = start_server(media_root=media, port=port, worker=False, extra_env=shared)
        made = Cluster(StudioServer(url, media), server_env(port=port, media_root=media, **shared))
        made.processes.append(web)
        started.append(made)
        made.start_worker()
        return made

    yield start
    for made in started:
        made.stop()


def provider_tasks(prompt: str) -> int:
    return Task.objects.filter(input__prompt=prompt).count()


def ledger(job: Job) -> list[str]:
    return sorted(LedgerEntry.objects.filter(job=job).values_list("kind", flat=True))


def reached(job: Job, status: str, *, timeout: float = 60) -> Job:
    def there() -> bool:
        job.refresh_from_db()
        return job.status == status

    wait_for(there, timeout=timeout, what=f"job {job.pk} to be {status} (it is {job.status})")
    return job


def test_a_create_answered_500_after_making_the_task_completes_once_charged_once(
    studio: Callable[..., Cluster], project: Any, bob: Any
) -> None:
    web = studio().web
    prompt = "a lighthouse keeper's lamp [sandbox:ambiguous-create]"

    job = finished(submit(web, web.login("bob"), project, prompt))

    assert job.status == Status.COMPLETED, job.error
    assert provider_tasks(prompt) == 1
    assert job.provider_task_id == str(Task.objects.get(input__prompt=prompt).task_id)
    assert job.dispatch_attempts == 1
    assert ledger(job) == ["charge", "hold"]


def test_a_create_answered_after_the_timeout_completes_once_charged_once(
    studio: Callable[..., Cluster], project: Any, bob: Any
) -> None:
    web = studio(PROVIDER_TIMEOUT_SECONDS="2").web
    prompt = "a slow ferry [sandbox:slow-create-6]"

    job = finished(submit(web, web.login("bob"), project, prompt))

    assert job.status == Status.COMPLETED, job.error
    assert provider_tasks(prompt) == 1
    assert ledger(job) == ["charge", "hold"]


def test_with_the_answer_and_every_webhook_lost_the_job_ends_unknown_with_its_hold_kept(
    studio: Callable[..., Cluster], project: Any, bob: Any
) -> None:
    web = studio(JOB_DEADLINE_SECONDS="10").web
    prompt = "a message in a bottle [sandbox:ambiguous-create] [sandbox:drop-webhooks]"

    job = submit(web, web.login("bob"), project, prompt)
    reached(job, Status.UNCONFIRMED)
    reached(job, Status.UNKNOWN)

    assert provider_tasks(prompt) == 1
    assert job.dispatch_attempts == 1
    assert ledger(job) == ["hold"]  # kept for an admin; never released by itself
    assert "until an admin settles it" in job.note


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="holding the worker between the provider's answer and its save needs row locks",
)
def test_a_worker_killed_between_the_providers_answer_and_the_save_loses_nothing(
    studio: Callable[..., Cluster], project: Any, bob: Any
) -> None:
    # Webhooks come only once the task ends (reordered), so nothing but the worker's
    # answer could teach Studio the task id before the kill.
    made = studio(SANDBOX_STEP_SECONDS="1")
    prompt = "a kite over dunes [sandbox:slow-create-2] [sandbox:reorder-webhooks]"

    job = submit(made.web, made.web.login("bob"), project, prompt)
    wait_for(lambda: provider_tasks(prompt) == 1, what="the provider to make the task")
    with psycopg.connect(_database_url()) as lock:
        # Hold the job's row: the worker gets its answer, then waits to save it.
        lock.execute("SELECT id FROM generation_job WHERE id = %s FOR UPDATE", [job.pk])
        wait_for(
            lambda: lock.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE \"generation_job\"%%'",
                [WORKER_NAME],
            ).fetchone()[0],  # type: ignore[index]
            what="the worker to wait to save the provider's answer",
        )
        made.kill_worker()
        saved = lock.execute(
            "SELECT status, provider_task_id FROM generation_job WHERE id = %s", [job.pk]
        ).fetchone()
        assert saved == (Status.QUEUED, "")  # the answer died with the worker
        lock.rollback()
    made.start_worker()

    job = finished(job)

    assert job.status == Status.COMPLETED, job.error
    assert provider_tasks(prompt) == 1
    assert ledger(job) == ["charge", "hold"]
    # The send the dead worker was running was run again, and sent nothing.
    wait_for(lambda: not DBTaskResult.objects.running().exists(), what="no task left running")
    assert job.dispatch_attempts == 1


def test_a_worker_killed_while_its_create_is_on_the_way_never_sends_it_twice(
    studio: Callable[..., Cluster], project: Any, bob: Any
) -> None:
    made = studio(JOB_DEADLINE_SECONDS="30")
    prompt = "a lantern adrift [sandbox:slow-create-20] [sandbox:drop-webhooks]"

    job = submit(made.web, made.web.login("bob"), project, prompt)
    wait_for(lambda: provider_tasks(prompt) == 1, what="the provider to make the task")
    made.kill_worker()
    made.start_worker()

    # No answer can come any more: once an answer would be overdue, the job is
    # unconfirmed; at the deadline, unknown.
    reached(job, Status.UNCONFIRMED)
    assert "worker sending it stopped" in job.note
    reached(job, Status.UNKNOWN)

    assert provider_tasks(prompt) == 1
    assert ledger(job) == ["hold"]
    assert not DBTaskResult.objects.running().exists()  # the dead worker's task was run again
    assert job.dispatch_attempts == 1


def test_one_slow_provider_answer_never_holds_the_other_jobs(
    studio: Callable[..., Cluster], project: Any, bob: Any
) -> None:
    web = studio(PROVIDER_TIMEOUT_SECONDS="90").web
    session = web.login("bob")
    slow_prompt = "a glacier, slowly [sandbox:slow-create-60] [sandbox:drop-webhooks]"

    slow = submit(web, session, project, slow_prompt)
    wait_for(lambda: provider_tasks(slow_prompt) == 1, what="the slow create to be on its way")
    others = [submit(web, session, project, f"a quick sketch, number {n}") for n in (1, 2)]

    for job in others:
        assert finished(job, images=5).status == Status.COMPLETED, job.error
    slow.refresh_from_db()
    assert slow.is_sending  # its answer is still on the way: the others never waited on it


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="LISTEN/NOTIFY is PostgreSQL's (on SQLite a separate worker polls); "
    "this runs in CI's PostgreSQL pass",
)
def test_a_worker_that_polls_once_an_hour_still_runs_each_step_at_once(
    studio: Callable[..., Cluster], project: Any, bob: Any
) -> None:
    """The tasks the web process commits (the job's send, each webhook's refresh) wake
    the separate worker at once, through PostgreSQL's NOTIFY: its poll is the fallback,
    not the pace of every job."""
    web = studio(WORKER_INTERVAL_SECONDS="3600", WORKER_SWEEP_SECONDS="3600").web
    # Up, and past its first look at the queue: from now on only news wakes it.
    wait_for(WorkerBeat.objects.exists, what="the worker to start")

    job = finished(submit(web, web.login("bob"), project, "a lantern, woken at once"))

    assert job.status == Status.COMPLETED, job.error
    assert provider_tasks("a lantern, woken at once") == 1
