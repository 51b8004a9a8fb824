"""Variation keeps a picture's composition and changes its detail (strongly or subtly);
reroll draws the grid anew. Both may take a remix prompt and an aspect ratio."""

import colorsys
import statistics

import pytest
from PIL import ImageStat

from tests.sandbox.helpers import mean_difference

pytestmark = pytest.mark.django_db

GRID_ACTIONS = [
    "reroll",
    *(f"upscale{index}" for index in range(1, 5)),
    *(f"variation{index}" for index in range(1, 5)),
]


def follow(api, task_type: str, origin: dict, **input_fields) -> dict:
    created = api.follow(task_type, origin_task_id=origin["task_id"], **input_fields)
    return api.completed(created["task_id"])


def mean_hue(image) -> float:
    red, green, blue = (value / 255 for value in ImageStat.Stat(image).mean)
    return colorsys.rgb_to_hsv(red, green, blue)[0]


def test_a_variation_keeps_the_quadrants_composition_closer_than_a_reroll(api):
    origin = api.completed(api.create("a mountain lake at sunrise")["task_id"])
    second = api.grid_of(origin)[1]

    variations = api.grid_of(follow(api, "variation", origin, index="2"))
    rerolled = api.grid_of(follow(api, "reroll", origin))

    varied = [mean_difference(second, image) for image in variations]
    redrawn = [mean_difference(second, image) for image in rerolled]
    assert min(varied) > 0.5  # changed…
    assert max(varied) < min(redrawn)  # …but much less than a new draw
    assert statistics.mean(varied) * 2 < statistics.mean(redrawn)
    # Four different variations.
    assert len({image.tobytes() for image in variations}) == 4


def test_a_variation_and_a_reroll_are_grids_with_the_grid_actions(api):
    origin = api.completed(api.create("a row of houses", aspect_ratio="2:3")["task_id"])

    for task in (follow(api, "variation", origin, index="4"), follow(api, "reroll", origin)):
        output = task["output"]
        assert output["actions"] == GRID_ACTIONS
        assert "/grid.png?" in output["image_url"]
        assert len(output["temporary_image_urls"]) == 4
        assert api.image(output["image_url"]).size == (682, 1024)


def test_vary_strong_changes_an_upscaled_image_more_than_vary_subtle(api):
    origin = api.completed(api.create("glowing lanterns over a river")["task_id"])
    upscaled = follow(api, "upscale", origin, index="1")
    image = api.image(upscaled["output"]["image_url"])

    strong = api.grid_of(follow(api, "variation", upscaled, index="high_variation"))
    subtle = api.grid_of(follow(api, "variation", upscaled, index="low_variation"))

    assert {picture.size for picture in strong + subtle} == {(512, 512)}
    strong_change = statistics.mean(mean_difference(picture, image) for picture in strong)
    subtle_change = statistics.mean(mean_difference(picture, image) for picture in subtle)
    assert 0.5 < subtle_change < strong_change


def test_a_remix_prompt_turns_the_colours_and_keeps_the_composition(api):
    origin = api.completed(api.create("a mountain lake at sunrise")["task_id"])
    first = api.grid_of(origin)[0]

    plain = api.grid_of(follow(api, "variation", origin, index="1"))
    remixed_task = follow(
        api, "variation", origin, index="1", prompt="a mountain lake in autumn colours"
    )
    remixed = api.grid_of(remixed_task)
    rerolled = api.grid_of(follow(api, "reroll", origin))

    assert remixed_task["input"]["prompt"] == "a mountain lake in autumn colours"
    hue_turn = statistics.mean(
        abs(mean_hue(a) - mean_hue(b)) for a, b in zip(plain, remixed, strict=True)
    )
    assert hue_turn > 0.01
    assert statistics.mean(mean_difference(first, image) for image in remixed) < statistics.mean(
        mean_difference(first, image) for image in rerolled
    )


def test_a_variation_can_change_the_aspect_ratio(api):
    origin = api.completed(api.create("a tall tower")["task_id"])

    task = follow(api, "variation", origin, index="3", aspect_ratio="16:9")

    assert task["input"]["aspect_ratio"] == "16:9"
    assert {image.size for image in api.grid_of(task)} == {(512, 288)}


