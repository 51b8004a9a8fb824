"""Vary Region (inpaint): the mask's white area of an upscaled image is repainted, a
different way in each quadrant, and every other pixel stays exactly the origin's."""

import base64
import io

import pytest
from PIL import Image, ImageChops, ImageDraw

from tests.sandbox.helpers import base64_png, mean_difference, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def upscaled(api) -> dict:
    origin = api.completed(api.create("a geometric poster")["task_id"])
    created = api.follow("upscale", origin_task_id=origin["task_id"], index="1")
    return api.completed(created["task_id"])


def circle_mask(size=(1024, 1024), box=(300, 250, 700, 650)) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse(box, fill=255)
    return mask


def inpaint(api, origin: dict, mask: str, **input_fields) -> dict:
    created = api.follow("inpaint", origin_task_id=origin["task_id"], mask=mask, **input_fields)
    return api.completed(created["task_id"])


def test_only_the_masked_area_is_repainted(api, upscaled):
    original = api.image(upscaled["output"]["image_url"])
    mask = circle_mask()

    task = inpaint(api, upscaled, base64_png(mask))

    quadrants = api.grid_of(task)
    outside = ImageChops.invert(mask)
    black = Image.new("RGB", original.size)
    for quadrant in quadrants:
        assert quadrant.size == original.size
        changed = ImageChops.difference(quadrant, original)
        # Not one pixel outside the mask differs…
        assert Image.composite(changed, black, outside).getbbox() is None
        # …and inside it the picture is new.
        middle = (400, 350, 600, 550)
        assert mask.crop(middle).getextrema() == (255, 255)
        assert mean_difference(quadrant.crop(middle), original.crop(middle)) > 10
    insides = {quadrant.crop((300, 250, 700, 650)).tobytes() for quadrant in quadrants}
    assert len(insides) == 4
    assert task["output"]["actions"][0] == "reroll"


def test_a_data_url_mask_is_accepted_and_echoed_bare(api, upscaled):
    encoded = base64_png(circle_mask())

    task = api.follow(
        "inpaint",
        origin_task_id=upscaled["task_id"],
        mask=f"data:image/png;base64,{encoded}",
        prompt="a red balloon",
    )

    assert task["input"] == {
        "origin_task_id": upscaled["task_id"],
        "mask": encoded,
        "prompt": "a red balloon",
        "process_mode": "fast",
    }


def test_a_mask_of_another_size_is_a_400_that_says_the_size_to_use(api, upscaled):
    message = api.refused(
        "inpaint", origin_task_id=upscaled["task_id"], mask=base64_png(circle_mask((512, 512)))
    )

    assert message == (
        f"input.mask is 512x512 but the image of task {upscaled['task_id']} is 1024x1024: "
        "the mask must be 1024x1024"
    )


@pytest.mark.parametrize(
    ("mask", "message_part"),
    [
        (None, "input.mask is required"),
        ("", "input.mask is required"),
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"plain text").decode(), "not a PNG image"),
        (base64_png(Image.new("L", (1024, 1024), 0)), "no white pixels"),
        (base64_png(Image.new("L", (1024, 1024), 90)), "no white pixels"),
    ],
)
def test_a_bad_mask_is_a_400(api, upscaled, mask, message_part):
    message = api.refused("inpaint", origin_task_id=upscaled["task_id"], mask=mask)

    assert message_part in message


def test_a_jpeg_mask_is_a_400(api, upscaled):
    buffer = io.BytesIO()
    circle_mask().save(buffer, "JPEG")
    jpeg = base64.b64encode(buffer.getvalue()).decode()

    message = api.refused("inpaint", origin_task_id=upscaled["task_id"], mask=jpeg)

    assert message == "input.mask must be a PNG image, not JPEG"


def test_a_grid_cannot_have_a_region_varied(api):
    origin = api.create()

    message = api.refused(
        "inpaint", origin_task_id=origin["task_id"], mask=base64_png(circle_mask())
    )

    assert "is a grid" in message


def test_a_repainted_image_upscales_to_itself(api, upscaled):
    task = inpaint(api, upscaled, base64_png(circle_mask()))
    third = api.grid_of(task)[2]

    created = api.follow("upscale", origin_task_id=task["task_id"], index="3")
    image = api.image(api.completed(created["task_id"])["output"]["image_url"])

    assert png_bytes(image) == png_bytes(third)
