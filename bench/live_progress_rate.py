"""Progress webhooks at 50 a second → their cards on a project's socket, against raw
`group_send`s at the same rate measured in the same run (issue 14, row 2).

The same set-up as live_progress.py (daphne as deployed, `--no-worker`, the bench's
database and Redis, one logged-in browser's socket on the project). Each run:

- baseline: RATE × SECONDS raw pushes from this process's long-lived event loop, sent
  on a fixed schedule (RATE a second), each timed from its scheduled send to the
  socket's receipt;
- Studio: RATE × SECONDS progress webhooks on the same schedule, sent by 8 threads
  (each webhook to its own fresh job, so none is stale or a duplicate), each timed from
  its POST to the receipt of that progress (the card's pill, pushed alone or in the card).

A thread reads the socket all along. A card not received within 15 s of the last send
never arrived. It prints p50 and p99 of both (ratios as median and spread over the runs),
and, per run, the cards that never arrived and the webhooks answered 5xx (or not at all).

Run: .venv/bin/python bench/live_progress_rate.py [--runs 5] [--rate 50] [--seconds 4]
"""

import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    Bench,
    RawPush,
    Table,
    arguments,
    counts,
    make_jobs,
    percentile,
    post_webhook,
    progress_body,
    progress_shown,
    run_each,
)

RAW = re.compile(r'id="raw-(\d+)-(\d+)"')
GRACE = 15.0


class Reader(threading.Thread):
    """Reads the socket and notes when each card (job, progress) or raw push first came."""

    def __init__(self, live: object) -> None:
        super().__init__(daemon=True)
        self.live = live
        self.seen: dict[tuple[int, int], float] = {}
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                message = self.live.receive(0.2)  # type: ignore[attr-defined]
            except TimeoutError:
                continue
            now = time.perf_counter()
            for raw in RAW.finditer(message):
                self.seen.setdefault((-int(raw[1]), int(raw[2])), now)
            for shown in progress_shown(message):
                self.seen.setdefault(shown, now)

    def wait_for(self, keys: list[tuple[int, int]], deadline: float) -> None:
        while time.perf_counter() < deadline and not all(key in self.seen for key in keys):
            time.sleep(0.02)


def main() -> None:
    options = arguments(
        __doc__,
        rate=(float, 50.0, "webhooks a second"),
        seconds=(float, 4.0, "seconds of webhooks a run"),
    )
    seconds = 1.5 if options.quick else options.seconds
    count = round(options.rate * seconds)
    with Bench("live_progress_rate") as bench:
        _team, project, user = bench.provision()
        bench.start_web()
        live = bench.socket(project.pk, bench.login())
        reader = Reader(live)
        reader.start()
        raw = RawPush()
        group = f"project-{project.pk}"
        local = threading.local()

        def post(job: object, body: bytes) -> int:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            try:
                return post_webhook(local.session, bench.url, job, body).status_code
            except requests.RequestException:
                return 599

        def schedule(send: object, items: list[object]) -> tuple[list[float], list[object]]:
            """Send each item at its time; returns the send times and the futures."""
            sent: list[float] = []
            futures = []
            with ThreadPoolExecutor(8) as pool:
                start = time.perf_counter() + 0.05
                for index, item in enumerate(items):
                    due = start + index / options.rate
                    time.sleep(max(0.0, due - time.perf_counter()))
                    sent.append(time.perf_counter())
                    futures.append(pool.submit(send, *item))  # type: ignore[misc]
            return sent, [future.result() for future in futures]

        for job in make_jobs(project, user, 3):  # warm up
            post(job, progress_body(job, 5))
        time.sleep(1)

        def one_run(run: int) -> dict[str, object]:
            result: dict[str, object] = {}
            if raw.reaches_sockets:
                items = [(group, f'<div id="raw-{run}-{i}"></div>') for i in range(count)]
                sent, _ = schedule(raw.send, items)
                keys = [(-run, i) for i in range(count)]
                reader.wait_for(keys, time.perf_counter() + GRACE)
                result["raw"] = [
                    reader.seen[k] - s for k, s in zip(keys, sent, strict=True) if k in reader.seen
                ]
            jobs = make_jobs(project, user, count)
            progress = 10 + run
            bodies = [(job, progress_body(job, progress)) for job in jobs]
            sent, statuses = schedule(post, bodies)
            keys = [(job.pk, progress) for job in jobs]
            reader.wait_for(keys, time.perf_counter() + GRACE)
            result["studio"] = [
                reader.seen[k] - s for k, s in zip(keys, sent, strict=True) if k in reader.seen
            ]
            result["lost"] = sum(1 for k in keys if k not in reader.seen)
            result["errors"] = sum(1 for status in statuses if status >= 500)  # type: ignore[operator]
            return result

        results = run_each(options.runs, one_run)
        reader.running = False
        reader.join(2)
        raw.close()
        live.close()
        describe = bench.describe()

    table = Table(
        f"progress webhooks at {options.rate:g}/s for {seconds:g} s ({count} a run); {describe}",
        options.runs,
    )
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        table.add(
            f"{label}: raw group_send vs webhook → card",
            [percentile(r["raw"], fraction) if r.get("raw") else None for r in results],  # type: ignore[arg-type]
            [percentile(r["studio"], fraction) for r in results],  # type: ignore[arg-type]
        )
    table.note(
        f"cards that never arrived, per run (of {count}): " + counts([r["lost"] for r in results])
    )  # type: ignore[misc]
    table.note(
        "webhooks answered 5xx or not at all, per run: " + counts([r["errors"] for r in results])
    )  # type: ignore[misc]
    table.print()


if __name__ == "__main__":
    main()
