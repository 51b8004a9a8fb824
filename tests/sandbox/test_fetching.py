"""How describe and blend fetch their images: the timeline waits at progress 0 for the
fetch, a lost fetch is started again, and only images Midjourney reads are kept.

The fetch is run here in the test's own thread (fetching.fetch_inputs): inside the
test's transaction no commit starts the fetch thread."""

import io

import pytest
from django.test import override_settings
from PIL import Image

from studio.sandbox import fetching
from studio.sandbox.models import InputImage, Task
from tests.sandbox.helpers import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(monkeypatch) -> list:
    """Fetch threads a GET asked for, recorded instead of started."""
    calls: list = []
    monkeypatch.setattr(fetching, "start", calls.append)
    return calls


def image_bytes(image_format: str, mode: str = "RGB", size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 40, 40, 255)[: len(mode)]).save(buffer, image_format)
    return buffer.getvalue()


@override_settings(SANDBOX_STEP_SECONDS=10)
def test_a_describe_waits_at_progress_0_until_its_image_is_fetched_then_goes_on(
    api, clock, image_server, started
):
    url = image_server.put("/photo.png", image_bytes("PNG"))
    task_id = api.follow("describe", image_url=url)["task_id"]

    clock.advance(100)
    waiting = api.task(task_id)
    assert (waiting["status"], waiting["output"]["progress"]) == ("processing", 0)

    fetching.fetch_inputs(Task.objects.get(pk=task_id).pk)  # at +100 s
    assert api.task(task_id)["output"]["progress"] == 25
    clock.advance(30)
    assert api.task(task_id)["output"]["progress"] == 90
    clock.advance(10)
    done = api.task(task_id)
    assert done["status"] == "completed"
    assert done["meta"]["ended_at"] == "2026-05-01T12:02:20Z"
    assert done["output"]["description"].startswith("1\ufe0f\u20e3 ")


@override_settings(SANDBOX_STEP_SECONDS=10)
def test_a_fetch_lost_with_its_process_is_started_again_by_a_get(api, clock, started):
    task_id = api.follow("describe", image_url="http://127.0.0.1:9/x.png")["task_id"]

    clock.advance(fetching.STALLED_AFTER_SECONDS - 1)
    api.task(task_id)
    assert started == []
    clock.advance(1)
    api.task(task_id)

    assert [str(started_id) for started_id in started] == [task_id]


def test_only_the_first_fetch_is_kept(api, image_server, started):
    urls = [image_server.put(f"/{n}.png", image_bytes("PNG")) for n in range(2)]
    task = Task.objects.get(pk=api.follow("blend", image_urls=urls)["task_id"])

    fetching.fetch_inputs(task.pk)
    first = Task.objects.get(pk=task.pk).inputs_ready_at
    fetching.fetch_inputs(task.pk)

    assert InputImage.objects.filter(task=task).count() == 2
    assert Task.objects.get(pk=task.pk).inputs_ready_at == first


@pytest.mark.parametrize("image_format", ["JPEG", "GIF", "WEBP", "PNG"])
def test_the_formats_midjourney_reads_are_fetched_and_kept_small(image_server, image_format):
    url = image_server.put("/in", image_bytes(image_format, size=(2000, 1000)))

    fetched = fetching.fetch(url)

    assert (fetched.width, fetched.height, fetched.format) == (2000, 1000, image_format)
    assert Image.open(io.BytesIO(fetched.png)).size == (512, 256)


def test_a_transparent_image_reads_as_white_behind(image_server):
    clear = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    url = image_server.put("/clear.png", png_bytes(clear))

    fetched = fetching.fetch(url)

    assert Image.open(io.BytesIO(fetched.png)).getpixel((5, 5)) == (255, 255, 255)


def test_a_format_midjourney_does_not_read_is_refused(image_server):
    url = image_server.put("/old.bmp", image_bytes("BMP"), "image/bmp")

    with pytest.raises(fetching.FetchFailed, match="BMP image; Midjourney reads"):
        fetching.fetch(url)


def test_an_image_larger_than_the_limit_is_refused(image_server, monkeypatch):
    monkeypatch.setattr(fetching, "MAX_BYTES", 1000)
    url = image_server.put("/big.png", png_bytes(Image.effect_noise((200, 200), 50)))

    with pytest.raises(fetching.FetchFailed, match="is larger than"):
        fetching.fetch(url)
