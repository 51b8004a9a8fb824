"""A completed webhook → the job's card with its grid on a project's socket, against a
raw `group_send` → the same socket; and a burst of completions (100 in 2 s) → the time
until the last grid, against the burst's own sending time (issue 14, row 3).

Studio runs as deployed: one daphne (`runstudio --no-worker`) and one worker
(`manage.py worker`) on the bench's database and Redis (without Redis: the worker inside
the web process). The sandbox answers at zero step time, so each task the script makes
at the sandbox directly (no webhook of its own) is complete at once; a job in Studio is
then made to be waiting for it (processing, 90 %). The task's images are fetched once
before it is timed: the sandbox draws an image when first asked (~300 ms of CPU a grid,
the provider's work, not Studio's) and keeps what it drew (SANDBOX_IMAGE_CACHE). What
Studio does on the completed
webhook: record it, enqueue a GET of the task (the worker), apply it, enqueue the
results' storing, download the grid and quadrants, make thumbnails, push the card.

Each run:
- baseline: N raw pushes from this process's long-lived event loop (p50);
- one at a time: N completed webhooks, each timed from its POST to the socket's first
  card of that job showing the grid image (p50);
- burst: BURST completed webhooks sent evenly over BURST_SECONDS by 8 threads; the time
  from the first POST to the last grid on the socket, against BURST_SECONDS (the time
  the webhooks themselves take to send), and any grid that never came (within 180 s).

Run: .venv/bin/python bench/live_completed.py [--runs 5] [--n 5] [--burst 100]
     [--burst-seconds 2] [--quick]
"""

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
    SocketReader,
    Table,
    arguments,
    completed_body,
    counts,
    draw_images,
    grid_cards,
    make_jobs,
    post_webhook,
    raw_push_latency,
    run_each,
    sandbox_data,
    sandbox_task,
)

LATE = 180.0


def main() -> None:
    options = arguments(
        __doc__,
        n=(int, 5, "completed webhooks one at a time, a run"),
        burst=(int, 100, "completions in a burst"),
        burst_seconds=(float, 2.0, "seconds the burst is sent over"),
    )
    n, burst, window = (
        (3, 20, 0.4) if options.quick else (options.n, options.burst, options.burst_seconds)
    )
    with Bench("live_completed", SANDBOX_STEP_SECONDS="0", SANDBOX_IMAGE_CACHE="1200") as bench:
        _team, project, user = bench.provision()
        bench.start_studio()
        live = bench.socket(project.pk, bench.login())
        reader = SocketReader(live, grid_cards)
        raw = RawPush()
        group = f"project-{project.pk}"
        local = threading.local()

        def ready_jobs(count: int, run: int) -> list[tuple[object, bytes]]:
            """Jobs waiting for tasks the sandbox has finished, with their webhooks."""
            ids = [
                sandbox_task(bench.url, f"run {run} job {i}, a harbour")[0] for i in range(count)
            ]
            tasks = [sandbox_data(bench.url, task_id) for task_id in ids]
            for data in tasks:
                draw_images(data)
            bodies = [completed_body(data) for data in tasks]
            jobs = make_jobs(project, user, count, task_ids=ids, progress=90)
            return list(zip(jobs, bodies, strict=True))

        def post(job: object, body: bytes) -> int:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            return post_webhook(local.session, bench.url, job, body).status_code

        def one_at_a_time(job: object, body: bytes) -> float | None:
            started = time.perf_counter()
            assert post(job, body) == 200
            if not reader.wait_for([job.pk], LATE):  # type: ignore[attr-defined]
                return None
            return reader.seen[job.pk] - started  # type: ignore[attr-defined]

        for job, body in ready_jobs(2, 0):  # warm up
            one_at_a_time(job, body)

        def one_run(run: int) -> dict[str, object]:
            baseline = sorted(raw_push_latency(raw, reader, group) or 0 for _ in range(n))
            single = [one_at_a_time(job, body) for job, body in ready_jobs(n, run)]
            pairs = ready_jobs(burst, run + 100)
            with ThreadPoolExecutor(8) as pool:
                first = time.perf_counter()
                futures = []
                for index, (job, body) in enumerate(pairs):
                    time.sleep(max(0.0, first + index * window / burst - time.perf_counter()))
                    futures.append(pool.submit(post, job, body))
                statuses = [future.result() for future in futures]
            keys = [job.pk for job, _ in pairs]  # type: ignore[attr-defined]
            reader.wait_for(keys, LATE)
            arrived = [reader.seen[key] for key in keys if key in reader.seen]
            return {
                "baseline": baseline[len(baseline) // 2] if raw.reaches_sockets else None,
                "single": sorted(s for s in single if s is not None)[len(single) // 2],
                "last": max(arrived) - first if arrived else None,
                "lost": len(keys) - len(arrived) + sum(1 for s in single if s is None),
                "errors": sum(1 for status in statuses if status >= 500),
            }

        results = run_each(options.runs, one_run)
        reader.stop()
        raw.close()
        live.close()
        describe = bench.describe()

    table = Table(f"completed webhook → card with the grid; {describe}", options.runs)
    table.add(
        f"p50 of {n}: raw group_send vs completed → grid",
        [r["baseline"] for r in results],  # type: ignore[misc]
        [r["single"] for r in results],  # type: ignore[misc]
    )
    table.add(
        f"{burst} in {window:g} s: sending vs last grid",
        [window] * len(results),
        [r["last"] for r in results],  # type: ignore[misc]
        unit="s",
    )
    table.note("grids that never came, per run: " + counts([r["lost"] for r in results]))  # type: ignore[misc]
    table.note("webhooks answered 5xx, per run: " + counts([r["errors"] for r in results]))  # type: ignore[misc]
    table.print()


if __name__ == "__main__":
    main()
