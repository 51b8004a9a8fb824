"""How a finished grid's images are kept: all five downloaded together, each stored once;
one that fails does not lose the others and is tried again; the card shows the grid
before quadrants still on their way are kept, and the quadrants are prepared beside it,
one core each; thumbnails are JPEG (WebP for a cut-out), never enlarged, and small
images' are not encoded twice."""

import io
import os
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.files.storage import FileSystemStorage
from django.db import OperationalError, connection
from django.db.models import QuerySet
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from PIL import Image

from studio.generation import live, services, tasks
from studio.generation.models import ResultImage, Status
from studio.generation.worker import StudioWorker
from studio.providers.base import ProviderError
from studio.providers.piapi import PiAPI
from tests.billing.test_races import race
from tests.factories import make_job, make_png

pytestmark = pytest.mark.django_db

GRID_URL = "https://cdn.example/grid.png"
QUADRANT_URLS = [f"https://cdn.example/{n}.png" for n in range(1, 5)]
COLOURS = {GRID_URL: "#264653"} | dict(
    zip(QUADRANT_URLS, ["#2a9d8f", "#e9c46a", "#f4a261", "#e76f51"], strict=True)
)


def completed_grid(project: Any, bob: Any) -> Any:
    return make_job(
        project=project,
        user=bob,
        status=Status.COMPLETED,
        output={"image_url": GRID_URL, "quadrant_urls": QUADRANT_URLS, "actions": ["upscale1"]},
    )


def served(
    failing: frozenset[str] = frozenset(),
    quadrants_after: threading.Event | None = None,
    together: int = 0,
    side: int = 128,
) -> tuple[Any, list[str], set[str]]:
    """A stand-in for the provider's CDN: each URL's own colour; `failing` URLs answer
    503; the quadrants wait for `quadrants_after` if given (a slow CDN); with `together`,
    no download answers before that many are asked for (a barrier, broken if one waits
    for another). Returns the download side effect, the URLs fetched, and the threads
    that did."""
    fetched: list[str] = []
    threads: set[str] = set()
    all_asked = threading.Barrier(together, timeout=30) if together else None

    def download(client: Any, url: str, **kwargs: Any) -> bytes:
        fetched.append(url)
        threads.add(threading.current_thread().name)
        if all_asked is not None:
            all_asked.wait()
        if quadrants_after is not None and url != GRID_URL:
            assert quadrants_after.wait(timeout=30)
        if url in failing:
            raise ProviderError("Downloading a result failed with HTTP 503", retryable=True)
        return make_png(size=(side, side), color=COLOURS[url])

    return download, fetched, threads


def colour_of(image: ResultImage) -> tuple[int, ...]:
    with image.file.open("rb") as stored, Image.open(stored) as picture:
        return picture.convert("RGB").getpixel((0, 0))  # type: ignore[return-value]


def test_every_image_of_a_grid_is_downloaded_off_the_worker_thread_and_stored_once(
    project: Any, bob: Any
) -> None:
    job = completed_grid(project, bob)
    download, fetched, threads = served()

    with mock.patch.object(PiAPI, "download", autospec=True, side_effect=download):
        services.job_store_results(job_id=job.pk, attempt=1)

    images = {image.index: image for image in job.images.all()}
    assert sorted(images) == [0, 1, 2, 3, 4]
    assert sorted(fetched) == sorted([GRID_URL, *QUADRANT_URLS])
    assert threading.current_thread().name not in threads
    for index, url in enumerate([GRID_URL, *QUADRANT_URLS]):
        expected = Image.new("RGB", (1, 1), COLOURS[url]).getpixel((0, 0))
        assert colour_of(images[index]) == expected


def test_a_failed_download_keeps_the_others_and_only_it_is_tried_again(
    project: Any, bob: Any
) -> None:
    job = completed_grid(project, bob)
    download, _, _ = served(failing=frozenset({QUADRANT_URLS[2]}))

    with mock.patch.object(PiAPI, "download", autospec=True, side_effect=download):
        services.job_store_results(job_id=job.pk, attempt=1)

    assert sorted(job.images.values_list("index", flat=True)) == [0, 1, 2, 4]
    retry = DBTaskResult.objects.get(task_path__endswith="store_results")
    assert retry.args_kwargs["args"] == [job.pk, 2]

    download, fetched, _ = served()
    with mock.patch.object(PiAPI, "download", autospec=True, side_effect=download):
        services.job_store_results(job_id=job.pk, attempt=2)

    assert fetched == [QUADRANT_URLS[2]]
    assert sorted(job.images.values_list("index", flat=True)) == [0, 1, 2, 3, 4]
    job.refresh_from_db()
    assert job.result_lost_at is None


