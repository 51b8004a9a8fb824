"""A gallery's first page with 10,000 images, against the same page with 10 images,
on a database as it is right after the images came (no statistics yet) and after
ANALYZE; with the queries each page makes (issue 14, row 8).

bench/gallery_pages.py measures deeper pages and searches; this one measures what the
issue's row asks for, on PostgreSQL when DATABASE_URL is set. Each run gets a database
of its own (a copy of the freshly migrated one: `CREATE DATABASE ... TEMPLATE`; an SQLite
file's copy without DATABASE_URL), so that "fresh" means fresh every time, then:

- fills a project with 10 images (the baseline) and one with 10,000 (rows only, as
  gallery_pages.py: a page opens no file), with tags and favourites; and one with a
  page's worth (48): 10 images show 10 tiles and 10,000 show 48, so this second
  baseline tells the cost of more rows from the cost of more tiles;
- fresh: times each project's first page (in this process, through Django's whole
  request handling, logged in as a member; the median of R requests after one warm-up)
  at once after the fill (before autovacuum's own ANALYZE, which waits for its minute);
- runs ANALYZE and times both again;
- counts the queries of each page.

Run: .venv/bin/python bench/gallery_first_page.py [--runs 5] [--images 10000] [--quick]
"""

import shutil
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Bench, Table, arguments, run_each

WORDS = ["lighthouse", "fox", "harbour", "owl", "desert", "neon", "forest", "glacier"]
REQUESTS = 7


def fill(project, user, count: int) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

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
            for n in range(-(-count // 4))  # 4 images a job: 10 images need 3 jobs
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
        ][:count],
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


def main() -> None:
    options = arguments(__doc__, images=(int, 10_000, "images in the big gallery"))
    images = 2_000 if options.quick else options.images
    with Bench("gallery_first_page") as bench:
        from django.db import connection, connections
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from studio.gallery.queries import PAGE_SIZE

        template = connection.settings_dict["NAME"]
        made: list[str] = []

        def use(name: str) -> None:
            connections.close_all()
            if getattr(connection, "pool", None) is not None:
                connection.close_pool()
            connection.settings_dict["NAME"] = name

        def fresh_database(run: int) -> None:
            if bench.on_postgres:
                name = f"{template}_run{run}"
                use(template)
                use("postgres")  # nothing may be connected to a template while it is copied
                with connection.cursor() as cursor:
                    cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                connections.close_all()
            else:
                name = f"{template}-run{run}"
                use(template)
                shutil.copyfile(template, name)
            made.append(name)
            use(name)

        def page_ms(client: Client, url: str) -> tuple[float, int]:
            client.get(url)  # warm up
            connection.queries_log.clear()  # full after the fill, it would count nothing
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            count = len(queries)  # now: the next request empties the log queries are read from
            times = []
            for _ in range(REQUESTS):
                started = time.perf_counter()
                client.get(url)
                times.append(time.perf_counter() - started)
            return statistics.median(times), count

        def one_run(run: int) -> dict[str, float]:
            fresh_database(run)
            team, _project, user = bench.provision()
            from studio.projects.models import Project

            small = Project.objects.create(team=team, name="Ten")
            full = Project.objects.create(team=team, name="A page")
            big = Project.objects.create(team=team, name="Many")
            fill(small, user, 10)
            fill(full, user, PAGE_SIZE)
            fill(big, user, images)
            client = Client()
            client.force_login(user)
            result: dict[str, float] = {}
            for state in ("fresh", "analyzed"):
                if state == "analyzed":
                    with connection.cursor() as cursor:
                        cursor.execute("ANALYZE")
                for label, project in (("small", small), ("full", full), ("big", big)):
                    ms, count = page_ms(client, f"/projects/{project.pk}/gallery/")
                    result[f"{state} {label}"] = ms
                    result[f"{state} {label} queries"] = count
            return result

        try:
            results = run_each(options.runs, one_run)
        finally:
            use(template)
            for name in made:
                if bench.on_postgres:
                    bench._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                else:
                    Path(name).unlink(missing_ok=True)
        describe = bench.describe()

    table = Table(f"gallery first page, 10 vs {images:,} images; {describe}", options.runs)
    for state in ("fresh", "analyzed"):
        table.add(
            f"{state}: 10 images vs {images:,}",
            [r[f"{state} small"] for r in results],
            [r[f"{state} big"] for r in results],
        )
        table.add(
            f"{state}: {PAGE_SIZE} images vs {images:,}",
            [r[f"{state} full"] for r in results],
            [r[f"{state} big"] for r in results],
        )
        table.add(
            f"{state}: queries, 10 vs {images:,}",
            [r[f"{state} small queries"] for r in results],
            [r[f"{state} big queries"] for r in results],
            unit="",
        )
    table.print()


if __name__ == "__main__":
    main()
