"""New progress webhooks a second that one daphne takes from 8 clients, against a no-op
view from the same 8 clients in the same run, and the PostgreSQL connections Studio
holds meanwhile (issue 14, row 5).

Studio runs as one daphne (`runstudio --no-worker`: a progress webhook is recorded,
applied and pushed by the web process alone) on the bench's database and Redis, with
one browser's socket open on the project (read all along, as a page would). Each run:

- baseline: 8 threads (a keep-alive session each) GET a no-op view for SECONDS: the
  sandbox's catch-all (`/sandbox/bench-noop`, a small JSON 404 that reads no database);
- Studio: 8 threads POST new progress webhooks for SECONDS, each a step up for one of
  its own jobs already at the provider (so every delivery is new and moves a job).

It prints requests a second for both and the ratio (median and spread over the runs),
the CPU time daphne spent per request in each (steadier than the rates on a shared
machine: daphne runs near one full core in both), the webhooks answered other than
200, and the most connections to the bench's database that Studio's process held
during the webhooks (sampled every 0.1 s from pg_stat_activity; this process's own are
left out), against its pool's maximum. And what the socket received of the webhooks'
pushes: the messages, and the numbers skipped or going back (each a page asking for
the whole state again; see studio/realtime/sequence.py).

Run: .venv/bin/python bench/webhook_throughput.py [--runs 5] [--seconds 5] [--quick]
"""

import itertools
import os
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    Bench,
    Table,
    arguments,
    counts,
    cpu_seconds,
    make_jobs,
    post_webhook,
    progress_body,
    run_each,
)

CLIENTS = 8


def hammer(work: object, seconds: float) -> tuple[int, int]:
    """Run `work(thread, n)` in CLIENTS threads for `seconds`: (done, not 2xx/404)."""
    done = [0] * CLIENTS
    bad = [0] * CLIENTS
    stop = time.perf_counter() + seconds

    def loop(thread: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            ok = work(thread, n)  # type: ignore[operator]
            if ok is None:
                return  # out of work
            done[thread] += 1
            bad[thread] += 0 if ok else 1
            n += 1

    threads = [threading.Thread(target=loop, args=(t,)) for t in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), sum(bad)


def main() -> None:
    options = arguments(__doc__, seconds=(float, 5.0, "seconds of each case a run"))
    seconds = 1.5 if options.quick else options.seconds
    with Bench("webhook_throughput") as bench:
        from studio.realtime import sequence

        _team, project, user = bench.provision()
        web = bench.start_web()
        live = bench.socket(project.pk, bench.login())
        draining = True
        pushed: list[int] = []  # the numbers of the pushes received, in order

        def drain() -> None:
            while draining:
                try:
                    found = sequence.parse(live.receive(0.2))
                except TimeoutError:
                    continue
                except Exception as ended:
                    print(f"  note: the drained socket ended: {ended}")
                    return
                if found is not None and found[0] == "push":
                    pushed.append(found[1])

        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()
        sessions = [requests.Session() for _ in range(CLIENTS)]

        def noop(thread: int, n: int) -> bool:
            response = sessions[thread].get(f"{bench.url}/sandbox/bench-noop", timeout=60)
            return response.status_code == 404

        def one_run(run: int) -> dict[str, float]:
            # Enough jobs for 400 webhooks a second: each takes progress 1..99.
            per_thread = max(2, round(400 * seconds / 99 / CLIENTS) + 1)
            jobs = make_jobs(project, user, per_thread * CLIENTS, progress=0)

            def webhook(thread: int, n: int) -> bool | None:
                step, slot = divmod(n, per_thread)
                if step >= 99:
                    return None
                job = jobs[thread * per_thread + slot]
                body = progress_body(job, step + 1)
                return post_webhook(sessions[thread], bench.url, job, body).status_code == 200

            cpu = cpu_seconds(web)
            noop_done, _ = hammer(noop, seconds)
            noop_cpu = cpu_seconds(web) - cpu
            peak = [0]
            sampling = True

            def sample() -> None:
                while sampling:
                    peak[0] = max(peak[0], bench.pg_connections())
                    time.sleep(0.1)

            sampler = threading.Thread(target=sample)
            sampler.start()
            received = len(pushed)
            cpu = cpu_seconds(web)
            hooks_done, hooks_bad = hammer(webhook, seconds)
            hooks_cpu = cpu_seconds(web) - cpu
            sampling = False
            sampler.join()
            time.sleep(1.5)  # the pushes still on their way
            numbers = pushed[received:]
            steps = [later - earlier for earlier, later in itertools.pairwise(numbers)]
            return {
                "noop": noop_done / seconds,
                "webhooks": hooks_done / seconds,
                "noop_cpu": noop_cpu / noop_done,
                "hooks_cpu": hooks_cpu / hooks_done,
                "bad": hooks_bad,
                "connections": peak[0],
                "messages": len(numbers),
                "skipped": sum(1 for step in steps if step > 1),
                "back": sum(1 for step in steps if step < 1),
            }

        hammer(noop, 0.5)  # warm up
        results = run_each(options.runs, one_run)
        draining = False
        drainer.join(2)
        live.close()
        describe = bench.describe()
        pool = os.environ.get("DATABASE_POOL_MAX_SIZE", "10 (the default)")

    table = Table(f"requests a second, {CLIENTS} clients, one daphne; {describe}", options.runs)
    table.add(
        "no-op view vs new progress webhooks",
        [r["noop"] for r in results],
        [r["webhooks"] for r in results],
        unit="/s",
    )
    table.add(
        "daphne's CPU per request: no-op vs webhook",
        [r["noop_cpu"] for r in results],
        [r["hooks_cpu"] for r in results],
    )
    table.note("webhooks answered other than 200, per run: " + counts([r["bad"] for r in results]))
    table.note(
        "pushes the socket received, per run: "
        + counts([r["messages"] for r in results])
        + "; numbers skipped: "
        + counts([r["skipped"] for r in results])
        + "; going back: "
        + counts([r["back"] for r in results])
    )
    if bench.on_postgres:
        table.note(
            "most PostgreSQL connections Studio held, per run: "
            + counts([r["connections"] for r in results])
            + f" (pool max per process: {pool})"
        )
    table.print()


if __name__ == "__main__":
    main()