@pytest.mark.django_db(transaction=True)  # the storing thread reads the job on its own
def test_a_grid_that_fails_to_download_does_not_hold_its_quadrants_back(
    project: Any, bob: Any
) -> None:
    job = completed_grid(project, bob)
    download, _, _ = served(failing=frozenset({GRID_URL}))

    def store() -> None:
        try:
            services.job_store_results(job_id=job.pk, attempt=1)
        finally:
            connection.close()  # the thread's own

    storing = threading.Thread(target=store, daemon=True)
    with mock.patch.object(PiAPI, "download", autospec=True, side_effect=download):
        storing.start()
        storing.join(timeout=30)

    assert not storing.is_alive(), "the quadrants waited for a grid that never came"
    assert sorted(job.images.values_list("index", flat=True)) == [1, 2, 3, 4]
    retry = DBTaskResult.objects.get(task_path__endswith="store_results")
    assert retry.args_kwargs["args"] == [job.pk, 2]


def test_the_card_shows_the_grid_before_quadrants_still_on_their_way(
    project: Any, bob: Any
) -> None:
    job = completed_grid(project, bob)
    pushed = threading.Event()
    download, _, _ = served(quadrants_after=pushed)
    stored_at_each_push: list[list[int]] = []

    def push_job(job_id: int, **kwargs: Any) -> None:
        stored_at_each_push.append(
            sorted(ResultImage.objects.filter(job_id=job_id).values_list("index", flat=True))
        )
        pushed.set()

    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(live, "push_job", autospec=True, side_effect=push_job),
    ):
        services.job_store_results(job_id=job.pk, attempt=1)

    assert stored_at_each_push == [[0], [0, 1, 2, 3, 4]]


def test_quadrants_downloaded_with_the_grid_are_pushed_with_it_once(project: Any, bob: Any) -> None:
    job = completed_grid(project, bob)
    serve, _, _ = served()
    downloaded = threading.Semaphore(0)
    release = threading.Event()
    stored_at_each_push: list[list[int]] = []

    def download(client: Any, url: str, **kwargs: Any) -> bytes:
        data = serve(client, url, **kwargs)
        if url != GRID_URL:
            downloaded.release()
        return data

    def prepare(index: int, data: bytes) -> services.PreparedImage:
        if index != ResultImage.GRID:
            assert release.wait(timeout=30)
        return real_prepared_image(index, data)

    def add_once_all_are_downloaded(result: ResultImage) -> None:
        if result.index == ResultImage.GRID:
            for _ in range(4):
                assert downloaded.acquire(timeout=30)
            # Still preparing when the card's push is decided; let them go a little later.
            threading.Timer(0.2, release.set).start()
        real_insert(result)

    def push_job(job_id: int, **kwargs: Any) -> None:
        stored_at_each_push.append(
            sorted(ResultImage.objects.filter(job_id=job_id).values_list("index", flat=True))
        )

    real_prepared_image, real_insert = services.prepared_image, services._image_insert
    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(services, "prepared_image", side_effect=prepare),
        mock.patch.object(services, "_image_insert", side_effect=add_once_all_are_downloaded),
        mock.patch.object(live, "push_job", autospec=True, side_effect=push_job),
    ):
        services.job_store_results(job_id=job.pk, attempt=1)

    assert stored_at_each_push == [[0, 1, 2, 3, 4]]


class RecordedCores:
    """PREPARING as two cores, noting which thread took one, in turn."""

    def __init__(self) -> None:
        self.slots = threading.BoundedSemaphore(2)
        self.taken_by: list[threading.Thread] = []

    def __enter__(self) -> None:
        self.slots.acquire()
        self.taken_by.append(threading.current_thread())

    def __exit__(self, *exc: object) -> None:
        self.slots.release()


