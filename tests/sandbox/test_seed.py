"""Seed: the seed a grid was drawn with, as digits; it draws the same grid again."""

import uuid

import pytest

pytestmark = pytest.mark.django_db


def seed_of(api, origin: dict) -> dict:
    return api.completed(api.follow("seed", origin_task_id=origin["task_id"])["task_id"])


def test_the_seed_of_a_prompt_with_a_seed_flag_is_that_seed(api):
    origin = api.completed(api.create("a koi pond --seed 1234")["task_id"])

    output = seed_of(api, origin)["output"]

    assert output["seed"] == "1234"
    assert output["image_url"] == ""
    assert output["temporary_image_urls"] is None
    assert output["intermediate_image_urls"] is None
    assert output["actions"] == []
    assert "description" not in output


def test_a_seed_draws_the_same_grid_again(api):
    origin = api.completed(api.create("a lighthouse in fog")["task_id"])

    seed = seed_of(api, origin)["output"]["seed"]

    assert seed.isdigit()
    again = api.completed(api.create(f"a lighthouse in fog --seed {seed}")["task_id"])
    assert api.grid_of(again)[3].tobytes() == api.grid_of(origin)[3].tobytes()


def test_every_grid_has_a_seed_and_a_reroll_has_a_new_one(api):
    origin = api.completed(api.create("a lighthouse in fog")["task_id"])
    created = api.follow("reroll", origin_task_id=origin["task_id"])
    rerolled = api.completed(created["task_id"])

    first, second = seed_of(api, origin)["output"]["seed"], seed_of(api, rerolled)["output"]["seed"]

    assert first.isdigit() and second.isdigit()
    assert first != second
    assert seed_of(api, origin)["output"]["seed"] == first


def test_a_seed_task_echoes_its_origin_and_mode(api):
    origin = api.completed(api.create("a koi pond", process_mode="relax")["task_id"])

    task = api.follow("seed", origin_task_id=origin["task_id"])

    assert task["input"] == {"origin_task_id": origin["task_id"], "process_mode": "relax"}
    assert task["meta"]["usage"]["frozen"] == 150_000


def test_only_a_grid_has_a_seed(api):
    origin = api.create()
    created = api.follow("upscale", origin_task_id=origin["task_id"], index="1")

    message = api.refused("seed", origin_task_id=created["task_id"])

    assert (
        message
        == f"task {created['task_id']} is an upscaled image; only a grid can be asked for its seed"
    )
    assert "not found" in api.refused("seed", origin_task_id=str(uuid.uuid4()))
