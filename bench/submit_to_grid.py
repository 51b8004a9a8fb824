"""A job's POST → its grid on the project's socket, against the provider's own time for
the same work measured in the same run (issue 14, row 4).

Studio runs as deployed: one daphne and one worker (`runstudio --no-worker`, `manage.py
worker`; without Redis, the worker inside the web process), the sandbox as the provider
at SANDBOX_STEP_SECONDS=0.05: pending, five progress steps and completed, so a task takes
≈ 300 ms at the provider. The sandbox draws a task's images while it runs
(SANDBOX_DRAW_AHEAD) and reports it completed only once they are drawn, as a provider
reports images it has: a new grid's drawing (~300-700 ms of the sandbox's CPU on a 2-core
VM) is then the provider's time, not Studio's. A grid drawn before (the same prompt) is
not drawn again. A logged-in member's browser has the project's socket open.

Each run:
- baselines: the provider's time, same prompt and distinct prompts: N imagine tasks made
  at the sandbox directly, each read every 10 ms until it is completed (the create's
  POST → completed seen);
- same prompt: N jobs submitted one at a time (the composer's POST), all with one
  prompt, each timed from the POST to the socket's first card of that job with its grid;
- distinct prompts: the same with a new prompt each time.

Studio's own time over the provider's is also taken job by job, against the job's own
task as the sandbox recorded it (created → completed, its drawing included): where the
sandbox draws in Studio's web process, as here, its drawing and Studio's work slow each
other, and a task of Studio's may take longer than the baseline's.

Between the two, Studio has everything in its way: sending through the worker, the
sandbox's webhooks (progress, previews from 50 %), the GET of the final state, the
download of grid and quadrants, thumbnails, pushes.

Run: .venv/bin/python bench/submit_to_grid.py [--runs 5] [--n 5] [--step 0.05] [--quick]
"""

import re
import sys
import time
from pathlib import Path
from statistics import median

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
    spread,
)

STEP_SECONDS = "0.05"


def task_seconds(task_id: str) -> float:
    """A sandbox task's time from its creation to its completion (its drawing waited for)."""
    from studio.sandbox import timeline
    from studio.sandbox.models import Task

    task = Task.objects.get(pk=task_id)
    completed = timeline.step_begins_at(task, timeline.plan_for(task)[-1])
    assert completed is not None, f"task {task_id} is not completed"
    return (completed - task.created_at).total_seconds()


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
        from studio.generation.models import Job

        def provider_time(prompt: str) -> float:
            """Create → completed seen."""
            started = time.perf_counter()
            task_id, _ = sandbox_task(bench.url, prompt)
            while sandbox_data(bench.url, task_id)["status"] != "completed":
                time.sleep(0.01)
            return time.perf_counter() - started

        def submit(prompt: str) -> tuple[float, float]:
            """POST → grid on the socket, and that less the job's task's time at the
            provider (its creation → its completion, as the sandbox has them)."""
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
                return 1e9, 1e9
            took = reader.seen[job_id] - started
            return took, took - task_seconds(Job.objects.get(pk=job_id).provider_task_id)

        same_prompt = "a lighthouse at dusk, long exposure"
        submit("warm-up, a fox in the snow")
        submit(same_prompt)
        provider_time(same_prompt)

        def one_run(run: int) -> dict[str, float]:
            provider_same = sorted(provider_time(same_prompt) for _ in range(n))
            provider_distinct = sorted(provider_time(f"run {run} provider {i}") for i in range(n))
            same = [submit(same_prompt) for _ in range(n)]
            distinct = [submit(f"run {run}: a lighthouse at dusk, study {i}") for i in range(n)]
            return {
                "provider_same": provider_same[n // 2],
                "provider_distinct": provider_distinct[n // 2],
                "same": median(took for took, _ in same),
                "distinct": median(took for took, _ in distinct),
                "over_same": median(over for _, over in same),
                "over_distinct": median(over for _, over in distinct),
            }

        results = run_each(options.runs, one_run)
        reader.stop()
        describe = bench.describe()

    table = Table(
        f"POST → grid on the socket, p50 of {n} a run, sandbox step {options.step} s; {describe}",
        options.runs,
    )
    for kind in ("same", "distinct"):
        table.add(
            f"provider's time vs POST → grid, {kind} prompt{'s' if kind == 'distinct' else ''}",
            [r[f"provider_{kind}"] for r in results],
            [r[kind] for r in results],
        )
        over = [r[kind] - r[f"provider_{kind}"] for r in results]
        own = [r[f"over_{kind}"] for r in results]
        table.note(
            f"Studio's time over the provider's, {kind}: {spread(over, 'ms')}; over its own "
            f"task's: {spread(own, 'ms')} (goal ≤ 300 ms)"
        )
    table.print()


if __name__ == "__main__":
    main()