def test_the_grid_is_prepared_first_and_the_quadrants_beside_it_one_core_each(
    project: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = completed_grid(project, bob)
    serve, _, _ = served(together=5)  # all five asked for at once
    cores = RecordedCores()

    def download(client: Any, url: str, **kwargs: Any) -> bytes:
        data = serve(client, url, **kwargs)
        if url == GRID_URL:
            time.sleep(0.1)  # the largest, the last to arrive
        return data

    monkeypatch.setattr(services, "PREPARING", cores)
    lock = threading.Lock()
    index_of: dict[threading.Thread, int] = {}
    preparing: set[int] = set()
    most_at_once = 0
    quadrant_started = threading.Event()
    grid_had_company: list[bool] = []

    def prepare(index: int, data: bytes) -> services.PreparedImage:
        nonlocal most_at_once
        with lock:
            index_of[threading.current_thread()] = index
            preparing.add(index)
            most_at_once = max(most_at_once, len(preparing))
        if index == ResultImage.GRID:
            # Waits for a quadrant to start beside it: one waiting for the grid to end
            # would never start.
            grid_had_company.append(quadrant_started.wait(timeout=10))
        else:
            quadrant_started.set()
            time.sleep(0.05)  # long enough for any others let in to overlap
        prepared = real_prepared_image(index, data)
        with lock:
            preparing.discard(index)
        return prepared

    real_prepared_image = services.prepared_image
    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(services, "prepared_image", side_effect=prepare),
    ):
        services.job_store_results(job_id=job.pk, attempt=1)

    assert [index_of[thread] for thread in cores.taken_by[:1]] == [ResultImage.GRID]
    assert grid_had_company == [True]
    assert most_at_once == 2  # never more than the cores
    assert sorted(job.images.values_list("index", flat=True)) == [0, 1, 2, 3, 4]


def test_a_failed_early_push_does_not_keep_the_quadrants_from_storage(
    project: Any, bob: Any
) -> None:
    job = completed_grid(project, bob)
    pushed = threading.Event()
    download, _, _ = served(quadrants_after=pushed)
    calls: list[int] = []

    def push_job(job_id: int, **kwargs: Any) -> None:
        calls.append(job_id)
        pushed.set()
        if len(calls) == 1:
            raise ConnectionError("the channel layer is down")

    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(live, "push_job", autospec=True, side_effect=push_job),
    ):
        services.job_store_results(job_id=job.pk, attempt=1)

    assert sorted(job.images.values_list("index", flat=True)) == [0, 1, 2, 3, 4]
    assert len(calls) == 2  # the card with all five still goes out


def test_the_five_downloads_are_under_way_at_once(project: Any, bob: Any) -> None:
    job = completed_grid(project, bob)
    download, _, _ = served(together=5)

    with mock.patch.object(PiAPI, "download", autospec=True, side_effect=download):
        services.job_store_results(job_id=job.pk, attempt=1)

    assert sorted(job.images.values_list("index", flat=True)) == [0, 1, 2, 3, 4]


@pytest.mark.django_db(transaction=True)  # as in the worker: the INSERT commits on its own
def test_an_image_whose_commit_was_not_acknowledged_keeps_its_files(project: Any, bob: Any) -> None:
    job = completed_grid(project, bob)
    download, _, _ = served()
    real_save, real_bulk_create = ResultImage.save, QuerySet.bulk_create

    def lose_the_connection_after(images: list[ResultImage]) -> None:
        if any(image.index == 2 for image in images):
            raise OperationalError("server closed the connection unexpectedly")

    def save(image: ResultImage, *args: Any, **kwargs: Any) -> None:
        real_save(image, *args, **kwargs)
        lose_the_connection_after([image])

    def bulk_create(rows: QuerySet[Any], images: list[ResultImage], **kwargs: Any) -> Any:
        created = real_bulk_create(rows, images, **kwargs)
        lose_the_connection_after(images)
        return created

    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(ResultImage, "save", autospec=True, side_effect=save),
        mock.patch.object(QuerySet, "bulk_create", autospec=True, side_effect=bulk_create),
        pytest.raises(OperationalError),
    ):
        services.job_store_results(job_id=job.pk, attempt=1)

    kept = ResultImage.objects.get(job=job, index=2)  # committed: its files must be there
    for field in (kept.file, kept.thumbnail, kept.thumbnail_small):
        assert field.storage.exists(field.name)


