"""How soon jobs finish once the provider comes back from an outage, against a baseline
measured in the same run: the same jobs with the provider up.

Studio runs as at scale — a web process and a worker process of its own (SQLite here) —
and the provider is the sandbox in a third process with its own database, so an outage
is real: the process is stopped and its port refuses connections, then it starts again.
Each run:

- baseline: submit 3 jobs with the provider up; time from submit to images stored;
- outage: stop the provider, submit 3 jobs, start it again after OUTAGE seconds; time
  from the provider's return to each job's images stored.

It prints, over the runs, the median and spread (min–max) of the baseline, of the slowest
job's recovery, and of their ratio. The target: every job finishes within 10 s of the
provider's return. Only standard library and `requests`: it can drive an older checkout
too (`--root`), to measure the code before a change.

Run: .venv/bin/python bench/provider_outage.py [--runs 5] [--outage 60] [--root PATH]
"""

import argparse
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
JOBS = 3
PASSWORD = "bench-password-1234"  # noqa: S105 (a throw-away database)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Setup:
    def __init__(self, root: Path, work: Path) -> None:
        self.root = root
        self.studio_port, self.provider_port = free_port(), free_port()
        self.studio_url = f"http://127.0.0.1:{self.studio_port}"
        self.provider_url = f"http://127.0.0.1:{self.provider_port}"
        common = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "studio.settings",
            "DEBUG": "1",
            "LOG_LEVEL": "WARNING",
            "SANDBOX_STEP_SECONDS": "0.1",
        }
        for name in ("DATABASE_URL", "REDIS_URL"):
            common.pop(name, None)
        self.studio_env = {
            **common,
            "STUDIO_VAR_DIR": str(work / "studio"),
            "PORT": str(self.studio_port),
            "SANDBOX_ENABLED": "0",
            "PIAPI_BASE_URL": f"{self.provider_url}/sandbox",
            "STUDIO_PUBLIC_URL": self.studio_url,
        }
        self.provider_env = {
            **common,
            "STUDIO_VAR_DIR": str(work / "provider"),
            "PORT": str(self.provider_port),
            "SANDBOX_ENABLED": "1",
        }
        self.database = work / "studio" / "studio.sqlite3"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def manage(self, env: dict[str, str], *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.root,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def prepare(self) -> None:
        self.manage(self.provider_env, "migrate", "--no-input", "-v", "0")
        self.manage(self.studio_env, "migrate", "--no-input", "-v", "0")
        self.manage(
            self.studio_env,
            "provision",
            "--team=Bench",
            "--project=Outage",
            "--user=bench",
            f"--password={PASSWORD}",
            "--role=admin",
            "--piapi-key=sandbox-bench-key",
            "--budget=1000",
        )

    def start(self, name: str) -> None:
        if name == "provider":
            env, port, command = self.provider_env, self.provider_port, ["runstudio"]
        elif name == "web":
            env, port, command = self.studio_env, self.studio_port, ["runstudio"]
        else:
            env, port, command = self.studio_env, None, ["worker"]
        if name != "worker":
            command += ["--no-worker", "--port", str(port)]
        self.processes[name] = subprocess.Popen(
            [sys.executable, "manage.py", *command],
            cwd=self.root,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        if port is not None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
                    return
                except requests.ConnectionError:
                    time.sleep(0.1)
            raise RuntimeError(f"{name} did not start")

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def login(self) -> requests.Session:
        session = requests.Session()
        session.get(f"{self.studio_url}/accounts/login/", timeout=10)
        session.post(
            f"{self.studio_url}/accounts/login/",
            data={
                "username": "bench",
                "password": PASSWORD,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": f"{self.studio_url}/accounts/login/"},
            timeout=10,
        )
        session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
        session.headers["Referer"] = self.studio_url + "/"
        return session

    def project_id(self) -> int:
        with sqlite3.connect(self.database) as db:
            return int(db.execute("SELECT id FROM projects_project").fetchone()[0])

    def submit(self, session: requests.Session, prompt: str) -> int:
        response = session.post(
            f"{self.studio_url}/projects/{self.project_id()}/jobs/",
            data={"prompt": prompt, "aspect_ratio": "1:1", "mode": "fast"},
            headers={"HX-Request": "true"},
            timeout=30,
        )
        assert response.status_code == 201, response.text[:300]
        return int(re.findall(r'id="job-(\d+)"', response.text)[0])

    def done(self, job_id: int) -> bool:
        """Completed with its grid and four quadrants stored (what a member waits for)."""
        with sqlite3.connect(self.database, timeout=30) as db:
            status = db.execute(
                "SELECT status FROM generation_job WHERE id = ?", [job_id]
            ).fetchone()[0]
            images = db.execute(
                "SELECT count(*) FROM generation_resultimage WHERE job_id = ?", [job_id]
            ).fetchone()[0]
        if status in ("failed", "canceled", "unknown"):
            raise RuntimeError(f"job {job_id} ended {status}")
        return status == "completed" and images == 5

    def wait_all(self, job_ids: list[int], timeout: float = 600) -> dict[int, float]:
        """When each job was done (monotonic seconds)."""
        finished: dict[int, float] = {}
        deadline = time.monotonic() + timeout
        while len(finished) < len(job_ids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"jobs {set(job_ids) - set(finished)} never finished")
            for job_id in job_ids:
                if job_id not in finished and self.done(job_id):
                    finished[job_id] = time.monotonic()
            time.sleep(0.05)
        return finished


def one_run(
    setup: Setup, session: requests.Session, run: int, outage: float
) -> tuple[float, float]:
    """(baseline: median submit→done; recovery: slowest provider-back→done), in seconds."""
    submitted = {}
    for n in range(JOBS):
        started = time.monotonic()
        submitted[setup.submit(session, f"run {run} baseline job {n}, a harbour at dawn")] = started
    finished = setup.wait_all(list(submitted))
    baseline = statistics.median(finished[job] - submitted[job] for job in submitted)

    setup.stop("provider")
    jobs = [
        setup.submit(session, f"run {run} outage job {n}, a harbour at dusk") for n in range(JOBS)
    ]
    time.sleep(outage)
    setup.start("provider")
    back = time.monotonic()
    finished = setup.wait_all(jobs)
    recovery = max(finished[job] - back for job in jobs)
    return baseline, recovery


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} s  ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the provider is down")
    parser.add_argument("--root", type=Path, default=ROOT, help="the Studio checkout to run")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-outage-") as work:
        setup = Setup(options.root.resolve(), Path(work))
        setup.prepare()
        try:
            for name in ("provider", "web", "worker"):
                setup.start(name)
            session = setup.login()
            baselines, recoveries = [], []
            for run in range(1, options.runs + 1):
                baseline, recovery = one_run(setup, session, run, options.outage)
                baselines.append(baseline)
                recoveries.append(recovery)
                print(f"run {run}: baseline {baseline:.2f} s, after recovery {recovery:.2f} s")
        finally:
            setup.stop_all()
    ratios = [r / b for r, b in zip(recoveries, baselines, strict=True)]
    print()
    print(
        f"Studio at {options.root}: {JOBS} jobs a run, {options.outage:g} s outage, "
        f"{options.runs} runs"
    )
    print(f"{'':38} median   (min–max)")
    print(f"{'baseline: submit → images stored':38} {spread(baselines)}")
    print(f"{'outage: provider back → images stored':38} {spread(recoveries)}")
    print(
        f"{'ratio (outage / baseline)':38} {statistics.median(ratios):7.2f}×  "
        f"({min(ratios):.2f}–{max(ratios):.2f})"
    )
    worst = max(recoveries)
    print(f"slowest job after recovery: {worst:.2f} s (target: within 10 s)")


if __name__ == "__main__":
    main()
