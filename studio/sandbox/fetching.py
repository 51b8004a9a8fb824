"""Fetching the input images of describe and blend tasks the way the provider does: after
the task was created, in the background. An image that cannot be fetched or read fails
the task ("failed to fetch image"); it is never a 400 of the create call. A LegNext
inpaint's mask named by URL is fetched the same way, as are the images LegNext's
retexture, upload-paint (and its mask by URL), remove-background and video-diffusion
(its first image and its ``--end``) name; LegNext's base64 inputs (``data:`` URLs) are
read, not fetched, in the same place.

A daemon thread per task fetches the URLs (in parallel, TIMEOUT_SECONDS each, at most
MAX_BYTES), keeps a small PNG copy of each (models.InputImage) and marks the task's
inputs ready, all in one transaction; the timeline waits for that mark before the task
goes past progress 0. It runs outside the request because the images often come from
the very server the sandbox runs in (Studio serves its uploads from 127.0.0.1 in
development), whose sync views share one thread under ASGI: a request that fetched
from its own server would wait on itself.

No SSRF checks: the sandbox is a local emulator, off in production.
"""

import base64
import binascii
import io
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from django.db import connection, transaction
from PIL import Image

from studio.sandbox import timeline
from studio.sandbox.models import InputImage, Task

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
MAX_BYTES = 25 * 1024 * 1024
# The copy kept of each input: enough to blend and describe, small enough for a row.
STORED_LONG_SIDE = 512
# What Midjourney reads.
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
# A fetch not finished this long after its task was created is taken for lost with its
# process, and started again by the next GET of the task.
STALLED_AFTER_SECONDS = 3 * TIMEOUT_SECONDS

_running: set[uuid.UUID] = set()
_running_lock = threading.Lock()


class FetchFailed(Exception):
    """An input image could not be fetched or read; the message says why."""


@dataclass(frozen=True)
class FetchedImage:
    url: str
    width: int
    height: int
    format: str
    png: bytes


def start(task_id: uuid.UUID) -> threading.Thread | None:
    """Fetch the task's inputs in a daemon thread (unless this process already is)."""
    with _running_lock:
        if task_id in _running:
            return None
        _running.add(task_id)
    thread = threading.Thread(
        target=_run, args=(task_id,), name=f"sandbox-fetch-{task_id}", daemon=True
    )
    thread.start()
    return thread


def resume_if_stalled(task: Task) -> None:
    """Start the fetch again if it should long have finished: its process died."""
    if not task.fetches_inputs or task.inputs_ready_at is not None:
        return
    if (timeline.now() - task.created_at).total_seconds() >= STALLED_AFTER_SECONDS:
        start(task.task_id)


def fetch_inputs(task_id: uuid.UUID) -> None:
    """Fetch and keep the task's input images, then mark its inputs ready; the first
    image that fails fails them all. Only the first fetch to finish is kept."""
    task = Task.objects.filter(pk=task_id, inputs_ready_at__isnull=True).first()
    if task is None:
        return
    urls = input_urls(task)
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        outcomes = list(pool.map(_fetch_or_failure, urls))
    failures = [
        (position, outcome)
        for position, outcome in enumerate(outcomes)
        if isinstance(outcome, FetchFailed)
    ]
    error = ""
    if failures:
        position, failure = failures[0]
        error = str(failure) if len(urls) == 1 else f"image {position + 1}: {failure}"
    with transaction.atomic():
        won = Task.objects.filter(pk=task_id, inputs_ready_at__isnull=True).update(
            inputs_ready_at=timeline.now(), input_error=error
        )
        if not won or error:
            return
        InputImage.objects.bulk_create(
            InputImage(
                task_id=task_id,
                position=position,
                url=fetched.url,
                width=fetched.width,
                height=fetched.height,
                format=fetched.format,
                png=fetched.png,
            )
            for position, fetched in enumerate(outcomes)
            if isinstance(fetched, FetchedImage)
        )


def input_urls(task: Task) -> list[str]:
    if task.task_type == "blend":
        return [str(url) for url in task.input["image_urls"]]
    return [str(task.input[name]) for name in task.fetched_fields()]


def fetch(url: str) -> FetchedImage:
    """The image at `url` (or in a data: URL), read and scaled down; FetchFailed if it
    cannot be."""
    if url.startswith("data:"):
        return _read_data_url(url)
    try:
        with requests.get(
            url,
            timeout=TIMEOUT_SECONDS,
            stream=True,
            headers={"User-Agent": "studio-sandbox", "Accept": "image/*"},
        ) as response:
            if response.status_code != 200:
                raise FetchFailed(f"{url} answered HTTP {response.status_code}")
            data = bytearray()
            for chunk in response.iter_content(chunk_size=64 * 1024):
                data += chunk
                if len(data) > MAX_BYTES:
                    raise FetchFailed(f"{url} is larger than {MAX_BYTES // 2**20} MB")
    except requests.RequestException as error:
        raise FetchFailed(f"{url} could not be reached ({type(error).__name__})") from None
    return _read(url, bytes(data))


def data_url_bytes(url: str) -> bytes | None:
    """The bytes of a base64 data: URL ("data:image/png;base64,…"), None if it is not
    one."""
    header, comma, encoded = url.partition(",")
    if not comma or not header.startswith("data:") or not header.endswith(";base64"):
        return None
    try:
        return base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _read_data_url(url: str) -> FetchedImage:
    data = data_url_bytes(url)
    # The URL itself may be megabytes long: name it by its start in a message.
    label = url[: url.find(",") + 1] + "…"
    if data is None:
        raise FetchFailed(f"{label} is not a base64 data URL")
    if len(data) > MAX_BYTES:
        raise FetchFailed(f"{label} is larger than {MAX_BYTES // 2**20} MB")
    return _read(label, data, url=url)


def _fetch_or_failure(url: str) -> FetchedImage | FetchFailed:
    try:
        return fetch(url)
    except FetchFailed as failure:
        return failure


def _read(name: str, data: bytes, *, url: str = "") -> FetchedImage:
    """The image in `data`, fetched from `url` (`name` in messages, the URL by default)."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:  # Pillow raises many kinds for bytes that are not an image
        raise FetchFailed(f"{name} is not an image") from None
    if image.format not in FORMATS:
        raise FetchFailed(f"{name} is a {image.format} image; Midjourney reads JPG, PNG, GIF, WebP")
    width, height, image_format = image.width, image.height, image.format
    # Transparent areas read as white, as on Midjourney's site.
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, (0, 0), rgba)
    flat.thumbnail((STORED_LONG_SIDE, STORED_LONG_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    flat.save(buffer, "PNG")
    return FetchedImage(url or name, width, height, image_format, buffer.getvalue())


def _run(task_id: uuid.UUID) -> None:
    try:
        fetch_inputs(task_id)
    except Exception:
        logger.exception("sandbox fetch for task %s stopped", task_id)
    finally:
        with _running_lock:
            _running.discard(task_id)
        # Each thread has its own database connection; don't leak it.
        connection.close()
