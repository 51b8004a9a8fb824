"""A job's POST → its grid on the project's socket, against the provider's own time for
the same work measured in the same run (issue 14, row 4).

Studio runs as deployed: one daphne and one worker (`runstudio --no-worker`, `manage.py
worker`; without Redis, the worker inside the web process), the sandbox as the provider
at SANDBOX_STEP_SECONDS=0.05: pending, five progress steps and completed, so a task takes
≈ 300 ms at the provider, which draws the task's images while it runs
(SANDBOX_DRAW_AHEAD), as a provider has them ready when it reports them: drawing them
when first fetched would put ~300 ms of the sandbox's CPU a new grid into Studio's time.
A logged-in member's browser has the project's socket open.

Each run:
- baseline: the provider's time: N imagine tasks made at the sandbox directly, each
  read every 10 ms until it is completed (the create's POST → completed seen);
- same prompt: N jobs submitted one at a time (the composer's POST), all with one
  prompt, each timed from the POST to the socket's first card of that job with its grid;
- distinct prompts: the same with a new prompt each time.

The provider's time is also taken to its grid ready: the grid fetched once completed. A
new grid's drawing takes the sandbox's CPU (~300-450 ms on a 2-core VM); where it takes
longer than the task, the task is reported completed before its images exist, which no
provider does, and Studio's download waits for the drawing. Against the grid ready,
that wait is the provider's, not Studio's. (--step 0.1 gives the drawing time to end
within the task.)

Between the two, Studio has everything in its way: sending through the worker, the
sandbox's webhooks (progress, previews from 50 %), the GET of the final state, the
download of grid and quadrants, thumbnails, pushes.

Run: .venv/bin/python bench/submit_to_grid.py [--runs 5] [--n 5] [--step 0.05] [--quick]
"""

import re
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    Bench,
    SocketReader,
    Table,
    arguments,
    grid_cards,
    run_each,
    sandbox_data,
    sandbox_task,
)

STEP_SECONDS = "0.05"


def main() -> None:
    options = arguments(
        __doc__,
        n=(int, 5, "jobs of each kind a run"),
        step=(str, STEP_SECONDS, "the sandbox's step (SANDBOX_STEP_SECONDS)"),
    )
    n = 2 if options.quick else options.n
    with Bench(
        "submit_to_grid", SANDBOX_STEP_SECONDS=options.step, SANDBOX_DRAW_AHEAD="1"
    ) as bench:
        _team, project, _user = bench.provision()
        bench.start_studio()
        session = bench.login()
        reader = SocketReader(bench.socket(project.pk, session), grid_cards)

        def provider_time(prompt: str) -> tuple[float, float]:
            """Create → completed seen, and → its grid fetched after that."""
            started = time.perf_counter()
            task_id, _ = sandbox_task(bench.url, prompt)
            while (data := sandbox_data(bench.url, task_id))["status"] != "completed":
                time.sleep(0.01)
            completed = time.perf_counter() - started
            requests.get(data["output"]["image_url"], timeout=60).raise_for_status()
            return completed, time.perf_counter() - started

        def submit(prompt: str) -> float | None:
            started = time.perf_counter()
            response = session.post(
                f"{bench.url}/projects/{project.pk}/jobs/",
                data={"prompt": prompt, "aspect_ratio": "1:1", "mode": "fast"},
                headers={"HX-Request": "true"},
                timeout=60,
            )
            assert response.status_code == 201, response.text[:300]
            job_id = int(re.findall(r'id="job-(\d+)"', response.text)[0])
            if not reader.wait_for([job_id], 120):
                return None
            return reader.seen[job_id] - started

        submit("warm-up, a fox in the snow")

        def one_run(run: int) -> dict[str, float | None]:
            provider = [provider_time(f"run {run} provider {i}") for i in range(n)]
            baseline = sorted(completed for completed, _ in provider)
            ready = sorted(fetched for _, fetched in provider)
            same = sorted(submit("a lighthouse at dusk, long exposure") or 1e9 for _ in range(n))
            distinct = sorted(
                submit(f"run {run}: a lighthouse at dusk, study {i}") or 1e9 for i in range(n)
            )
            return {
                "baseline": baseline[n // 2],
                "ready": ready[n // 2],
                "same": same[n // 2],
                "distinct": distinct[n // 2],
            }

        results = run_each(options.runs, one_run)
        reader.stop()
        describe = bench.describe()

    table = Table(
        f"POST → grid on the socket, p50 of {n} a run, sandbox step {options.step} s; {describe}",
        options.runs,
    )
    baselines = [r["baseline"] for r in results]
    table.add(
        "provider's time vs POST → grid, same prompt", baselines, [r["same"] for r in results]
    )
    table.add(
        "provider's time vs POST → grid, distinct", baselines, [r["distinct"] for r in results]
    )
    readies = [r["ready"] for r in results]
    table.add("provider's time vs its grid ready", baselines, readies)
    table.add("grid ready vs POST → grid, distinct", readies, [r["distinct"] for r in results])
    table.print()


if __name__ == "__main__":
    main()
