"""A third-party PiAPI client, pointed at Studio with a personal token, drives the whole
protocol: imagine → upscale → variation → describe → cancel. What it gets is PiAPI's
shapes; what Studio does is what the UI does (budgets, queue, feed, ledger)."""

import base64
import io
from typing import Any

import pytest
import requests
from PIL import Image

from studio.api.models import ApiTask
from studio.billing.models import EntryKind, LedgerEntry
from studio.generation.models import Job, Status
from tests.api.piapi_client import PiAPI, PiAPIError
from tests.conftest import StudioServer


def downloaded(url: str) -> Image.Image:
    """An image behind a task's link, fetched with no cookie and no key."""
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


@pytest.fixture
def client(server: StudioServer, bobs_token: Any) -> PiAPI:
    return PiAPI(server.url, bobs_token.secret)


def test_a_client_makes_a_grid_upscales_and_varies_it(
    client: PiAPI, server: StudioServer, project: Any, bob: Any
) -> None:
    created = client.create("imagine", prompt="a lighthouse at dusk --ar 16:9", process_mode="fast")
    assert created["status"] in ("staged", "pending", "processing")
    assert created["task_type"] == "imagine" and created["model"] == "midjourney"

    grid = client.wait(created["task_id"])

    assert grid["status"] == "completed", grid["error"]
    output = grid["output"]
    whole = downloaded(output["image_url"])
    quadrants = [downloaded(url) for url in output["temporary_image_urls"]]
    assert len(quadrants) == 4 and whole.width == 2 * quadrants[0].width
    assert whole.width > whole.height  # 16:9 as asked
    assert server.url in output["image_url"]  # Studio's copy, never the provider's link
    assert {"reroll", "upscale1", "upscale4", "variation2"} <= set(output["actions"])
    assert grid["meta"]["usage"]["consume"] == grid["meta"]["usage"]["frozen"] > 0
    assert grid["error"]["code"] == 0

    upscale = client.wait(
        client.create("upscale", origin_task_id=grid["task_id"], index="2")["task_id"]
    )
    assert upscale["status"] == "completed", upscale["error"]
    single = downloaded(upscale["output"]["image_url"])
    assert single.width >= quadrants[1].width
    assert single.width * quadrants[1].height == single.height * quadrants[1].width  # its shape
    assert upscale["output"]["temporary_image_urls"] == []

    variation = client.wait(
        client.create(
            "variation", origin_task_id=grid["task_id"], index="1", prompt="a lighthouse at dawn"
        )["task_id"]
    )
    assert variation["status"] == "completed", variation["error"]
    assert len(variation["output"]["temporary_image_urls"]) == 4

    # Every step is a job of the project, in one family, charged to Bob like the UI's.
    jobs = Job.objects.filter(project=project).order_by("pk")
    assert [job.operation for job in jobs] == ["imagine", "upscale", "variation"]
    assert {job.created_by for job in jobs} == {bob}
    assert {job.root_id for job in jobs} == {jobs[0].pk}
    charges = LedgerEntry.objects.filter(kind=EntryKind.CHARGE, user=bob)
    assert charges.count() == 3


def test_a_client_describes_an_image_by_its_link(client: PiAPI, image_link: str) -> None:
    task = client.wait(client.create("describe", image_url=image_link)["task_id"])

    assert task["status"] == "completed", task["error"]
    description = task["output"]["description"]
    assert description.count("\n") >= 3 or description.count("1️⃣") == 1
    assert task["input"]["image_url"] == image_link


def test_a_waiting_task_is_canceled_and_its_hold_released(client: PiAPI, bob: Any) -> None:
    created = client.create("imagine", prompt="a patient heron [sandbox:stay-pending]")
    client.wait(created["task_id"], until=("pending",))

    message = client.cancel(created["task_id"])

    assert message == f"task {created['task_id']} canceled"
    ended = client.wait(created["task_id"])
    assert ended["status"] == "failed"
    assert "cancel" in ended["error"]["message"].lower()
    job = ApiTask.objects.get(task_id=created["task_id"]).job
    assert job.status == Status.CANCELED
    assert LedgerEntry.objects.filter(job=job, kind=EntryKind.RELEASE).count() == 1
    with pytest.raises(PiAPIError) as again:
        client.cancel(created["task_id"])
    assert again.value.status == 400


def test_a_follow_up_the_result_does_not_offer_is_refused_with_what_it_offers(
    client: PiAPI,
) -> None:
    grid = client.wait(client.create("imagine", prompt="a paper crane")["task_id"])

    with pytest.raises(PiAPIError) as refused:
        client.create("pan", origin_task_id=grid["task_id"], direction="left")

    assert refused.value.status == 400
    assert "upscale1" in refused.value.message  # says what it does offer
    assert Job.objects.count() == 1  # nothing half-made


def test_on_a_legnext_key_the_client_still_speaks_piapi(
    client: PiAPI, acme: Any, project: Any
) -> None:
    acme.provider_keys.update(provider="legnext", label="LegNext")

    grid = client.wait(client.create("imagine", prompt="a glass greenhouse")["task_id"])

    assert grid["status"] == "completed", grid["error"]
    assert {"upscale1", "upscale2", "variation3"} <= set(grid["output"]["actions"])
    assert len(grid["output"]["temporary_image_urls"]) == 4
    upscale = client.wait(
        client.create("upscale", origin_task_id=grid["task_id"], index="2")["task_id"]
    )
    assert upscale["status"] == "completed", upscale["error"]
    downloaded(upscale["output"]["image_url"])
    single = downloaded(upscale["output"]["image_url"])
    assert {"high_variation", "low_variation", "pan_left", "outpaint_2x", "inpaint"} <= set(
        upscale["output"]["actions"]
    )

    strong = client.create("variation", origin_task_id=upscale["task_id"], index="high_variation")
    region = client.create(
        "inpaint",
        origin_task_id=upscale["task_id"],
        mask=mask_png(single.size),
        prompt="a greenhouse full of orchids",
    )

    for task in (strong, region):
        ended = client.wait(task["task_id"])
        assert ended["status"] == "completed", ended["error"]
        assert len(ended["output"]["temporary_image_urls"]) == 4
    jobs = list(Job.objects.filter(project=project).order_by("pk"))
    assert [job.provider for job in jobs] == ["legnext"] * 4
    # LegNext varies and repaints the grid's image the upscale was made from.
    assert [job.parent_id for job in jobs[2:]] == [jobs[0].pk, jobs[0].pk]
    assert [job.parameters["image"] for job in jobs[1:]] == [2, 2, 2]


def mask_png(size: tuple[int, int]) -> str:
    """A mask as a client draws one on the image it has: white = repaint."""
    mask = Image.new("L", size, 0)
    mask.paste(255, (0, 0, size[0] // 2, size[1] // 2))
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()
