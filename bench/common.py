"""What the benchmarks share: a throw-away Studio (database, Redis prefix, media folder),
Studio's processes, a logged-in browser session, websockets, and the summary table.

A benchmark makes one `Bench` before it imports anything of Studio's: it points this
process (and every process it starts) at its own database and channel layer, then sets
Django up and migrates.

- DATABASE_URL set (PostgreSQL): a fresh database on that server, named after the
  benchmark (`studio_bench_<name>_<pid>`), dropped at the end; the database the URL names
  is never touched. Unset: an SQLite file in a temporary folder.
- REDIS_URL set: that Redis (say redis://127.0.0.1:6379/5) under a prefix of its own,
  whose keys are deleted at the end. Unset: the in-memory channel layer, so a worker must
  run inside the web process to reach its sockets (see `start_studio`), and a push from
  this process reaches no socket (the raw `group_send` baselines need Redis).

Every figure is a median over several runs with its spread (min–max); a ratio is worked
out run by run, each against the baseline measured in the same run.
"""

import argparse
import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1234"  # noqa: S105 (a throw-away database)
SANDBOX_KEY = "sandbox-bench-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def arguments(doc: str, *, runs: int = 5, **extra: tuple[type, Any, str]) -> argparse.Namespace:
    """--runs, --quick (fewer and smaller runs, for development) and the script's own."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=runs, help=f"runs (default {runs})")
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    for name, (kind, default, help_text) in extra.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=kind, default=default, help=help_text
        )
    return parser.parse_args()


class Bench:
    """A throw-away Studio for one benchmark (see the module's docstring)."""

    def __init__(self, name: str, **env: str) -> None:
        self.name = name
        self.work = Path(tempfile.mkdtemp(prefix=f"studio-bench-{name}-"))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []  # each Studio process's standard error
        self.admin_url = ""
        base = os.environ.get("DATABASE_URL", "")
        if base.startswith(("postgres://", "postgresql://")):
            parts = urlsplit(base)
            self.database_name = f"studio_bench_{name}_{os.getpid()}"
            self.admin_url = urlunsplit(parts._replace(path="/postgres"))
            self.database_url = urlunsplit(parts._replace(path=f"/{self.database_name}"))
            self._admin(f'CREATE DATABASE "{self.database_name}"')
        elif base:
            raise SystemExit("DATABASE_URL: the benchmarks run on PostgreSQL or, unset, SQLite")
        else:
            self.database_name = ""
            self.database_url = f"sqlite:///{self.work / 'studio.sqlite3'}"
        self.redis_url = os.environ.get("REDIS_URL", "")
        self.redis_prefix = f"studio-bench-{name}-{os.getpid()}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env: dict[str, str] = {
            # Built for development (the sandbox needs it), run with DEBUG off as in
            # production (bench/settings.py).
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "1",
            "LOG_LEVEL": "WARNING",
            "STUDIO_VAR_DIR": str(self.work / "var"),
            "MEDIA_ROOT": str(self.work / "media"),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "REDIS_PREFIX": self.redis_prefix,
            "PORT": str(self.port),
            "STUDIO_PUBLIC_URL": self.url,
            "PIAPI_BASE_URL": f"{self.url}/sandbox",
            "LEGNEXT_BASE_URL": f"{self.url}/sandbox/legnext/api",
            "SANDBOX_ENABLED": "1",
            "SANDBOX_STEP_SECONDS": "0.05",
            **env,
        }
        os.environ.update(self.env)
        # This process's own connections are told apart from Studio's (pg_connections).
        os.environ["PGAPPNAME"] = "studio-bench"
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

    # --- the database ------------------------------------------------------------

    @property
    def on_postgres(self) -> bool:
        return bool(self.database_name)

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def pg_connections(self) -> int:
        """Connections Studio's processes hold open to this benchmark's database (not this
        process's own; PostgreSQL; 0 on SQLite)."""
        if not self.on_postgres:
            return 0
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                " AND application_name <> 'studio-bench'",
                [self.database_name],
            ).fetchone()
        return int(row[0]) if row else 0

    def describe(self) -> str:
        database = f"PostgreSQL ({self.database_name})" if self.on_postgres else "SQLite"
        layer = (
            f"Redis ({self.redis_url}, prefix {self.redis_prefix})"
            if self.redis_url
            else ("in-memory channel layer")
        )
        return f"{database}, {layer}, {os.cpu_count()} cpus"

    # --- Studio's people and processes --------------------------------------------

    def provision(
        self,
        *,
        team: str = "Bench",
        project: str = "Bench",
        user: str = "bench",
        budget: str = "1000000",
    ) -> tuple[Any, Any, Any]:
        """A team with the sandbox's key and a budget, a project and an admin who logs in
        with PASSWORD: (team, project, user)."""
        from decimal import Decimal

        from studio.accounts.models import Role, Team, User
        from studio.accounts.services import team_provision
        from studio.projects.models import Project

        team_provision(
            team_name=team,
            project_name=project,
            username=user,
            password=PASSWORD,
            role=Role.ADMIN,
            piapi_key=SANDBOX_KEY,
            legnext_key="",
            budget=Decimal(budget),
        )
        the_team = Team.objects.get(name=team)
        return (
            the_team,
            Project.objects.get(team=the_team, name=project),
            User.objects.get(username=user),
        )

    def _start(self, args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        full_env = {**os.environ, **env}
        full_env.pop("PGAPPNAME", None)
        log = self.work / f"{args[0]}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=full_env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self.processes.append(process)
        return process

    def start_web(self, *, worker: bool = False, **env: str) -> subprocess.Popen[bytes]:
        """daphne (`manage.py runstudio`) on this bench's port, with or without the worker
        in the same process; returns when it answers."""
        args = ["runstudio", "--port", str(self.port)] + ([] if worker else ["--no-worker"])
        process = self._start(args, env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"runstudio exited with {process.returncode}")
            try:
                requests.get(f"{self.url}/accounts/login/", timeout=1)
                return process
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("runstudio did not start within 60 s")

    def start_worker(self, **env: str) -> subprocess.Popen[bytes]:
        return self._start(["worker"], env)

    def start_studio(self, **env: str) -> subprocess.Popen[bytes]:
        """One daphne and one worker as deployed: apart on Redis; in the web process on
        the in-memory layer (where only that keeps the worker's pushes reaching sockets).
        Returns the web process."""
        if self.redis_url:
            web = self.start_web(**env)
            self.start_worker(**env)
            return web
        return self.start_web(worker=True, **env)

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.processes:
            self.processes.remove(process)

    def login(self, username: str = "bench") -> requests.Session:
        """A browser-like session (CSRF cookie, the login form), as tests/conftest.py."""
        session = requests.Session()
        session.get(f"{self.url}/accounts/login/", timeout=10)
        response = session.post(
            f"{self.url}/accounts/login/",
            data={
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": f"{self.url}/accounts/login/"},
            timeout=10,
        )
        assert response.ok and "sessionid" in session.cookies, "login failed"
        session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
        session.headers["Referer"] = self.url + "/"
        return session

    def socket(self, project_id: int, session: requests.Session, query: str = "") -> Any:
        """A project's websocket as the page opens it, past the resync it sends first."""
        from tests.websocket import LiveSocket

        live = LiveSocket.open(self.url, f"/ws/projects/{project_id}/{query}", session)
        if "view=gallery" not in query:
            live.receive_until('id="meter-me-', timeout=30)
        return live

    def rss_kib(self, process: subprocess.Popen[bytes]) -> int:
        """Resident memory of a process (Linux)."""
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    # --- the end -------------------------------------------------------------------

    def logged(self, text: str) -> int:
        """Lines containing `text` that Studio's processes wrote to standard error."""
        return sum(
            line.count(text)
            for log in self.logs
            if log.exists()
            for line in log.open(errors="replace")
        )

    def close(self) -> None:
        for process in list(self.processes):
            self.stop(process)
        for log in self.logs:
            errors = log.read_text(errors="replace").count("Traceback") if log.exists() else 0
            if errors:
                print(f"  note: {log.stem} logged {errors} tracebacks (kept: {log.name})")
        from django.db import connections

        connections.close_all()
        for connection in connections.all():
            pool = getattr(connection, "pool", None)
            if pool is not None:
                connection.close_pool()
        if self.on_postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')
        if self.redis_url:
            import redis

            client = redis.Redis.from_url(self.redis_url)
            keys = list(client.scan_iter(match=f"{self.redis_prefix}*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
            client.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> "Bench":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RawPush:
    """The baseline of a push: the channel layer's own `group_send` from one long-lived
    event loop in this process (no rendering, no query, no new loop or connection)."""

    def __init__(self) -> None:
        from channels.layers import get_channel_layer

        self.layer = get_channel_layer()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    @property
    def reaches_sockets(self) -> bool:
        """Only through Redis does a push from this process reach daphne's sockets."""
        return bool(os.environ.get("REDIS_URL"))

    def send(self, group: str, html: str) -> None:
        message = {"type": "html.push", "html": html}
        future: Future[None] = asyncio.run_coroutine_threadsafe(
            self.layer.group_send(group, message), self.loop
        )
        future.result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def new_token() -> str:
    return secrets.token_hex(6)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


# --- the summary table ------------------------------------------------------------------


def _figure(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value * 1000:.1f}" if value < 10 else f"{value * 1000:.0f}"
    if unit == "s":
        return f"{value:.2f}"
    if unit == "x":
        return f"{value:.2f}"
    if unit in ("/s", "KiB"):
        return f"{value:.1f}"
    return f"{value:g}"


def spread(values: Sequence[float | None], unit: str) -> str:
    known = [value for value in values if value is not None]
    if not known:
        return "n/a"
    suffix = {"ms": " ms", "s": " s", "/s": "/s", "KiB": " KiB"}.get(unit, "")
    median = _figure(statistics.median(known), unit)
    return f"{median}{suffix} ({_figure(min(known), unit)}–{_figure(max(known), unit)})"


class Table:
    """Rows of `measure | baseline | Studio | ratio`, each cell the median of the runs and
    their spread (min–max); the ratio is Studio / baseline run by run."""

    def __init__(self, title: str, runs: int) -> None:
        self.title = title
        self.runs = runs
        self.rows: list[tuple[str, list[float | None], list[float | None], str]] = []
        self.notes: list[str] = []

    def add(
        self,
        measure: str,
        baseline: Sequence[float | None],
        studio: Sequence[float | None],
        unit: str = "ms",
    ) -> None:
        self.rows.append((measure, list(baseline), list(studio), unit))

    def note(self, line: str) -> None:
        self.notes.append(line)

    def print(self) -> None:
        print()
        print(f"{self.title}  ·  median (min–max) over {self.runs} runs")
        header = f"{'measure':<44} {'baseline':<26} {'Studio':<28} {'ratio':<22}"
        print(header)
        print("-" * len(header))
        for measure, baseline, studio, unit in self.rows:
            ratios: list[float | None] = [
                s / b if s is not None and b else None
                for b, s in zip(baseline, studio, strict=False)
            ]
            ratio = spread(ratios, "x")
            ratio = ratio if ratio == "n/a" else ratio.replace(" (", "× (", 1)
            cells = f"{spread(baseline, unit):<26} {spread(studio, unit):<28} {ratio:<22}"
            print(f"{measure:<44} {cells}")
        for line in self.notes:
            print(f"  {line}")
        sys.stdout.flush()


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """The CPU time a process has used so far, all its threads, user and system (Linux:
    /proc; to 10 ms)."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def counts(values: Sequence[float]) -> str:
    """Per-run counts, for what is not a ratio (lost cards, errors, connections)."""
    return ", ".join(f"{value:g}" for value in values)


def run_each(runs: int, one_run: Callable[[int], Any]) -> list[Any]:
    results = []
    for run in range(1, runs + 1):
        started = time.perf_counter()
        results.append(one_run(run))
        print(f"  run {run}/{runs} done in {time.perf_counter() - started:.1f} s", flush=True)
    return results


# --- jobs at the provider, and the provider's webhooks ------------------------------------

PAYLOADS = ROOT / "tests" / "payloads" / "piapi"


def make_jobs(
    project: Any,
    user: Any,
    count: int,
    *,
    status: str = "processing",
    task_ids: Sequence[str] = (),
    **fields: Any,
) -> list[Any]:
    """`count` jobs already at the provider (a made-up task id each), as if sent by the
    team's key: rows only, made at once."""
    import uuid

    from django.utils import timezone

    from studio.generation.models import Job

    key = project.team.active_provider_keys().first()
    now = timezone.now()
    return Job.objects.bulk_create(
        [
            Job(
                project=project,
                created_by=user,
                operation="imagine",
                prompt=f"bench job {n}, a lighthouse at dusk",
                status=status,
                provider_task_id=task_ids[n] if task_ids else str(uuid.uuid4()),
                provider_key=key,
                **{
                    "dispatched_at": now,
                    "sent_at": now,
                    "submitted_at": now,
                    "last_event_at": now,
                    **fields,
                },
            )
            for n in range(count)
        ]
    )


def progress_body(job: Any, progress: int) -> bytes:
    """PiAPI's progress webhook for `job` (no intermediate image: nothing to download)."""
    import json

    data = json.loads((PAYLOADS / "task_processing.json").read_text())["data"]
    data["task_id"] = job.provider_task_id
    data["output"]["progress"] = progress
    data["output"]["intermediate_image_urls"] = None
    return json.dumps({"timestamp": int(time.time()), "data": data}).encode()


def post_webhook(session: requests.Session, url: str, job: Any, body: bytes) -> requests.Response:
    return session.post(
        f"{url}/webhooks/piapi/{job.pk}/",
        data=body,
        headers={"Content-Type": "application/json", "x-webhook-secret": job.webhook_secret},
        timeout=60,
    )


def sandbox_task(url: str, prompt: str) -> tuple[str, float]:
    """Make an imagine task at the sandbox directly (no webhook): its id, and when
    (perf_counter) the create was answered."""
    response = requests.post(
        f"{url}/sandbox/api/v1/task",
        json={
            "model": "midjourney",
            "task_type": "imagine",
            "input": {"prompt": prompt, "aspect_ratio": "1:1", "process_mode": "fast"},
            "config": {"service_mode": "public"},
        },
        headers={"x-api-key": SANDBOX_KEY},
        timeout=30,
    )
    answered = time.perf_counter()
    response.raise_for_status()
    return str(response.json()["data"]["task_id"]), answered


def sandbox_data(url: str, task_id: str) -> dict[str, Any]:
    """The sandbox's task object (what a webhook carries as `data`)."""
    response = requests.get(
        f"{url}/sandbox/api/v1/task/{task_id}", headers={"x-api-key": SANDBOX_KEY}, timeout=30
    )
    response.raise_for_status()
    return dict(response.json()["data"])


def draw_images(data: dict[str, Any]) -> None:
    """Fetch a completed task's images once, so that the sandbox draws them now (the
    provider's work, ~300 ms of CPU a grid on this machine, not Studio's) and serves
    them from its cache when Studio downloads them (the bench raises
    SANDBOX_IMAGE_CACHE to hold a run's images)."""
    urls = [data["output"].get("image_url"), *(data["output"].get("temporary_image_urls") or [])]
    for url in filter(None, urls):
        requests.get(url, timeout=60).raise_for_status()


def completed_body(data: dict[str, Any]) -> bytes:
    import json

    return json.dumps({"timestamp": int(time.time()), "data": data}).encode()


# A job's percentage where a page shows it: its card's status pill, in a whole card or
# pushed alone (live.push_progress).
PROGRESS_PILL = re.compile(r'id="status-pill-(\d+)"[^>]*>(\d+)%<')


def progress_shown(message: str) -> list[tuple[int, int]]:
    """(job, percentage) of each progress `message` shows."""
    return [(int(job), int(progress)) for job, progress in PROGRESS_PILL.findall(message)]


def grid_cards(message: str) -> list[int]:
    """The jobs whose card in `message` shows the grid image (stored, with thumbnails)."""
    found = []
    for chunk in message.split('<article id="job-')[1:]:
        number = chunk.split('"', 1)[0]
        card = chunk.split("</article>", 1)[0]
        if number.isdigit() and 'class="job-image' in card:
            found.append(int(number))
    return found


class SocketReader(threading.Thread):
    """Reads a socket all along and notes when each key first came: the keys `keys_of`
    finds in each message, and raw markers (`<div id="raw-TOKEN">`)."""

    def __init__(self, live: Any, keys_of: Callable[[str], list[Any]]) -> None:
        super().__init__(daemon=True)
        self.live = live
        self.keys_of = keys_of
        self.seen: dict[Any, float] = {}
        self.running = True
        self.failure: Exception | None = None  # what ended the reading, told by wait_for
        self.start()

    def run(self) -> None:
        while self.running:
            try:
                message = self.live.receive(0.2)
            except TimeoutError:
                continue
            except Exception as failure:  # the socket closed, say
                self.failure = failure
                return
            now = time.perf_counter()
            for marker in message.split('<div id="raw-')[1:]:
                self.seen.setdefault("raw-" + marker.split('"', 1)[0], now)
            for key in self.keys_of(message):
                self.seen.setdefault(key, now)

    def wait_for(self, keys: Sequence[Any], timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while not all(key in self.seen for key in keys):
            if self.failure is not None:
                raise RuntimeError("the socket is no longer read") from self.failure
            if time.perf_counter() > deadline:
                return False
            time.sleep(0.005)
        return True

    def stop(self) -> None:
        self.running = False
        self.join(2)


def raw_push_latency(raw: RawPush, reader: SocketReader, group: str) -> float | None:
    """One raw push to `group`, timed to `reader`'s socket (None without Redis)."""
    if not raw.reaches_sockets:
        return None
    token = f"raw-{new_token()}"
    started = time.perf_counter()
    raw.send(group, f'<div id="{token}"></div>')
    assert reader.wait_for([token], 30), "a raw push never reached the socket"
    return reader.seen[token] - started
