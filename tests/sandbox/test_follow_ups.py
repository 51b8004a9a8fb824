"""What every follow-up shares: an origin of the same key that has completed, a
normalised echo, the origin's mode and version, its own behaviours, the timeline."""

import uuid

import pytest
from django.test import override_settings

from studio.sandbox import images
from tests.sandbox.helpers import CHARLIE_KEY, follow_up_body, path_of

pytestmark = pytest.mark.django_db

FOLLOW_UPS = ["upscale", "variation", "reroll", "pan", "outpaint", "inpaint", "seed"]


@pytest.mark.parametrize("task_type", FOLLOW_UPS)
def test_a_follow_up_of_an_unknown_task_is_a_400(api, task_type):
    message = api.refused(task_type, origin_task_id=str(uuid.uuid4()), index="1")

    assert "origin task" in message
    assert "not found" in message


@pytest.mark.parametrize("task_type", FOLLOW_UPS)
def test_a_follow_up_of_another_keys_task_is_a_400_as_if_it_did_not_exist(api, task_type):
    origin = api.create()

    response = api.post(
        follow_up_body(task_type, origin_task_id=origin["task_id"], index="1"),
        api_key=CHARLIE_KEY,
    )

    assert response.status_code == 400
    assert response.json()["message"] == f"origin task {origin['task_id']} not found"


@pytest.mark.parametrize("origin_task_id", [None, "", 42, "not-a-uuid"])
def test_a_missing_or_malformed_origin_task_id_is_a_400(api, origin_task_id):
    message = api.refused("upscale", origin_task_id=origin_task_id, index="1")

    assert "origin" in message


@override_settings(SANDBOX_STEP_SECONDS=10)
@pytest.mark.parametrize(("seconds", "status"), [(0, "pending"), (25, "processing")])
def test_a_follow_up_of_a_task_that_has_not_completed_is_a_400(api, clock, seconds, status):
    origin = api.create()
    clock.advance(seconds)

    message = api.refused("upscale", origin_task_id=origin["task_id"], index="1")

    assert message == (
        f"origin task {origin['task_id']} is {status}; only a completed task can be followed up"
    )


def test_a_follow_up_of_a_failed_task_is_a_400(api):
    origin = api.create("a vase [sandbox:fail]")

    message = api.refused("variation", origin_task_id=origin["task_id"], index="1")

    assert "is failed" in message


def test_a_follow_up_echoes_its_input_normalised_and_runs_in_its_origins_mode(api):
    origin = api.create("a tea house --v 6.1", process_mode="relax")

    task = api.follow("upscale", origin_task_id=origin["task_id"].upper(), index=2)

    assert task["task_type"] == "upscale"
    assert task["input"] == {
        "origin_task_id": origin["task_id"],
        "index": "2",
        "process_mode": "relax",
    }
    assert task["meta"]["process_mode"] == "relax"
    assert task["meta"]["usage"]["frozen"] == 150_000
    # The version is the origin's: the follow-up has no prompt of its own.
    assert task["meta"]["model_version"] == "6.1"


def test_a_follow_up_may_name_its_own_mode(api):
    origin = api.create(process_mode="relax")

    task = api.follow("upscale", origin_task_id=origin["task_id"], index="1", process_mode="Turbo")

    assert task["input"]["process_mode"] == "turbo"
    assert task["meta"]["usage"]["frozen"] == 1_000_000
    assert api.refused(
        "upscale", origin_task_id=origin["task_id"], index="1", process_mode="warp"
    ).startswith("input.process_mode")


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_a_follow_up_goes_through_the_same_timeline_with_a_preview(api, client, clock):
    origin = api.create()
    clock.advance(6)
    task_id = api.follow("upscale", origin_task_id=origin["task_id"], index="3")["task_id"]

    seen = []
    for _ in range(7):
        task = api.task(task_id)
        seen.append((task["status"], task["output"] and task["output"]["progress"]))
        if task["status"] == "processing" and task["output"]["progress"] >= 50:
            [preview] = task["output"]["intermediate_image_urls"]
            assert api.image(preview).size == (1024, 1024)
        clock.advance(1)

    assert seen == [
        ("pending", None),
        ("processing", 0),
        ("processing", 25),
        ("processing", 50),
        ("processing", 75),
        ("processing", 90),
        ("completed", 100),
    ]


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_a_follow_up_takes_behaviours_from_its_own_prompt_not_its_origins(api, clock):
    origin = api.create("a snail [sandbox:slow]")
    clock.advance(30)

    plain = api.follow("variation", origin_task_id=origin["task_id"], index="1")
    failing = api.follow(
        "variation", origin_task_id=origin["task_id"], index="1", prompt="a snail [sandbox:fail]"
    )
    clock.advance(6)

    assert api.task(plain["task_id"])["status"] == "completed"
    assert api.task(failing["task_id"])["status"] == "failed"


@override_settings(SANDBOX_STEP_SECONDS=10)
def test_only_a_pending_follow_up_can_be_canceled(api, clock):
    origin = api.create()
    clock.advance(60)
    first = api.follow("reroll", origin_task_id=origin["task_id"])
    second = api.follow("upscale", origin_task_id=origin["task_id"], index="1")

    assert api.delete(first["task_id"]).status_code == 200
    clock.advance(15)
    response = api.delete(second["task_id"])

    assert response.status_code == 400
    assert "only a pending task can be canceled" in response.json()["message"]
    assert api.task(first["task_id"])["error"]["message"] == "task canceled"


def test_a_follow_ups_pictures_are_redrawn_identically(api):
    origin = api.create("a koi pond")
    upscale = api.follow("upscale", origin_task_id=origin["task_id"], index="4")
    zoom = api.completed(
        api.follow("outpaint", origin_task_id=upscale["task_id"], zoom_ratio="2")["task_id"]
    )
    first = api.client.get(path_of(zoom["output"]["image_url"])).content

    images.clear_cache()

    assert api.client.get(path_of(zoom["output"]["image_url"])).content == first


def test_an_image_name_of_another_kind_of_result_is_not_found(api, client):
    origin = api.create()
    upscale = api.completed(
        api.follow("upscale", origin_task_id=origin["task_id"], index="1")["task_id"]
    )
    grid_url = api.task(origin["task_id"])["output"]["image_url"]

    assert "/image.png" in upscale["output"]["image_url"]
    assert "/grid.png" in grid_url
    # An upscale has no grid, even behind a valid signature.
    signed = images.signed_image_url(upscale["task_id"], "grid", base_url="", expires=2**40)
    assert client.get(signed).status_code == 404
    assert client.get(path_of(grid_url)).status_code == 200
