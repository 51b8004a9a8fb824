"""A progress webhook → its card on a project's socket, one at a time, against a raw
`group_send` → the same socket measured in the same run (issue 14, row 1).

Studio runs as deployed: daphne (`manage.py runstudio --no-worker`; a progress webhook
is applied and pushed by the web process itself, so no worker is needed) on the
bench's database and Redis. The script logs in as a browser does, opens the project's
socket (tests/websocket.py's LiveSocket) and waits for its resync. A thread then reads
the socket all along and notes when each message came (SocketReader, as in
live_completed.py), so a card is timed when it reaches the socket, as a browser would
show it, whether or not the webhook's answer to the provider has come back yet. Each run:

- baseline: N pushes of a small fragment with the channel layer's own `group_send`
  from one long-lived event loop in this process, each timed from the call to the
  socket's receipt of that fragment;
- Studio: N progress webhooks (PiAPI's payload, the job's secret header), one at a time,
  each to a fresh job already at the provider, each timed from the POST to the socket's
  receipt of that progress (the card's pill, pushed alone or in the card).

It prints p50 and p99 of both, and their ratios, as median (min–max) over the runs.
Without REDIS_URL the raw push cannot reach daphne's sockets: Studio's figures only.

And a floor, against the same baseline: N no-op requests to the same daphne (the
sandbox's catch-all, a small JSON 404 that reads no database), each timed from the GET
to its answer, plus the raw push's time: what a webhook → card would take if the
webhook's own work (reading it, its statement, its rendering) cost nothing. (The GET is
timed to its answer, which a webhook's card does not wait for, so a card may come in a
little under this floor.)

And, for the provider's side: each webhook's POST → its answer (200), against the no-op
GET → its answer. (Until 2026-12-07 the script read the socket only once the webhook's
answer had come, so its "webhook → card" was the later of the two.)

Run: .venv/bin/python bench/live_progress.py [--runs 5] [--n 30] [--quick]
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    Bench,
    RawPush,
    SocketReader,
    Table,
    arguments,
    make_jobs,
    percentile,
    post_webhook,
    progress_body,
    progress_shown,
    raw_push_latency,
    run_each,
)


def main() -> None:
    options = arguments(__doc__, n=(int, 30, "webhooks (and raw pushes) per run"))
    n = 8 if options.quick else options.n
    with Bench("live_progress") as bench:
        _team, project, user = bench.provision()
        bench.start_web()
        session = bench.login()
        live = bench.socket(project.pk, session)
        reader = SocketReader(live, progress_shown)
        raw = RawPush()
        hooks = __import__("requests").Session()
        group = f"project-{project.pk}"

        def noop_once() -> float:
            started = time.perf_counter()
            response = hooks.get(f"{bench.url}/sandbox/bench-noop", timeout=30)
            assert response.status_code == 404, response.text[:300]
            return time.perf_counter() - started

        def webhook_once(job: object, progress: int) -> tuple[float, float]:
            """The time to the card on the socket, and to the webhook's answer."""
            body = progress_body(job, progress)
            shown = (job.pk, progress)  # type: ignore[attr-defined]
            started = time.perf_counter()
            response = post_webhook(hooks, bench.url, job, body)
            answered = time.perf_counter() - started
            assert response.status_code == 200, response.text[:300]
            assert reader.wait_for([shown], 30), f"progress {shown} never reached the socket"
            return reader.seen[shown] - started, answered

        # Warm up: templates, connections, the first push's Redis set-up.
        for job in make_jobs(project, user, 3):
            webhook_once(job, 10)
            raw_push_latency(raw, reader, group)

        def one_run(run: int) -> tuple[list[float], list[float], list[float], list[float]]:
            baseline = [raw_push_latency(raw, reader, group) for _ in range(n)]
            jobs = make_jobs(project, user, n)
            timed = [webhook_once(job, 20 + run) for job in jobs]
            noops = [noop_once() for _ in range(n)]
            studio = [card for card, _ in timed]
            answers = [answered for _, answered in timed]
            return [b for b in baseline if b is not None], studio, noops, answers

        results = run_each(options.runs, one_run)
        reader.stop()
        raw.close()
        live.close()
        describe = bench.describe()

    table = Table(f"progress webhook → card, one at a time; {n} a run; {describe}", options.runs)
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        table.add(
            f"{label}: raw group_send vs webhook → card",
            [percentile(b, fraction) if b else None for b, _, _, _ in results],
            [percentile(s, fraction) for _, s, _, _ in results],
        )
    if all(b for b, _, _, _ in results):
        table.add(
            "p50 floor: raw vs no-op GET + raw push",
            [percentile(b, 0.5) for b, _, _, _ in results],
            [percentile(noops, 0.5) + percentile(b, 0.5) for b, _, noops, _ in results],
        )
    table.add(
        "p50: no-op GET vs webhook → its answer",
        [percentile(noops, 0.5) for _, _, noops, _ in results],
        [percentile(answers, 0.5) for _, _, _, answers in results],
    )
    table.print()


if __name__ == "__main__":
    main()
