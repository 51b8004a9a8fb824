"""A member's submit (the composer's POST) with 1,000 jobs waiting in the team's queue,
against the same submit with none waiting, measured in the same run (issue 14, row 7).

Studio runs as deployed: one daphne and one worker (without Redis, the worker inside the
web process) on the bench's database and Redis; a browser has the project's socket open
(drained all along). The team's slots (its concurrency limit) are all taken by jobs
already at the provider, so every new job waits in the queue either way: the only
difference is how many wait before it. Each run:

- baseline: N submits, one at a time, with no job waiting (each timed from the POST to
  its answer, 201);
- Studio: 1,000 waiting jobs added (rows), then N submits the same way.

The submitted and the waiting jobs are then ended (failed), so the next run starts with
an empty queue again.

Run: .venv/bin/python bench/submit_queue.py [--runs 5] [--n 10] [--waiting 1000] [--quick]
"""

import re
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Bench, Table, arguments, make_jobs, run_each


def main() -> None:
    options = arguments(
        __doc__,
        n=(int, 10, "submits of each kind a run"),
        waiting=(int, 1000, "jobs waiting in the team's queue"),
    )
    n, waiting = (4, 200) if options.quick else (options.n, options.waiting)
    with Bench("submit_queue", JOB_POLL_AFTER_SECONDS="3600") as bench:
        from studio.generation.models import Job

        team, project, user = bench.provision()
        make_jobs(project, user, team.concurrency_limit)  # every slot taken
        bench.start_studio()
        session = bench.login()
        live = bench.socket(project.pk, session)
        draining = True

        def drain() -> None:
            while draining:
                try:
                    live.receive(0.2)
                except TimeoutError:
                    pass
                except Exception as ended:
                    print(f"  note: the drained socket ended: {ended}")
                    return

        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()

        def submit(prompt: str) -> float:
            started = time.perf_counter()
            response = session.post(
                f"{bench.url}/projects/{project.pk}/jobs/",
                data={"prompt": prompt, "aspect_ratio": "1:1", "mode": "fast"},
                headers={"HX-Request": "true"},
                timeout=60,
            )
            elapsed = time.perf_counter() - started
            assert response.status_code == 201, response.text[:300]
            job_id = int(re.findall(r'id="job-(\d+)"', response.text)[0])
            job = Job.objects.get(pk=job_id)
            assert job.status == "queued" and job.dispatched_at is None, "it got a slot"
            return elapsed

        def clear_queue() -> None:
            Job.objects.filter(status="queued").update(status="failed")
            time.sleep(0.5)

        submit("warm-up, a fox in the snow")
        clear_queue()

        def one_run(run: int) -> tuple[float, float]:
            baseline = statistics.median(submit(f"run {run} empty queue {i}") for i in range(n))
            clear_queue()
            make_jobs(project, user, waiting, status="queued", dispatched_at=None, sent_at=None)
            studio = statistics.median(submit(f"run {run} long queue {i}") for i in range(n))
            clear_queue()
            return baseline, studio

        results = run_each(options.runs, one_run)
        draining = False
        drainer.join(2)
        live.close()
        describe = bench.describe()

    table = Table(f"submit (POST → 201), median of {n} a run; {describe}", options.runs)
    table.add(
        f"0 waiting vs {waiting:,} waiting",
        [b for b, _ in results],
        [s for _, s in results],
    )
    table.print()


if __name__ == "__main__":
    main()
