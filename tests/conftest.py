"""Shared fixtures. Personas: alice (admin of Acme), bob (member of Acme), charlie
(admin of another team, Globex), vera (viewer of Acme)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from studio.accounts.models import Role
from tests.factories import PASSWORD, make_membership, make_project, make_team, make_user

ROOT = Path(__file__).resolve().parent.parent

# Hypothesis's timing checks (an example's deadline, "too slow" input generation) fail
# property tests on a loaded machine for no fault of the code; what they check holds
# whatever the speed.
hypothesis_settings.register_profile(
    "studio", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("studio")


def _caused_by_deadlock(problem: BaseException | None) -> bool:
    while problem is not None:
        if "deadlock detected" in str(problem):
            return True
        problem = problem.__cause__ or problem.__context__
    return False


@pytest.fixture(autouse=True, scope="session")
def _flush_tries_again_after_a_deadlock() -> Iterator[None]:
    """On PostgreSQL a test's database is emptied with one TRUNCATE of every table, which
    takes their locks one by one; the shared server's worker, sweeping between tests,
    can hold one of them and wait for another, and PostgreSQL then ends one of the two.
    When the flush is the one ended, it is simply run again."""
    from django.test.testcases import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def teardown(self: TransactionTestCase) -> None:
        for attempt in range(5):
            try:
                original(self)
                return
            except Exception as problem:
                if attempt == 4 or not _caused_by_deadlock(problem):
                    raise
                time.sleep(0.2)

    TransactionTestCase._fixture_teardown = teardown  # type: ignore[method-assign]
    yield
    TransactionTestCase._fixture_teardown = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def acme(db: None) -> Any:
    return make_team(name="Acme")


@pytest.fixture
def globex(db: None) -> Any:
    return make_team(name="Globex")


@pytest.fixture
def alice(acme: Any) -> Any:
    user = make_user(username="alice")
    make_membership(team=acme, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def bob(acme: Any) -> Any:
    user = make_user(username="bob")
    make_membership(team=acme, user=user, role=Role.MEMBER)
    return user


@pytest.fixture
def vera(acme: Any) -> Any:
    user = make_user(username="vera")
    make_membership(team=acme, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def charlie(globex: Any) -> Any:
    user = make_user(username="charlie")
    make_membership(team=globex, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def project(acme: Any) -> Any:
    return make_project(team=acme, name="Launch")


def wait_for(condition: Callable[[], Any], *, timeout: float = 20.0, what: str = "") -> Any:
    """Poll until `condition()` is truthy; fail the test with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.05)


# --- a real Studio server (web + websockets + worker + sandbox) in its own process ------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    """The test database, as a URL another process can open."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{db['NAME']}"


class StudioServer:
    def __init__(self, url: str, media_root: Path) -> None:
        self.url = url
        self.media_root = media_root

    def login(self, username: str, password: str = PASSWORD) -> requests.Session:
        """A browser-like session: CSRF cookie, then the login form."""
        session = requests.Session()
        session.get(f"{self.url}/accounts/login/", timeout=10)
        response = session.post(
            f"{self.url}/accounts/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": f"{self.url}/accounts/login/"},
            timeout=10,
        )
        assert response.ok and "sessionid" in session.cookies, "login failed"
        session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
        session.headers["Referer"] = self.url + "/"
        return session


def server_env(*, port: int, media_root: Path, **extra: str) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "PORT": str(port),
        "STUDIO_PUBLIC_URL": url,
        "PIAPI_BASE_URL": f"{url}/sandbox",
        "LEGNEXT_BASE_URL": f"{url}/sandbox/legnext/api",
        "SANDBOX_ENABLED": "1",
        "SANDBOX_STEP_SECONDS": "0.05",
        "JOB_POLL_AFTER_SECONDS": "1",
        "WORKER_SWEEP_SECONDS": "0.3",
        "WORKER_INTERVAL_SECONDS": "0.05",
        "MEDIA_ROOT": str(media_root),
        # Made-up names for servers a test runs on this machine (an image to describe, a
        # webhook receiver), which Studio's public-address check would otherwise refuse.
        "FETCH_PINNED_HOSTS": "images.studio.test=127.0.0.1,hooks.studio.test=127.0.0.1",
        **extra,
    }


# The Studio processes tests started, so that a failed test shows what each was doing.
_started: list[subprocess.Popen[bytes]] = []


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    _started[:] = [p for p in _started if p.poll() is None] + [process]
    return process


@pytest.hookimpl(wrapper=True, trylast=True)  # inside the test's output capture
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test that failed while Studio processes ran gets every thread's stack of each
    (runstudio and worker print them on SIGUSR1) in its captured output: what a job
    that never moved, say, was waiting on."""
    try:
        return (yield)
    except (pytest.skip.Exception, pytest.xfail.Exception):
        raise  # not a failure
    except BaseException:
        running = [process for process in _started if process.poll() is None]
        for process in running:
            os.kill(process.pid, signal.SIGUSR1)
        if running:
            time.sleep(1)  # each writes its stacks at once; let the output land
        raise


def start_worker(*, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A worker process on its own (`manage.py worker`), as at scale."""
    return _start([sys.executable, "manage.py", "worker"], env)


