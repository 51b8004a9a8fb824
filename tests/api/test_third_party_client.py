"""A third-party PiAPI client, pointed at Studio with a personal token, drives the whole
protocol: imagine → upscale → variation → describe → cancel. What it gets is PiAPI's
shapes; what Studio does is what the UI does (budgets, queue, feed, ledger)."""

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