def test_a_quadrant_failing_at_once_still_shows_the_grid_and_the_others(
    project: Any, bob: Any
) -> None:
    job = completed_grid(project, bob)
    download, _, _ = served(failing=frozenset({QUADRANT_URLS[2]}))
    stored_at_each_push: list[list[int]] = []

    def push_job(job_id: int, **kwargs: Any) -> None:
        stored_at_each_push.append(
            sorted(ResultImage.objects.filter(job_id=job_id).values_list("index", flat=True))
        )

    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(live, "push_job", autospec=True, side_effect=push_job),
    ):
        services.job_store_results(job_id=job.pk, attempt=1)

    assert stored_at_each_push[-1] == [0, 1, 2, 4]  # shown while quadrant 3 is tried again


def test_a_retry_that_stores_nothing_new_pushes_nothing(project: Any, bob: Any) -> None:
    job = completed_grid(project, bob)
    download, _, _ = served(failing=frozenset(QUADRANT_URLS))
    with mock.patch.object(PiAPI, "download", autospec=True, side_effect=download):
        services.job_store_results(job_id=job.pk, attempt=1)

    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(live, "push_job", autospec=True) as push_job,
    ):
        services.job_store_results(job_id=job.pk, attempt=2)

    push_job.assert_not_called()


def test_a_first_attempt_that_stores_nothing_still_shows_the_job_completed(
    project: Any, bob: Any
) -> None:
    """At completion a grid's card got only its pill ("Saving images…"): the card itself,
    completed with its buttons, comes from the first attempt, even one that kept none."""
    job = completed_grid(project, bob)
    download, _, _ = served(failing=frozenset([GRID_URL, *QUADRANT_URLS]))
    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(live, "push_job", autospec=True) as push_job,
    ):
        services.job_store_results(job_id=job.pk, attempt=1)

    assert not job.images.exists()
    push_job.assert_called_once()
    assert push_job.call_args.args == (job.pk,)
    assert push_job.call_args.kwargs["also"](live.job_for_card(job.pk)) == ""  # no tiles
    assert DBTaskResult.objects.filter(task_path__endswith="store_results").count() == 1


def test_an_image_a_little_larger_than_a_tile_is_its_own_tile(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, status=Status.COMPLETED)

    services._store_image(job, 1, make_png(size=(services.OWN_TILE_UP_TO, 400)))
    services._store_image(job, 2, make_png(size=(services.OWN_TILE_UP_TO + 40, 400)))

    own, larger = job.images.order_by("index")
    assert own.thumbnail_small.name == own.thumbnail.name  # one file for both
    assert larger.thumbnail_small.name != larger.thumbnail.name
    with own.thumbnail_small.open("rb") as small, Image.open(small) as picture:
        assert picture.size == (services.OWN_TILE_UP_TO, 400)
    with larger.thumbnail_small.open("rb") as small, Image.open(small) as picture:
        assert picture.size[0] == services.SMALL_THUMBNAIL_SIZE


def test_a_small_image_gets_thumbnails_at_its_own_size_made_once(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, status=Status.COMPLETED)

    services._store_image(job, ResultImage.GRID, make_png(size=(96, 64)))

    stored = job.images.get()
    assert stored.thumbnail_small.name == stored.thumbnail.name  # written once
    with stored.thumbnail.open("rb") as thumbnail, Image.open(thumbnail) as picture:
        assert picture.format == "JPEG" and picture.size == (96, 64)


def test_thumbnails_are_made_where_an_in_memory_file_is_refused(
    project: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: Any) -> int:
        raise OSError(38, "Function not implemented")  # an old kernel, a sandbox's filter

    monkeypatch.setattr(os, "memfd_create", refused)
    job = make_job(project=project, user=bob, status=Status.COMPLETED)

    services._store_image(job, 1, make_png(size=(1600, 800)))

    stored = job.images.get()
    for field, size in ((stored.thumbnail, (1024, 512)), (stored.thumbnail_small, (512, 256))):
        with field.open("rb") as thumbnail, Image.open(thumbnail) as picture:
            assert picture.format == "JPEG" and picture.size == size


def test_a_webp_no_larger_than_a_card_is_its_own_thumbnail(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, status=Status.COMPLETED)
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), "#e76f51").save(buffer, "WEBP")

    services._store_image(job, ResultImage.GRID, buffer.getvalue())

    stored = job.images.get()
    assert stored.thumbnail.read() == buffer.getvalue()
    with stored.thumbnail_small.open("rb") as small, Image.open(small) as picture:
        assert picture.size == (services.SMALL_THUMBNAIL_SIZE, 360)


