"""Upscale: U1-U4 is one quadrant alone at full size; an upscaled image can be upscaled
once more (subtle / creative on v6+, 2x / 4x on v5), twice as large."""

import pytest
from PIL import ImageChops, ImageFilter, ImageStat

from tests.sandbox.helpers import mean_difference

pytestmark = pytest.mark.django_db

# As PiAPI lists them: no "inpaint", though its inpaint task takes any upscale.
EDIT_ACTIONS = [
    "high_variation", "low_variation", "outpaint_1.5x", "outpaint_2x",
    "pan_left", "pan_right", "pan_up", "pan_down",
]  # fmt: skip


def upscale(api, origin: dict, index) -> dict:
    created = api.follow("upscale", origin_task_id=origin["task_id"], index=index)
    return api.completed(created["task_id"])


def detail(image) -> float:
    """How much fine detail an image has: what a blur takes away."""
    blurred = image.filter(ImageFilter.GaussianBlur(2))
    return sum(ImageStat.Stat(ImageChops.difference(image, blurred)).mean) / 3


def test_each_upscale_is_its_quadrant_alone_at_twice_the_size(api):
    origin = api.completed(api.create("a lighthouse on a cliff")["task_id"])
    quadrants = api.grid_of(origin)

    for index, quadrant in enumerate(quadrants, start=1):
        image = api.image(upscale(api, origin, str(index))["output"]["image_url"])

        assert image.size == (1024, 1024)
        same = mean_difference(quadrant, image)
        assert same < 4
        others = [other for other in quadrants if other is not quadrant]
        assert min(mean_difference(other, image) for other in others) > 3 * same


def test_an_upscale_keeps_the_aspect_ratio(api):
    origin = api.completed(api.create("a harbour", aspect_ratio="16:9")["task_id"])

    task = upscale(api, origin, "2")

    assert api.image(task["output"]["image_url"]).size == (1024, 576)


def test_an_upscale_is_one_image_with_the_upscaled_actions(api):
    origin = api.completed(api.create("a red fox")["task_id"])

    output = upscale(api, origin, 1)["output"]

    assert "/image.png?" in output["image_url"]
    # Documented choice: an upscale's temporary_image_urls stays null.
    assert output["temporary_image_urls"] is None
    assert output["image_urls"] is None
    assert output["actions"] == ["upscale_subtle", "upscale_creative", *EDIT_ACTIONS]
    assert "description" not in output
    assert "seed" not in output


@pytest.mark.parametrize(
    ("version", "actions"),
    [
        ("--v 7", ["upscale_subtle", "upscale_creative", *EDIT_ACTIONS]),
        ("--v 6.1", ["upscale_subtle", "upscale_creative", *EDIT_ACTIONS]),
        ("--niji 6", ["upscale_subtle", "upscale_creative", *EDIT_ACTIONS]),
        ("--v 5.2", ["upscale_2x", "upscale_4x", *EDIT_ACTIONS]),
        ("--niji 5", ["upscale_2x", "upscale_4x", *EDIT_ACTIONS]),
        ("--v 5.1", ["upscale_2x", "upscale_4x"]),
        ("--v 4", ["upscale_light", "upscale_beta"]),
    ],
)
def test_what_an_upscaled_image_offers_depends_on_the_version(api, version, actions):
    origin = api.completed(api.create(f"a red fox {version}")["task_id"])

    assert upscale(api, origin, "1")["output"]["actions"] == actions


@pytest.mark.parametrize("index", ["subtle", "creative"])
def test_an_upscaled_image_upscaled_again_is_the_same_image_twice_as_large(api, index):
    origin = api.completed(api.create("a mountain valley")["task_id"])
    first = upscale(api, origin, "2")
    first_image = api.image(first["output"]["image_url"])

    second = upscale(api, first, index)

    image = api.image(second["output"]["image_url"])
    assert image.size == (2048, 2048)
    assert mean_difference(first_image, image) < (4 if index == "subtle" else 12)
    # Upscaled twice, the image offers everything but a third upscale.
    assert second["output"]["actions"] == EDIT_ACTIONS


def test_a_creative_upscale_adds_visible_detail_and_a_subtle_one_does_not(api):
    origin = api.completed(api.create("a desert at dusk")["task_id"])
    first = upscale(api, origin, "1")

    subtle = api.image(upscale(api, first, "subtle")["output"]["image_url"])
    creative = api.image(upscale(api, first, "creative")["output"]["image_url"])

    assert detail(creative) > 3 * detail(subtle)


def test_a_v5_image_is_upscaled_again_with_2x_or_4x(api):
    origin = api.completed(api.create("a red fox --v 5.2")["task_id"])
    first = upscale(api, origin, "1")

    task = upscale(api, first, "4x")

    assert task["input"]["index"] == "4x"
    assert api.image(task["output"]["image_url"]).size == (2048, 2048)
    message = api.refused("upscale", origin_task_id=first["task_id"], index="subtle")
    assert message == (
        f'input.index "subtle" is not an upscale that v5.2 images offer, but task '
        f'{first["task_id"]} is an upscaled image: use "2x" or "4x"'
    )


@pytest.mark.parametrize("index", ["0", "5", "7", "subtle", "high_variation", "", None, True])
def test_a_grid_is_upscaled_by_index_1_to_4_only(api, index):
    origin = api.create()

    message = api.refused("upscale", origin_task_id=origin["task_id"], index=index)

    assert "input.index" in message


def test_u1_on_an_upscaled_image_is_a_400_that_says_what_to_use(api):
    origin = api.create()
    first = upscale(api, origin, "1")

    message = api.refused("upscale", origin_task_id=first["task_id"], index="1")

    assert message == (
        f'input.index "1" picks an image of a grid, but task {first["task_id"]} is an '
        'upscaled image: use "subtle" or "creative"'
    )


def test_an_upscale_of_an_upscale_cannot_be_upscaled_again(api):
    origin = api.create()
    second = upscale(api, upscale(api, origin, "1"), "subtle")

    message = api.refused("upscale", origin_task_id=second["task_id"], index="creative")

    assert "cannot be upscaled again" in message