def test_a_variation_of_a_panned_grid_keeps_its_shape(api):
    origin = api.completed(api.create("a beach")["task_id"])
    upscaled = follow(api, "upscale", origin, index="1")
    panned = follow(api, "pan", upscaled, direction="right")
    quadrant = api.grid_of(panned)[0]

    variations = api.grid_of(follow(api, "variation", panned, index="1"))

    assert {image.size for image in variations} == {quadrant.size}
    assert max(mean_difference(quadrant, image) for image in variations) < 25


def test_a_reroll_is_new_each_time_yet_the_same_on_every_read(api):
    origin = api.completed(api.create("a koi pond")["task_id"])

    first = follow(api, "reroll", origin)
    second = follow(api, "reroll", origin)

    assert api.grid_of(first)[0].tobytes() != api.grid_of(second)[0].tobytes()
    assert api.task(first["task_id"])["output"] == first["output"]


def test_rerolling_a_prompt_with_a_fixed_seed_draws_the_same_grid_again(api):
    origin = api.completed(api.create("a koi pond --seed 77")["task_id"])

    rerolled = follow(api, "reroll", origin)

    assert api.grid_of(rerolled)[2].tobytes() == api.grid_of(origin)[2].tobytes()


def test_a_reroll_with_a_new_prompt_draws_that_prompt(api):
    origin = api.completed(api.create("a koi pond")["task_id"])

    task = follow(api, "reroll", origin, prompt="a desert caravan --ar 3:2 --v 6.1")

    assert task["input"] == {
        "origin_task_id": origin["task_id"],
        "prompt": "a desert caravan --ar 3:2 --v 6.1",
        "aspect_ratio": "3:2",
        "skip_prompt_check": False,
        "process_mode": "fast",
    }
    assert task["meta"]["model_version"] == "6.1"
    assert {image.size for image in api.grid_of(task)} == {(512, 341)}


def test_a_reroll_of_a_variation_varies_again(api):
    origin = api.completed(api.create("a mountain lake at sunrise")["task_id"])
    second = api.grid_of(origin)[1]
    variation = follow(api, "variation", origin, index="2")

    rerolled = api.grid_of(follow(api, "reroll", variation))

    assert rerolled[0].tobytes() != api.grid_of(variation)[0].tobytes()
    assert max(mean_difference(second, image) for image in rerolled) < 20


@pytest.mark.parametrize(
    ("index", "message_part"),
    [
        ("7", 'input.index "7" must be "1"-"4"'),
        ("0", 'input.index "0" must be "1"-"4"'),
        ("high_variation", 'input.index "high_variation" must be "1"-"4"'),
        (None, "input.index is required"),
    ],
)
def test_a_grid_is_varied_by_index_1_to_4(api, index, message_part):
    origin = api.create()

    assert message_part in api.refused("variation", origin_task_id=origin["task_id"], index=index)


def test_an_upscaled_image_is_varied_strongly_or_subtly_only(api):
    origin = api.create()
    upscaled = follow(api, "upscale", origin, index="1")

    message = api.refused("variation", origin_task_id=upscaled["task_id"], index="1")

    assert message == (
        'input.index "1" must be "high_variation" or "low_variation" to vary the upscaled '
        f"image of task {upscaled['task_id']}"
    )


def test_vary_strong_needs_v5_2(api):
    origin = api.create("a fox --v 5.1")
    upscaled = follow(api, "upscale", origin, index="1")

    message = api.refused("variation", origin_task_id=upscaled["task_id"], index="low_variation")

    assert "needs Midjourney v5.2 or later" in message


@pytest.mark.parametrize(
    ("field", "value", "message_part"),
    [
        ("prompt", 42, "input.prompt"),
        ("prompt", "   ", "input.prompt"),
        ("aspect_ratio", "wide", "aspect_ratio"),
        ("aspect_ratio", "9:1", "between 1:4 and 4:1"),
        ("skip_prompt_check", "no", "skip_prompt_check"),
    ],
)
def test_a_bad_remix_is_a_400(api, field, value, message_part):
    origin = api.create()

    for task_type, extra in (("variation", {"index": "1"}), ("reroll", {})):
        message = api.refused(
            task_type, origin_task_id=origin["task_id"], **extra, **{field: value}
        )
        assert message_part in message


def test_only_a_grid_can_be_rerolled(api):
    origin = api.create()
    upscaled = follow(api, "upscale", origin, index="1")

    message = api.refused("reroll", origin_task_id=upscaled["task_id"])

    assert message == (
        f"task {upscaled['task_id']} is an upscaled image; only a grid can be rerolled"
    )