def test_a_large_image_gets_both_thumbnails_scaled_down(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, status=Status.COMPLETED)

    services._store_image(job, ResultImage.GRID, make_png(size=(2048, 1024)))

    stored = job.images.get()
    # The tile is the card halved: between SMALL_THUMBNAIL_SIZE and OWN_TILE_UP_TO.
    for field, size in ((stored.thumbnail, (1024, 512)), (stored.thumbnail_small, (512, 256))):
        with field.open("rb") as thumbnail, Image.open(thumbnail) as picture:
            assert (picture.format, picture.size) == ("JPEG", size)


def test_thumbnails_leave_the_image_they_are_made_from_as_it_was() -> None:
    # No copy is made of pixels that need no change: the scaled ones are new images.
    for size in ((1024, 1024), (2048, 1024)):
        image = Image.new("RGB", size, "#2a9d8f")
        image.paste("#e9c46a", (0, 0, size[0] // 2, size[1]))
        pixels = image.tobytes()

        large, small, extension = services.thumbnails(image, b"")

        assert image.size == size and image.tobytes() == pixels
        card_size = (1024, 1024 * size[1] // size[0])
        tile_size = (512, 512 * size[1] // size[0])
        for thumbnail, expected in ((large, card_size), (small, tile_size)):
            with Image.open(io.BytesIO(thumbnail)) as picture:
                assert (picture.format, picture.size) == ("JPEG", expected)
                left, right = picture.getpixel((10, 10)), picture.getpixel((expected[0] - 10, 10))
                assert left[0] > 200 and right[0] < 80  # yellow left, teal right
        assert extension == "jpg"


def test_a_cut_out_keeps_its_transparency_in_its_thumbnails(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, status=Status.COMPLETED)
    cut_out = Image.new("RGBA", (1200, 800), (231, 111, 81, 255))
    cut_out.paste((0, 0, 0, 0), (0, 0, 600, 800))  # the left half is see-through
    buffer = io.BytesIO()
    cut_out.save(buffer, "PNG")

    services._store_image(job, ResultImage.GRID, buffer.getvalue())

    stored = job.images.get()
    for field, size in ((stored.thumbnail, (1024, 683)), (stored.thumbnail_small, (512, 342))):
        with field.open("rb") as thumbnail, Image.open(thumbnail) as picture:
            assert (picture.format, picture.size) == ("WEBP", size)
            assert picture.convert("RGBA").getpixel((10, 10))[3] == 0
            assert picture.convert("RGBA").getpixel((size[0] - 10, 10))[3] == 255


def test_an_image_with_an_alpha_channel_but_nothing_see_through_gets_jpeg_thumbnails(
    project: Any, bob: Any
) -> None:
    job = make_job(project=project, user=bob, status=Status.COMPLETED)
    buffer = io.BytesIO()
    Image.new("RGBA", (1200, 800), (231, 111, 81, 255)).save(buffer, "PNG")

    services._store_image(job, ResultImage.GRID, buffer.getvalue())

    stored = job.images.get()
    assert stored.thumbnail.name.endswith(".jpg") and stored.thumbnail_small.name.endswith(".jpg")
    with stored.thumbnail.open("rb") as thumbnail, Image.open(thumbnail) as picture:
        assert picture.format == "JPEG"


def files_on_disk(settings: Any) -> list[str]:
    """Every file in storage, by its name there (folders included)."""
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.mark.django_db(transaction=True)
def test_two_workers_storing_the_same_grid_at_once_keep_one_copy_and_no_stray_files(
    project: Any, bob: Any, settings: Any
) -> None:
    job = completed_grid(project, bob)
    download, _, _ = served(together=10)  # each worker has read what is missing

    def store() -> None:
        services.job_store_results(job_id=job.pk, attempt=1)

    with mock.patch.object(PiAPI, "download", autospec=True, side_effect=download):
        outcomes = race([store, store])

    assert outcomes == [None, None]
    kept = job.images.order_by("index")
    assert [image.index for image in kept] == [0, 1, 2, 3, 4]
    on_disk = files_on_disk(settings)
    fields = ("file", "thumbnail", "thumbnail_small")
    assert on_disk == sorted({getattr(image, field).name for image in kept for field in fields})


@pytest.mark.parametrize(
    ("side", "failing"),
    [
        (128, "-2."),  # its one thumbnail, which serves both sizes
        (services.OWN_TILE_UP_TO + 200, "-2-s."),  # its small one, after the card's
    ],
)
def test_a_quadrant_whose_thumbnail_cannot_be_written_leaves_no_files_and_is_tried_again(
    project: Any, bob: Any, settings: Any, side: int, failing: str
) -> None:
    job = completed_grid(project, bob)
    download, _, _ = served(side=side)
    real_save = FileSystemStorage._save

    def save(storage: Any, name: str, content: Any) -> str:
        if name.startswith("thumbnails/") and Path(name).name.startswith(f"job-{job.pk}{failing}"):
            raise OSError(28, "No space left on device")
        return real_save(storage, name, content)

    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(FileSystemStorage, "_save", autospec=True, side_effect=save),
    ):
        services.job_store_results(job_id=job.pk, attempt=1)

    assert sorted(job.images.values_list("index", flat=True)) == [0, 1, 3, 4]
    names = [Path(name).name for name in files_on_disk(settings)]
    assert not [name for name in names if name.startswith(f"job-{job.pk}-2")]
    retry = DBTaskResult.objects.get(task_path__endswith="store_results")
    assert retry.args_kwargs["args"] == [job.pk, 2]


def test_the_database_lost_while_a_grid_is_added_leaves_no_files_of_the_images_not_added(
    project: Any, bob: Any, settings: Any
) -> None:
    job = completed_grid(project, bob)
    tried = threading.Event()
    download, _, _ = served(quadrants_after=tried)  # the quadrants come after the grid's row

    def insert(results: list[ResultImage]) -> None:
        tried.set()
        raise OperationalError("server closed the connection unexpectedly")

    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(services, "_images_insert", side_effect=insert),
        pytest.raises(OperationalError),
    ):
        services.job_store_results(job_id=job.pk, attempt=1)

    # The grid's files stay: its row may have been committed before the connection went.
    grid = f"job-{job.pk}-0"
    names = sorted(Path(name).name for name in files_on_disk(settings))
    assert names == sorted([f"{grid}.png", f"{grid}.jpg"])  # its own tile (see thumbnails)


# A grid whose quadrants came with it is made from them (services._composed_grid).

TILE = (96, 64)


def tiled_grid() -> dict[str, bytes]:
    """A provider's grid and its quadrants: the grid is the four side by side, in order."""
    quadrants = [Image.new("RGB", TILE, COLOURS[url]) for url in QUADRANT_URLS]
    grid = Image.new("RGB", (2 * TILE[0], 2 * TILE[1]))
    for position, quadrant in enumerate(quadrants):
        grid.paste(quadrant, (position % 2 * TILE[0], position // 2 * TILE[1]))
    files = {}
    for url, image in zip([GRID_URL, *QUADRANT_URLS], [grid, *quadrants], strict=True):
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        files[url] = buffer.getvalue()
    return files


def store_with(job: Any, files: dict[str, bytes]) -> list[int]:
    """Store `job`'s results from `files`: the indexes of the images decoded."""
    decoded: list[int] = []

    def prepare(index: int, data: bytes) -> services.PreparedImage:
        decoded.append(index)
        return real_prepared_image(index, data)

    real_prepared_image = services.prepared_image
    with (
        mock.patch.object(
            PiAPI, "download", autospec=True, side_effect=lambda client, url, **_: files[url]
        ),
        mock.patch.object(services, "prepared_image", side_effect=prepare),
    ):
        services.job_store_results(job_id=job.pk, attempt=1)
    return sorted(decoded)


def corners(field: Any) -> list[tuple[int, ...]]:
    with field.open("rb") as stored, Image.open(stored) as picture:
        rgb = picture.convert("RGB")
        width, height = rgb.size
        return [
            rgb.getpixel(xy)
            for xy in ((5, 5), (width - 6, 5), (5, height - 6), (width - 6, height - 6))
        ]  # type: ignore[misc]


def near(found: list[tuple[int, ...]], expected: list[tuple[int, ...]]) -> bool:
    return all(
        max(abs(a - b) for a, b in zip(f, e, strict=True)) <= 6
        for f, e in zip(found, expected, strict=True)
    )


def test_a_grid_whose_quadrants_came_with_it_is_made_from_them_and_looks_the_same(
    project: Any, bob: Any
) -> None:
    job = completed_grid(project, bob)
    files = tiled_grid()

    decoded = store_with(job, files)

    assert decoded == [1, 2, 3, 4]  # not the grid: its pixels are the quadrants'
    grid = job.images.get(index=ResultImage.GRID)
    assert (grid.width, grid.height) == (2 * TILE[0], 2 * TILE[1])
    assert grid.file.read() == files[GRID_URL]  # the provider's file, as it came
    quadrant_colours = [
        Image.new("RGB", (1, 1), COLOURS[url]).getpixel((0, 0)) for url in QUADRANT_URLS
    ]
    assert near(corners(grid.thumbnail), quadrant_colours)  # type: ignore[arg-type]
    assert near(corners(grid.thumbnail_small), quadrant_colours)  # type: ignore[arg-type]
    assert corners(grid.file) == quadrant_colours


def test_a_truncated_grid_is_not_kept_though_its_quadrants_came_whole(
    project: Any, bob: Any
) -> None:
    job = completed_grid(project, bob)
    files = tiled_grid()
    files[GRID_URL] = files[GRID_URL][: len(files[GRID_URL]) - 40]

    store_with(job, files)

    assert sorted(job.images.values_list("index", flat=True)) == [1, 2, 3, 4]
    retry = DBTaskResult.objects.get(task_path__endswith="store_results")
    assert retry.args_kwargs["args"] == [job.pk, 2]


def test_a_grid_its_quadrants_do_not_tile_is_decoded_itself(project: Any, bob: Any) -> None:
    job = completed_grid(project, bob)
    files = tiled_grid()
    buffer = io.BytesIO()
    Image.new("RGB", (2 * TILE[0] + 8, 2 * TILE[1]), COLOURS[GRID_URL]).save(buffer, "PNG")
    files[GRID_URL] = buffer.getvalue()  # a border: not the quadrants side by side

    decoded = store_with(job, files)

    assert decoded == [0, 1, 2, 3, 4]
    grid = job.images.get(index=ResultImage.GRID)
    assert colour_of(grid) == Image.new("RGB", (1, 1), COLOURS[GRID_URL]).getpixel((0, 0))
    with grid.thumbnail.open("rb") as stored, Image.open(stored) as thumbnail:
        assert thumbnail.size == (2 * TILE[0] + 8, 2 * TILE[1])


# A store task that ends in an error it does not expect schedules no retry: the sweep
# takes the store up again (services.results_sweep).


def store_tasks(job: Any) -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(
            task_path__endswith="store_results", args_kwargs__args__0=job.pk
        ).order_by("enqueued_at")
    )


def run_store_tasks_due(download: Any) -> None:
    """The worker runs the store tasks as if their wait were over."""
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    with mock.patch.object(PiAPI, "download", autospec=True, side_effect=download):
        StudioWorker().run_ready_tasks()


def store_breaks_off(job: Any, attempt: int, target: Any, name: str, error: Exception) -> None:
    """The worker runs `job`'s store attempt `attempt`, and `error` is raised where it
    calls `name` of `target`."""
    tasks.store_results.enqueue(job.pk, attempt)
    with mock.patch.object(target, name, side_effect=error):
        run_store_tasks_due(served()[0])


def test_a_store_that_broke_off_is_taken_up_again_by_the_sweep(project: Any, bob: Any) -> None:
    job = completed_grid(project, bob)
    store_breaks_off(job, 1, services, "_images_insert", OperationalError("connection lost"))
    [broken] = store_tasks(job)
    assert broken.status == "FAILED" and not job.images.exists()

    services.jobs_sweep()
    services.jobs_sweep()  # a second sweep finds it taken up

    [_, again] = store_tasks(job)
    assert again.status == "READY" and again.args_kwargs["args"] == [job.pk, 2]
    assert again.run_after > timezone.now()  # after the wait of a failed download's retry
    with mock.patch.object(live, "push_job", autospec=True) as push_job:
        run_store_tasks_due(served()[0])
    assert sorted(job.images.values_list("index", flat=True)) == [0, 1, 2, 3, 4]
    push_job.assert_called_once()  # the card, with its grid


def test_a_store_task_left_running_is_taken_up_again(project: Any, bob: Any) -> None:
    job = completed_grid(project, bob)
    tasks.store_results.enqueue(job.pk, 1)
    # Its worker lost the database before it could record the end.
    DBTaskResult.objects.update(
        status="RUNNING",
        started_at=timezone.now() - services.STORE_RUNS_AT_MOST - timedelta(seconds=1),
    )

    services.jobs_sweep()
    services.jobs_sweep()  # looked at once: it is ended

    assert [(task.status, task.args_kwargs["args"]) for task in store_tasks(job)] == [
        ("FAILED", [job.pk, 1]),
        ("READY", [job.pk, 2]),
    ]


def test_a_last_attempt_that_broke_off_loses_the_result_and_offers_to_try_again(
    project: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = completed_grid(project, bob)
    store_breaks_off(job, services.MAX_STORE_ATTEMPTS, services, "_images_insert", RuntimeError())

    with (
        mock.patch.object(live, "push_project_html", autospec=True) as push,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.jobs_sweep()

    job.refresh_from_db()
    assert job.result_lost_at is not None
    [(_, card)] = [call.args for call in push.call_args_list]
    assert "The images could not be saved: Studio stopped while saving them." in card
    assert "Try again" in card
    assert len(store_tasks(job)) == 1

    services.job_retry_results(job=job)  # the card's "Try again"
    services.jobs_sweep()  # the failed task is not the job's last any more: left alone
    job.refresh_from_db()
    assert job.result_lost_at is None and len(store_tasks(job)) == 2
    run_store_tasks_due(served()[0])
    assert job.images.count() == 5


def test_a_failed_download_s_lost_result_says_why_on_its_card(project: Any, bob: Any) -> None:
    job = completed_grid(project, bob)
    download, _, _ = served(failing=frozenset([GRID_URL]))
    with (
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=download),
        mock.patch.object(live, "push_project_html", autospec=True) as push,
    ):
        services.job_store_results(job_id=job.pk, attempt=services.MAX_STORE_ATTEMPTS)

    [(_, card)] = [call.args for call in push.call_args_list]
    assert (
        "The images could not be downloaded from the provider (Downloading a result failed "
        "with HTTP 503)." in card
    )
    assert "Try again" in card


def test_a_store_still_running_or_failed_long_ago_is_left_alone(project: Any, bob: Any) -> None:
    running, failed = completed_grid(project, bob), completed_grid(project, bob)
    tasks.store_results.enqueue(running.pk, 1)
    tasks.store_results.enqueue(failed.pk, 1)
    now = timezone.now()
    DBTaskResult.objects.filter(args_kwargs__args__0=running.pk).update(
        status="RUNNING", started_at=now - services.STORE_RUNS_AT_MOST + timedelta(minutes=1)
    )
    DBTaskResult.objects.filter(args_kwargs__args__0=failed.pk).update(
        status="FAILED", finished_at=now - services.STORE_FAILURES_LOOKED_AT - timedelta(minutes=1)
    )

    services.jobs_sweep()

    assert len(store_tasks(running)) == 1 and len(store_tasks(failed)) == 1


def test_a_store_that_failed_after_keeping_every_image_is_left_alone(
    project: Any, bob: Any
) -> None:
    job = completed_grid(project, bob)
    # Every image is kept, then the card's push fails (Redis gone, say).
    store_breaks_off(job, services.MAX_STORE_ATTEMPTS, live, "push_job", ConnectionError())
    assert store_tasks(job)[0].status == "FAILED" and job.images.count() == 5

    services.jobs_sweep()

    job.refresh_from_db()
    assert job.result_lost_at is None and len(store_tasks(job)) == 1


@pytest.mark.django_db(transaction=True)  # each sweep in a thread with its own connection
def test_two_workers_sweeping_at_once_take_a_broken_store_up_once(
    project: Any, bob: Any, alone: None
) -> None:
    """(`alone`: a shared server left running by an earlier test would run the new store
    task itself, fail it, and its failure would rightly be taken up a third time.)"""
    job = completed_grid(project, bob)
    store_breaks_off(job, 1, services, "_images_insert", OperationalError("connection lost"))
    enqueue = services._store_again

    def slow_enqueue(*args: Any) -> None:
        time.sleep(0.5)  # the other sweep has looked at the job's tasks by now
        enqueue(*args)

    with mock.patch.object(services, "_store_again", side_effect=slow_enqueue):
        assert race([services.jobs_sweep, services.jobs_sweep]) == [None, None]

    assert [task.args_kwargs["args"] for task in store_tasks(job)] == [[job.pk, 1], [job.pk, 2]]
