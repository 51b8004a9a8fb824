"""The worker's result ingest for one grid (downloads, decode, thumbnails, pushes),
against decoding that grid once with Pillow, measured in the same run (issue 14, row 6).

The sandbox, in a daphne of its own (`runstudio --no-worker`, zero step time), plays the
provider: each task made there is complete at once. For each grid the script makes a job
in Studio that has just completed with that task (the provider's final state applied, as
the worker's GET does). Each image is fetched once first: the sandbox draws an image
when first asked, the provider's work, not Studio's. Then it calls the worker's own
`job_store_results` in this process on the bench's database and Redis, which downloads
the grid and its four quadrants, decodes each, saves it with its thumbnails, and pushes
the card and the gallery's tiles. Each run, over N grids (medians):

- baseline: Pillow's decode of the grid (`Image.open(...).load()`, already downloaded);
- Studio: `job_store_results` for the whole grid;
- its parts, timed after it, against the same baseline: the five downloads again one
  after another, and the thumbnails Studio makes for the five (`thumbnails`: two
  for the grid, one for each quadrant, whose card thumbnail is its gallery tile too).

Run: .venv/bin/python bench/result_ingest.py [--runs 5] [--n 5] [--quick]
"""

import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Bench, Table, arguments, make_jobs, run_each, sandbox_data, sandbox_task


def main() -> None:
    options = arguments(__doc__, n=(int, 5, "grids a run"))
    n = 1 if options.quick else options.n
    with Bench("result_ingest", SANDBOX_STEP_SECONDS="0") as bench:
        from PIL import Image

        from studio.generation import services
        from studio.generation.models import Job
        from studio.providers.piapi import task_from_data

        _team, project, user = bench.provision()
        bench.start_web()

        def completed_job(prompt: str) -> Job:
            task_id, _ = sandbox_task(bench.url, prompt)
            data = sandbox_data(bench.url, task_id)
            job = make_jobs(project, user, 1, task_ids=[task_id], progress=90)[0]
            job = Job.objects.select_related("project__team", "provider_key").get(pk=job.pk)
            assert services.job_apply_provider_task(job, task_from_data(data))
            return Job.objects.get(pk=job.pk)

        def one_grid(prompt: str) -> dict[str, float]:
            job = completed_job(prompt)
            client = services.provider_client(job)
            urls = [url for _, url in job.result_urls if url]
            for url in urls:  # the sandbox draws an image when first asked: not Studio's time
                client.download(url)
            started = time.perf_counter()
            services.job_store_results(job_id=job.pk, attempt=1)
            ingest = time.perf_counter() - started
            assert job.images.count() == len(urls), "the grid was not stored"
            started = time.perf_counter()
            blobs = [client.download(url) for url in urls]
            downloads = time.perf_counter() - started
            started = time.perf_counter()
            Image.open(io.BytesIO(blobs[0])).load()
            decode = time.perf_counter() - started
            images = []
            for blob in blobs:
                image = Image.open(io.BytesIO(blob))
                image.load()
                images.append(image)
            started = time.perf_counter()
            made = 0
            for image, blob in zip(images, blobs, strict=True):
                large, small, _ = services.thumbnails(image, blob)
                made += 1 if small is large else 2
            thumbnails = time.perf_counter() - started
            return {
                "decode": decode,
                "ingest": ingest,
                "downloads": downloads,
                "thumbnails": thumbnails,
                "made": made,
                "pixels": images[0].width * images[0].height,
            }

        one_grid("warm-up, a fox in the snow")

        def one_run(run: int) -> dict[str, float]:
            grids = [one_grid(f"run {run}: a harbour at dawn, study {i}") for i in range(n)]
            return {key: statistics.median(g[key] for g in grids) for key in grids[0]}

        results = run_each(options.runs, one_run)
        describe = bench.describe()

    side = round(results[0]["pixels"] ** 0.5)
    table = Table(f"result ingest per grid (≈{side}² px grid), {n} a run; {describe}", options.runs)
    decode = [r["decode"] for r in results]
    table.add("Pillow decode vs job_store_results", decode, [r["ingest"] for r in results])
    table.add("Pillow decode vs 5 downloads in turn", decode, [r["downloads"] for r in results])
    made = round(results[0]["made"])
    table.add(f"Pillow decode vs its {made} thumbnails", decode, [r["thumbnails"] for r in results])
    table.print()


if __name__ == "__main__":
    main()
