"""Pan extends an upscaled image's canvas in one direction, keeping the original on the
other side; Zoom Out (outpaint) shrinks it into the middle of a wider frame."""

import pytest
from PIL import ImageStat

from tests.sandbox.helpers import mean_difference

pytestmark = pytest.mark.django_db

GRID_ACTIONS = [
    "reroll",
    *(f"upscale{index}" for index in range(1, 5)),
    *(f"variation{index}" for index in range(1, 5)),
]


@pytest.fixture
def upscaled(api) -> dict:
    origin = api.completed(api.create("a mountain valley at dusk")["task_id"])
    created = api.follow("upscale", origin_task_id=origin["task_id"], index="2")
    return api.completed(created["task_id"])


def follow(api, task_type: str, origin: dict, **input_fields) -> dict:
    created = api.follow(task_type, origin_task_id=origin["task_id"], **input_fields)
    return api.completed(created["task_id"])


# direction: (quadrant size, where the original stays, where the new content is)
PANS = {
    "left": ((512, 341), (171, 0, 512, 341), (0, 0, 171, 341)),
    "right": ((512, 341), (0, 0, 341, 341), (341, 0, 512, 341)),
    "up": ((341, 512), (0, 171, 341, 512), (0, 0, 341, 171)),
    "down": ((341, 512), (0, 0, 341, 341), (0, 341, 341, 512)),
}


@pytest.mark.parametrize("direction", list(PANS))
def test_a_pan_extends_the_canvas_and_keeps_the_original_on_the_other_side(
    api, upscaled, direction
):
    original = api.image(upscaled["output"]["image_url"])
    size, kept, added = PANS[direction]

    task = follow(api, "pan", upscaled, direction=direction.upper())

    assert task["input"]["direction"] == direction
    quadrants = api.grid_of(task)
    assert {quadrant.size for quadrant in quadrants} == {size}
    for quadrant in quadrants:
        assert mean_difference(quadrant.crop(kept), original) < 3
    # Something new, and different in each quadrant, fills the extension.
    extensions = [quadrant.crop(added) for quadrant in quadrants]
    assert len({extension.tobytes() for extension in extensions}) == 4
    assert min(ImageStat.Stat(extension).stddev[0] for extension in extensions) > 3


def test_panning_makes_a_square_image_three_to_two(api, upscaled):
    task = follow(api, "pan", upscaled, direction="left")

    assert api.image(task["output"]["image_url"]).size == (1024, 682)
    assert task["output"]["actions"] == GRID_ACTIONS


def test_a_panned_image_can_be_upscaled_and_panned_again(api, upscaled):
    panned = follow(api, "pan", upscaled, direction="right")
    upscaled_again = follow(api, "upscale", panned, index="1")
    assert api.image(upscaled_again["output"]["image_url"]).size == (1024, 682)

    wider = follow(api, "pan", upscaled_again, direction="right")

    assert api.grid_of(wider)[0].size == (512, 227)


@pytest.mark.parametrize(("zoom_ratio", "echo", "kept"), [("2", "2", 256), (1.5, "1.5", 341)])
def test_a_zoom_out_shrinks_the_original_into_the_middle_of_a_new_frame(
    api, upscaled, zoom_ratio, echo, kept
):
    original = api.image(upscaled["output"]["image_url"])

    task = follow(api, "outpaint", upscaled, zoom_ratio=zoom_ratio)

    assert task["input"]["zoom_ratio"] == echo
    assert task["output"]["actions"] == GRID_ACTIONS
    quadrants = api.grid_of(task)
    assert {quadrant.size for quadrant in quadrants} == {(512, 512)}
    margin = (512 - kept) // 2
    for quadrant in quadrants:
        middle = quadrant.crop((margin, margin, margin + kept, margin + kept))
        assert mean_difference(middle, original) < 3
        # The frame is not the original: the whole quadrant differs from it.
        assert mean_difference(quadrant, original) > 10
    frames = [quadrant.crop((0, 0, 512, margin)).tobytes() for quadrant in quadrants]
    assert len(set(frames)) == 4


def test_a_zoom_out_keeps_the_aspect_ratio(api):
    origin = api.completed(api.create("a harbour", aspect_ratio="16:9")["task_id"])
    wide = follow(api, "upscale", origin, index="1")

    task = follow(api, "outpaint", wide, zoom_ratio=2)

    assert {quadrant.size for quadrant in api.grid_of(task)} == {(512, 288)}


def test_a_prompt_turns_the_colours_of_the_new_content_only(api, upscaled):
    original = api.image(upscaled["output"]["image_url"])

    task = follow(api, "pan", upscaled, direction="down", prompt="the same valley in spring")

    assert task["input"]["prompt"] == "the same valley in spring"
    for quadrant in api.grid_of(task):
        assert mean_difference(quadrant.crop((0, 0, 341, 341)), original) < 3


@pytest.mark.parametrize("task_type", ["pan", "outpaint"])
def test_a_grid_cannot_be_panned_or_zoomed_out(api, task_type):
    origin = api.create()

    message = api.refused(
        task_type, origin_task_id=origin["task_id"], direction="left", zoom_ratio="2"
    )

    assert message.startswith(f"task {origin['task_id']} is a grid;")
    assert "upscale one of its images first" in message


@pytest.mark.parametrize("direction", ["north", "", None, 3, "left-ish"])
def test_a_pan_needs_a_direction_up_down_left_or_right(api, upscaled, direction):
    message = api.refused("pan", origin_task_id=upscaled["task_id"], direction=direction)

    assert message.startswith("input.direction")
    assert "up, down, left or right" in message


@pytest.mark.parametrize("zoom_ratio", ["3", 3, "1", 1.25, "abc", "", None, True, [2]])
def test_a_zoom_out_takes_1_5_or_2_only(api, upscaled, zoom_ratio):
    message = api.refused("outpaint", origin_task_id=upscaled["task_id"], zoom_ratio=zoom_ratio)

    assert message.startswith("input.zoom_ratio")
    assert '"1.5" or "2"' in message


def test_zoom_ratios_are_echoed_as_strings(api, upscaled):
    for given, echoed in ((2, "2"), (2.0, "2"), ("2.0", "2"), (1.5, "1.5"), (" 1.5 ", "1.5")):
        task = api.follow("outpaint", origin_task_id=upscaled["task_id"], zoom_ratio=given)
        assert task["input"]["zoom_ratio"] == echoed


def test_pan_and_zoom_out_need_v5_2(api):
    origin = api.create("a fox --v 5.1")
    upscaled = follow(api, "upscale", origin, index="1")

    for task_type, field in (("pan", {"direction": "up"}), ("outpaint", {"zoom_ratio": "2"})):
        message = api.refused(task_type, origin_task_id=upscaled["task_id"], **field)
        assert "needs Midjourney v5.2 or later" in message
        assert "v5.1" in message
