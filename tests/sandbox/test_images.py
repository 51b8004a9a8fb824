"""The sandbox's pictures: real PNGs at expiring signed URLs, deterministic per prompt."""

import io
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from PIL import Image

from studio.sandbox import art, images, services, timeline
from studio.sandbox.models import Task
from tests.sandbox.helpers import create_body, path_of

pytestmark = pytest.mark.django_db


def fetch(client, url: str):
    return client.get(path_of(url))


def png(response) -> Image.Image:
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


@pytest.mark.parametrize(
    ("aspect_ratio", "quadrant"),
    [("1:1", (512, 512)), ("16:9", (512, 288)), ("2:3", (341, 512)), ("1:4", (128, 512))],
)
def test_the_grid_is_twice_a_quadrant_in_the_requested_aspect_ratio(
    api, client, aspect_ratio, quadrant
):
    task = api.task(api.create("a glass greenhouse", aspect_ratio=aspect_ratio)["task_id"])

    grid = png(fetch(client, task["output"]["image_url"]))
    quadrants = [png(fetch(client, url)) for url in task["output"]["temporary_image_urls"]]

    assert {image.size for image in quadrants} == {quadrant}
    assert grid.size == (2 * quadrant[0], 2 * quadrant[1])


def test_the_grid_is_made_of_its_four_quadrants(api, client):
    task = api.task(api.create("a row of houses")["task_id"])
    grid = png(fetch(client, task["output"]["image_url"])).convert("RGB")

    for index, url in enumerate(task["output"]["temporary_image_urls"]):
        quadrant = png(fetch(client, url)).convert("RGB")
        left, top = (index % 2) * quadrant.width, (index // 2) * quadrant.height
        crop = grid.crop((left, top, left + quadrant.width, top + quadrant.height))
        assert crop.tobytes() == quadrant.tobytes()


def test_the_four_quadrants_are_different_variations(api, client):
    task = api.task(api.create("four seasons")["task_id"])

    contents = {fetch(client, url).content for url in task["output"]["temporary_image_urls"]}

    assert len(contents) == 4


def test_the_same_prompt_and_seed_draw_identical_bytes(api, client):
    first = api.task(api.create("a koi pond --seed 1234")["task_id"])
    grid = fetch(client, first["output"]["image_url"]).content
    images.clear_cache()
    second = api.task(api.create("a koi pond --seed 1234")["task_id"])

    assert fetch(client, second["output"]["image_url"]).content == grid


def test_different_prompts_draw_different_pictures(api, client):
    first = api.task(api.create("a koi pond")["task_id"])
    second = api.task(api.create("a desert caravan")["task_id"])

    assert (
        fetch(client, first["output"]["image_url"]).content
        != fetch(client, second["output"]["image_url"]).content
    )


def test_a_different_seed_draws_a_different_picture():
    same_words = [art.Art("a koi pond", seed, "1:1") for seed in (1, 2)]

    assert images.render_png(images.imagine_grid(same_words[0]), "1") != images.render_png(
        images.imagine_grid(same_words[1]), "1"
    )


def test_the_seed_comes_from_the_prompt_flag_or_else_from_its_words():
    assert art.Art.for_input({"prompt": "a cat --seed 77"}).seed == 77
    assert art.Art.for_input({"prompt": "a cat"}) == art.Art.for_input({"prompt": "a cat"})
    assert (
        art.Art.for_input({"prompt": "a cat"}).seed != art.Art.for_input({"prompt": "a dog"}).seed
    )


@override_settings(SANDBOX_STEP_SECONDS=10)
def test_a_processing_task_shows_a_blurred_preview_of_the_grid_from_half_way(api, client, clock):
    task_id = api.create("a cathedral of ice")["task_id"]
    clock.advance(30)  # progress 50

    task = api.task(task_id)

    [preview_url] = task["output"]["intermediate_image_urls"]
    preview = png(fetch(client, preview_url))
    assert preview.size == (1024, 1024)
    clock.advance(60)
    grid = fetch(client, api.task(task_id)["output"]["image_url"]).content
    assert fetch(client, preview_url).content != grid


def test_image_urls_need_no_api_key(api, client):
    task = api.task(api.create()["task_id"])

    # The test client sends no x-api-key unless told to.
    assert client.get(path_of(task["output"]["image_url"])).status_code == 200


def test_a_tampered_signature_is_forbidden(api, client):
    url = api.task(api.create()["task_id"])["output"]["image_url"]

    response = client.get(path_of(url)[:-4] + "0000")

    assert response.status_code == 403
    assert response.json()["code"] == 403


def test_a_signature_does_not_open_another_image(api, client):
    url = api.task(api.create()["task_id"])["output"]["temporary_image_urls"][0]

    response = client.get(path_of(url).replace("/1.png", "/2.png"))

    assert response.status_code == 403


def test_a_missing_signature_is_forbidden(api, client):
    url = api.task(api.create()["task_id"])["output"]["image_url"]

    assert client.get(urlsplit(url).path).status_code == 403


@override_settings(SANDBOX_URL_TTL_SECONDS=3600)
def test_an_image_url_expires_after_the_ttl(api, client, clock):
    url = api.task(api.create()["task_id"])["output"]["image_url"]
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    assert expires == int(clock.now.timestamp()) + 3600

    clock.advance(3599)
    assert client.get(path_of(url)).status_code == 200
    clock.advance(1)
    response = client.get(path_of(url))

    assert response.status_code == 403
    assert "expired" in response.json()["message"]


def test_an_image_of_an_unknown_task_is_not_found(client):
    path = images.image_path("00000000-0000-4000-8000-000000000000", "grid")
    url = images.signed_image_url(
        "00000000-0000-4000-8000-000000000000", "grid", base_url="", expires=2**40
    )

    assert url.startswith(path)
    assert client.get(url).status_code == 404


def join_draw_ahead() -> None:
    for thread in threading.enumerate():
        if thread.name == "sandbox-draw-ahead":
            thread.join(timeout=120)


# The drawing thread records its end through its own connection: the task is committed.
@pytest.mark.django_db(transaction=True)
@override_settings(SANDBOX_DRAW_AHEAD=True)
def test_drawn_ahead_a_tasks_images_are_ready_when_fetched(api, client, fresh_image_cache):
    task_id = api.create("a lighthouse drawn while its task runs")["task_id"]
    join_draw_ahead()
    drawn = images._png.cache_info()

    task = api.task(task_id)
    urls = [task["output"]["image_url"], *task["output"]["temporary_image_urls"]]
    with CaptureQueriesContext(connection) as reads:
        fetched = [png(fetch(client, url)) for url in urls]

    assert drawn.currsize == len(images.GRID_NAMES)  # the grid, its preview, 4 quadrants
    assert images._png.cache_info().misses == drawn.misses  # served, not drawn again
    assert fetched[0].size == (1024, 1024)
    assert not reads.captured_queries  # as from a CDN: the task is not read again


@pytest.fixture
def slow_drawing(monkeypatch) -> threading.Event:
    """Drawing waits until the test sets the event (it stands for a slow drawing)."""
    drawn = threading.Event()
    render = images.render_png

    def render_when_let(result, name):
        assert drawn.wait(timeout=60)
        return render(result, name)

    monkeypatch.setattr(images, "render_png", render_when_let)
    return drawn


@pytest.mark.django_db(transaction=True)
@override_settings(SANDBOX_DRAW_AHEAD=True, SANDBOX_STEP_SECONDS=0.02)
def test_a_task_drawn_ahead_is_completed_only_once_its_images_are_drawn(
    api, webhook_receiver, slow_drawing, fresh_image_cache
):
    body = create_body("a lighthouse drawn slowly")
    body["config"]["webhook_config"] = {"endpoint": webhook_receiver.url, "secret": "s"}
    task_id = api.post(body).json()["data"]["task_id"]

    # Long past its timeline's end (0.12 s), the drawing still runs: the task waits at 90 %.
    time.sleep(1.0)
    waiting = api.task(task_id)
    assert (waiting["status"], waiting["output"]["progress"]) == ("processing", 90)
    assert [d.status for d in webhook_receiver.deliveries][-1] == "processing"

    slow_drawing.set()
    join_draw_ahead()
    done = api.task(task_id)
    assert done["status"] == "completed"
    deliveries = webhook_receiver.wait_for(7)
    assert [d.status for d in deliveries][-1] == "completed"
    assert deliveries[-1].body["data"] == done
    # Its images were there when it said so: fetching them draws nothing.
    misses = images._png.cache_info().misses
    for url in [done["output"]["image_url"], *done["output"]["temporary_image_urls"]]:
        assert api.client.get(path_of(url)).status_code == 200
    assert images._png.cache_info().misses == misses


@pytest.mark.parametrize(
    ("drawn_after", "completed_after"),
    [(None, 60 + timeline.DRAWING_WAITED_SECONDS), (40, 60), (75, 75), (500, 90)],
)
@override_settings(SANDBOX_STEP_SECONDS=10, SANDBOX_DRAW_AHEAD=True)
def test_a_task_drawn_ahead_completes_at_its_time_once_drawn_and_never_waits_long(
    api, clock, monkeypatch, drawn_after, completed_after
):
    """Its timeline ends at +60 s; a drawing never recorded (its process died) holds it
    back DRAWING_WAITED_SECONDS; a state once shown is never taken back."""
    monkeypatch.setattr(services, "_draw_ahead", lambda task_id: None)
    task_id = api.create("a harbour whose drawing is recorded late")["task_id"]
    started = clock.now

    clock.advance(completed_after - 0.5)
    assert api.task(task_id)["status"] == "processing"
    if drawn_after is not None:
        Task.objects.filter(pk=task_id).update(drawn_at=started + timedelta(seconds=drawn_after))
    assert api.task(task_id)["status"] == "processing"
    clock.advance(0.5)
    done = api.task(task_id)
    assert done["status"] == "completed"
    ended = started + timedelta(seconds=completed_after)
    assert done["meta"]["ended_at"] == ended.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_grids_five_images_read_its_task_once(api, client):
    task = api.task(api.create("a harbour whose five images are fetched")["task_id"])
    grid, *quadrants = [task["output"]["image_url"], *task["output"]["temporary_image_urls"]]

    with CaptureQueriesContext(connection) as first:
        png(fetch(client, grid))
    with CaptureQueriesContext(connection) as rest:
        served = [png(fetch(client, url)) for url in quadrants]

    assert first.captured_queries
    assert not rest.captured_queries
    assert [image.size for image in served] == [(512, 512)] * 4
    # A name the grid does not have, signed (only a signed link gets this far): 404.
    expires = int(parse_qs(urlsplit(grid).query)["expires"][0])
    unknown = images.signed_image_url(task["task_id"], "image", base_url="", expires=expires)
    assert client.get(unknown).status_code == 404


def test_without_draw_ahead_images_are_drawn_when_first_fetched(api, client, fresh_image_cache):
    task = api.task(api.create("a lighthouse drawn when asked")["task_id"])
    assert images._png.cache_info().currsize == 0

    png(fetch(client, task["output"]["image_url"]))

    assert images._png.cache_info().misses == 1


def test_an_image_fetched_twice_at_once_is_drawn_once(api, fresh_image_cache):
    result = art.Art("two fetches at once", 11, "1:1")
    grid = images.imagine_grid(result)
    bodies: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: bodies.append(images.render_png(grid, images.GRID)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert images._png.cache_info().misses == 1
