"""How long the worker takes to keep a finished grid, against decoding the grid once with
Pillow, measured in the same run.

When an imagine completes, `job_store_results` copies its five images (the grid and its
four quadrants) from the provider into storage: it downloads each, checks it decodes,
makes two WebP thumbnails of each (cards, gallery tiles), saves the files and rows, and
pushes the card and the new gallery tiles. This script renders a sandbox-sized grid
(the sandbox's own pictures: a 1024 px grid PNG, four 512 px quadrants), serves the five
PNGs from a local HTTP server (so downloads are real HTTP, as from the sandbox), sets up
a throw-away database (SQLite, or PostgreSQL when DATABASE_URL is set) with a completed
job pointing at them, then times, RUNS times each (median, fastest, slowest):

- baseline: Pillow decoding the grid PNG once;
- the whole ingest (`job_store_results`), the job's images deleted before each run;
- until the card first shows the grid (the first card pushed during the ingest);
- the five downloads alone, one after another;
- the thumbnails alone, for the five images (`services.thumbnails`).

It prints the thumbnails' total size too, since cheaper WebP settings must not cost
bytes. Run: .venv/bin/python bench/result_ingest.py [RUNS]
"""

import io
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("STUDIO_VAR_DIR", tempfile.mkdtemp(prefix="studio-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

import django

django.setup()

from django.core.management import call_command
from PIL import Image

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
NAMES = ("grid", "1", "2", "3", "4")


def sandbox_grid() -> dict[str, bytes]:
    """The five PNGs of a sandbox imagine, as the sandbox serves them."""
    from studio.sandbox import images
    from studio.sandbox.art import Art

    grid = images.imagine_grid(Art(subject="a lighthouse at dusk", seed=7, aspect_ratio="1:1"))
    return {name: images.render_png(grid, name) for name in NAMES}


def serve(files: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files[self.path.strip("/").removesuffix(".png")]
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def timed(work: Callable[[], object]) -> list[float]:
    work()  # warm up (templates, connections, codecs)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    call_command("migrate", verbosity=0)
    from studio.generation import live, services
    from studio.generation.models import ResultImage, Status
    from tests.factories import make_job, make_project, make_team, make_user

    files = sandbox_grid()
    server = serve(files)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    team = make_team(name="Bench")
    user = make_user(username="bench")
    job = make_job(
        project=make_project(team=team),
        user=user,
        status=Status.COMPLETED,
        output={
            "image_url": f"{base}/grid.png",
            "quadrant_urls": [f"{base}/{n}.png" for n in NAMES[1:]],
            "actions": ["upscale1", "upscale2", "upscale3", "upscale4", "reroll"],
        },
    )
    client = services.provider_client(job)

    first_card: list[float] = []
    push_job = live.push_job

    def recording_push_job(job_id: int, **kwargs: Any) -> None:
        push_job(job_id, **kwargs)
        if not first_card:
            first_card.append(time.perf_counter())

    live.push_job = recording_push_job  # type: ignore[assignment]

    def forget_images() -> None:
        for image in ResultImage.objects.filter(job=job):
            for field in (image.file, image.thumbnail, image.thumbnail_small):
                field.delete(save=False)
        ResultImage.objects.filter(job=job).delete()

    ingest_times: list[float] = []
    card_times: list[float] = []
    for run in range(RUNS + 1):
        forget_images()
        first_card.clear()
        started = time.perf_counter()
        services.job_store_results(job_id=job.pk, attempt=1)
        ended = time.perf_counter()
        assert ResultImage.objects.filter(job=job).count() == 5
        if run:  # the first is a warm-up
            ingest_times.append(ended - started)
            card_times.append(first_card[0] - started)

    def decode_grid() -> None:
        with Image.open(io.BytesIO(files["grid"])) as image:
            image.load()

    def thumbnails() -> None:
        for data in files.values():
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                services.thumbnails(image, data)

    def downloads() -> None:
        for name in NAMES:
            client.download(f"{base}/{name}.png")

    results = [
        ("baseline: decode grid", timed(decode_grid)),
        ("ingest (job_store_results)", ingest_times),
        ("  until the grid's card", card_times),
        ("  5 downloads in a row", timed(downloads)),
        ("  thumbnails of 5", timed(thumbnails)),
    ]
    stored = ResultImage.objects.filter(job=job)
    thumbnail_bytes = sum(image.thumbnail.size + image.thumbnail_small.size for image in stored)
    server.shutdown()

    baseline = statistics.median(results[0][1])
    print(
        f"grid {Image.open(io.BytesIO(files['grid'])).size[0]} px, quadrants "
        f"{Image.open(io.BytesIO(files['1'])).size[0]} px, PNGs "
        f"{sum(map(len, files.values())) / 1024:.0f} KiB, thumbnails "
        f"{thumbnail_bytes / 1024:.0f} KiB  runs: {RUNS}  cpus: {os.cpu_count()}  "
        f"database: {django.db.connection.vendor}"
    )
    print(f"{'case':<30}{'median ms':>11}{'fastest':>9}{'slowest':>9}{'× decode':>10}")
    for label, times in results:
        median = statistics.median(times)
        print(
            f"{label:<30}{median * 1000:>11.1f}{min(times) * 1000:>9.1f}"
            f"{max(times) * 1000:>9.1f}{median / baseline:>10.2f}"
        )


if __name__ == "__main__":
    main()
