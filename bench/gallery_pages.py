"""How fast a gallery page renders with 10,000 images, against an empty gallery measured
in the same run.

A gallery pages by a keyset cursor (created_at, id) and fetches favourites and tags in
one query each per page, so a page should cost about the same whatever the gallery's
size and however deep the page. This script sets up a throw-away database
(PostgreSQL when DATABASE_URL is set, else SQLite: see common.py), fills a project
with 10,000 gallery images (rows only: rendering a page opens no file), then
times (in-process, through Django's full request handling, logged in as a member; the
median of several runs):

- the empty gallery's page (the baseline);
- the first page of a gallery of 100 images (the same 48 tiles to draw);
- the first page of the full gallery;
- the next page (the infinite-scroll fragment);
- a deep page, 9,000 images down;
- a search with a filter (two words, favourites only).

Run: .venv/bin/python bench/gallery_pages.py [RUNS]
"""

import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import Bench

# A throw-away database (PostgreSQL when DATABASE_URL is set), migrated; see common.py.
BENCH = Bench("gallery_pages")

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
IMAGES = 10_000
WORDS = ["lighthouse", "fox", "harbour", "owl", "desert", "neon", "forest", "glacier"]


def fill(project, user, count: int) -> None:  # type: ignore[no-untyped-def]
    from studio.gallery.models import Favourite, ImageTag, Tag
    from studio.generation.models import Job, ResultImage

    jobs = Job.objects.bulk_create(
        [
            Job(
                project=project,
                created_by=user,
                operation="imagine",
                status="completed",
                prompt=f"a {WORDS[n % 8]} at dusk, {WORDS[(n * 3) % 8]} light, study {n}",
                aspect_ratio=["1:1", "16:9", "2:3"][n % 3],
            )
            for n in range(count // 4)
        ],
        batch_size=1000,
    )
    images = ResultImage.objects.bulk_create(
        [
            ResultImage(
                job=job,
                project=project,
                index=index,
                file="results/shared.png",
                thumbnail="thumbnails/shared.webp",
                width=512,
                height=512,
            )
            for job in jobs
            for index in range(1, 5)
        ],
        batch_size=1000,
    )
    start = timezone.now() - timedelta(days=60)
    for n, image in enumerate(images):
        image.created_at = start + timedelta(seconds=n * 7)
    ResultImage.objects.bulk_update(images, ["created_at"], batch_size=1000)
    tags = Tag.objects.bulk_create([Tag(project=project, name=word) for word in WORDS])
    ImageTag.objects.bulk_create(
        [ImageTag(image=image, tag=tags[n % 8]) for n, image in enumerate(images[::5])],
        batch_size=1000,
    )
    Favourite.objects.bulk_create(
        [Favourite(user=user, image=image) for image in images[::7]], batch_size=1000
    )


def median_ms(request: Callable[[], object]) -> float:
    for _ in range(2):  # warm up (templates, connections)
        request()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = request()
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code  # type: ignore[attr-defined]
    return statistics.median(times) * 1000


def main() -> None:
    begun = time.perf_counter()
    from studio.accounts.models import Membership, Team, User
    from studio.gallery.queries import Cursor
    from studio.generation.models import ResultImage
    from studio.projects.models import Project

    team = Team.objects.create(name="Bench")
    user = User.objects.create_user(username="bench", password="x")
    Membership.objects.create(team=team, user=user, role="member")
    empty = Project.objects.create(team=team, name="Empty")
    small = Project.objects.create(team=team, name="Small")
    full = Project.objects.create(team=team, name="Full")
    fill(small, user, 100)
    fill(full, user, IMAGES)
    filled = time.perf_counter() - begun
    client = Client()
    client.force_login(user)
    hx = {"HX-Request": "true"}

    newest = list(
        ResultImage.objects.filter(job__project=full).order_by("-created_at", "-id")[:9001]
    )
    after_first_page = Cursor.after(newest[47]).token
    deep = Cursor.after(newest[9000]).token
    gallery = f"/projects/{full.pk}/gallery/"
    cases = [
        ("empty gallery: page", lambda: client.get(f"/projects/{empty.pk}/gallery/")),
        ("100 images: first page", lambda: client.get(f"/projects/{small.pk}/gallery/")),
        ("10k: first page", lambda: client.get(gallery)),
        (
            "10k: next page (fragment)",
            lambda: client.get(f"{gallery}?after={after_first_page}", headers=hx),
        ),
        ("10k: page 9,000 deep", lambda: client.get(f"{gallery}?after={deep}", headers=hx)),
        ("10k: search + favourites", lambda: client.get(f"{gallery}?q=fox+dusk&fav=1", headers=hx)),
    ]
    results = []
    for label, request in cases:
        connection.queries_log.clear()  # full after the fill, it would count nothing
        with CaptureQueriesContext(connection) as queries:
            request()
        count = len(queries)  # now: the next request empties the log queries are read from
        results.append((label, median_ms(request), count))

    baseline = results[0][1]
    print(
        f"gallery images: {IMAGES:,}  runs per case: {RUNS} (median)  "
        f"database: {connection.vendor}  fill: {filled:.1f} s"
    )
    print(f"{'case':<30}{'ms':>9}{'× empty':>10}{'queries':>9}")
    for label, ms, count in results:
        print(f"{label:<30}{ms:>9.1f}{ms / baseline:>10.2f}{count:>9}")
    print(f"total: {time.perf_counter() - begun:.1f} s")


if __name__ == "__main__":
    try:
        main()
    finally:
        BENCH.close()