def start_server(
    *,
    extra_env: dict[str, str] | None = None,
    worker: bool = True,
    media_root: Path,
    port: int | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(port=port, media_root=media_root, **(extra_env or {}))
    command = [sys.executable, "manage.py", "runstudio", "--port", str(port)]
    if not worker:
        command.append("--no-worker")
    process = _start(command, env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Studio server exited with {process.returncode}")
        try:
            requests.get(f"{url}/accounts/login/", timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the Studio server did not start within 30 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class SharedServer:
    """The session's one Studio server (web, websockets, worker, sandbox), started when a
    test first needs it. Tests that run Studio processes of their own on the same database
    stop it first: its worker would take their tasks (and push what it did through its
    own channel layer, where their browsers never see it)."""

    def __init__(self, media_root: Path) -> None:
        self.media_root = media_root
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> StudioServer:
        if self.process is None:
            self.process, self.url = start_server(media_root=self.media_root)
        return StudioServer(self.url, self.media_root)

    def stop(self) -> None:
        if self.process is not None:
            stop_server(self.process)
            self.process = None


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    shared = SharedServer(tmp_path_factory.mktemp("server-media"))
    try:
        yield shared
    finally:
        shared.stop()
        shutil.rmtree(shared.media_root, ignore_errors=True)


@pytest.fixture
def server(
    studio_server: SharedServer, transactional_db: None, settings: Any
) -> Iterator[StudioServer]:
    """The shared Studio server; tests that use it need `transactional_db` (given)."""
    running = studio_server.start()
    # The test process reads the files the server wrote.
    settings.MEDIA_ROOT = running.media_root
    yield running
    quiesce()


def quiesce() -> None:
    """Leave the shared server idle before the database is emptied for the next test:
    a worker transaction still touching several tables while PostgreSQL truncates them
    all would deadlock the truncation."""
    from django_tasks_db.models import DBTaskResult

    from studio.generation.models import ACTIVE_STATUSES, Job

    Job.objects.filter(status__in=ACTIVE_STATUSES).update(status="failed")
    DBTaskResult.objects.all().delete()
    time.sleep(0.4)  # longer than a worker turn


# --- at scale: several Studio processes sharing one database and one Redis -------------

LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def redis_url() -> str | None:
    """REDIS_URL, or a Redis answering on this machine's default port."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            if connection.recv(16).startswith(b"+PONG"):
                return LOCAL_REDIS
    except OSError:
        pass
    return None


needs_redis = pytest.mark.skipif(
    redis_url() is None,
    reason="several processes share live updates only through Redis, and none answers here",
)


def _at_scale_env(port_a: int, port_b: int) -> dict[str, str]:
    # The sandbox answers on A; the provider's webhooks come back to B.
    return {
        "STUDIO_PUBLIC_URL": f"http://127.0.0.1:{port_b}",
        "PIAPI_BASE_URL": f"http://127.0.0.1:{port_a}/sandbox",
        "REDIS_URL": redis_url() or "",
        "REDIS_PREFIX": f"studio-test-{port_a}",
    }


@pytest.fixture
def alone(studio_server: SharedServer, transactional_db: None) -> None:
    """For a test that runs Studio processes of its own on the test database: the shared
    server is stopped, so its worker takes none of their tasks and sweeps none of their
    jobs."""
    studio_server.stop()


@pytest.fixture
def web_pair(
    alone: None, tmp_path: Path, settings: Any
) -> Iterator[tuple[StudioServer, StudioServer]]:
    """Two web processes (A and B) on one database and one Redis, and no worker: what
    they push, they push themselves."""
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    port_a, port_b = free_port(), free_port()
    shared = _at_scale_env(port_a, port_b)
    web_a, url_a = start_server(media_root=media, port=port_a, worker=False, extra_env=shared)
    try:
        web_b, url_b = start_server(media_root=media, port=port_b, worker=False, extra_env=shared)
        try:
            yield StudioServer(url_a, media), StudioServer(url_b, media)
        finally:
            stop_server(web_b)
    finally:
        stop_server(web_a)


@pytest.fixture
def cluster(
    web_pair: tuple[StudioServer, StudioServer],
) -> Iterator[tuple[StudioServer, StudioServer]]:
    """Two web processes (A and B) and a worker process on one database and one Redis."""
    web_a, web_b = web_pair
    port_a, port_b = (int(server.url.rsplit(":", 1)[1]) for server in web_pair)
    env = server_env(port=port_a, media_root=web_a.media_root, **_at_scale_env(port_a, port_b))
    worker = start_worker(env=env)
    try:
        yield web_a, web_b
    finally:
        stop_server(worker)
