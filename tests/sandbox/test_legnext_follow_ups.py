"""LegNext's follow-ups take the grid job and a 0-based imageNo directly: variation,
upscale, pan, outpaint, inpaint (JSON and multipart), remix, reroll and enhance, their
prices, and the action errors (shape B) of a follow-up the job does not allow."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image, ImageChops, ImageDraw

from tests.sandbox.helpers import CHARLIE_KEY, LEGNEXT, mean_difference, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def grid(legnext) -> dict:
    return legnext.diffusion("a geometric poster")


def quadrants(legnext, job: dict) -> list[Image.Image]:
    return [legnext.image(url) for url in job["output"]["image_urls"]]


def assert_shape_b(body: dict, code: int) -> str:
    assert body["job_id"] == ""
    assert body["status"] == "failed"
    assert body["error"]["code"] == code
    return body["error"]["message"]


# --- variation and remix -------------------------------------------------------------------


def test_a_strong_variation_strays_further_from_the_image_than_a_subtle_one(legnext, grid):
    source = legnext.image(grid["output"]["image_urls"][2])

    subtle = legnext.follow("variation", jobId=grid["job_id"], imageNo=2, type=0)
    strong = legnext.follow("variation", jobId=grid["job_id"], imageNo=2, type=1)

    assert subtle["task_type"] == strong["task_type"] == "variation"
    assert subtle["meta"]["usage"] == {"type": "point", "frozen": 120, "consume": 120}
    subtle_images, strong_images = quadrants(legnext, subtle), quadrants(legnext, strong)
    assert len({image.tobytes() for image in strong_images}) == 4
    subtle_distance = sum(mean_difference(source, image) for image in subtle_images)
    strong_distance = sum(mean_difference(source, image) for image in strong_images)
    assert 0 < subtle_distance < strong_distance
    assert strong["output"]["available_actions"]["upscale"] == [0, 1, 2, 3]


def test_a_remix_needs_a_prompt_and_its_mode_zero_is_strong(legnext, grid):
    source = legnext.image(grid["output"]["image_urls"][0])

    refused = legnext.refused("remix", jobId=grid["job_id"], imageNo=0)
    strong = legnext.follow("remix", jobId=grid["job_id"], imageNo=0, remixPrompt="a red poster")
    subtle = legnext.follow(
        "remix", jobId=grid["job_id"], imageNo=0, remixPrompt="a red poster", mode=1
    )

    assert "remixPrompt" in refused["message"]
    assert strong["task_type"] == "remix"
    assert strong["meta"]["usage"]["frozen"] == 120
    strong_distance = sum(mean_difference(source, image) for image in quadrants(legnext, strong))
    subtle_distance = sum(mean_difference(source, image) for image in quadrants(legnext, subtle))
    assert subtle_distance < strong_distance


# --- upscale and enhance -----------------------------------------------------------------


def test_an_upscale_shows_one_image_twice_the_upscaled_size_subtle_or_creative(legnext, grid):
    subtle = legnext.follow("upscale", jobId=grid["job_id"], imageNo=1, type=0)
    creative = legnext.follow("upscale", jobId=grid["job_id"], imageNo=1, type=1)

    assert subtle["task_type"] == "upscale"
    assert subtle["output"]["image_urls"] is None
    assert subtle["output"]["available_actions"] == {}
    assert subtle["meta"]["usage"]["consume"] == 120
    assert creative["meta"]["usage"]["consume"] == 160
    quadrant = legnext.image(grid["output"]["image_urls"][1])
    subtle_image = legnext.image(subtle["output"]["image_url"])
    creative_image = legnext.image(creative["output"]["image_url"])
    assert subtle_image.size == creative_image.size == (2048, 2048)
    # The same picture: the creative one adds texture.
    assert mean_difference(quadrant, subtle_image) < 8
    assert 0 < mean_difference(subtle_image, creative_image) < 40


def test_upscale_type_must_be_subtle_or_creative(legnext, grid):
    for bad in (2, 5, "0", None):
        refused = legnext.refused("upscale", jobId=grid["job_id"], imageNo=0, type=bad)
        assert "type" in refused["message"]


def test_an_upscaled_job_offers_no_follow_ups(legnext, grid):
    upscaled = legnext.follow("upscale", jobId=grid["job_id"], imageNo=0, type=0)

    response = legnext.post("upscale", {"jobId": upscaled["job_id"], "imageNo": 0, "type": 0})

    assert response.status_code == 400
    assert "does not offer upscale" in assert_shape_b(response.json(), 400)


def test_enhance_redraws_a_drafts_image_at_full_size(legnext):
    draft = legnext.diffusion("a fox in the snow --v 7 --draft --ar 2:3")

    enhanced = legnext.follow("enhance", jobId=draft["job_id"], imageNo=3)

    assert enhanced["task_type"] == "enhance"
    assert enhanced["meta"]["usage"]["consume"] == 80
    image = legnext.image(enhanced["output"]["image_url"])
    assert image.size == (683, 1024)
    assert mean_difference(legnext.image(draft["output"]["image_urls"][3]), image) < 8


def test_enhance_is_refused_on_a_job_that_is_not_a_v7_draft(legnext, grid):
    response = legnext.post("enhance", {"jobId": grid["job_id"], "imageNo": 0})

    assert response.status_code == 400
    assert "--v 7 --draft" in assert_shape_b(response.json(), 400)


# --- pan, outpaint, inpaint ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "size", "kept"),
    [
        (0, (341, 512), (0, 0, 341, 341)),  # down: the original on top
        (1, (512, 341), (0, 0, 341, 341)),  # right: the original on the left
        (2, (341, 512), (0, 171, 341, 512)),  # up: the original below
        (3, (512, 341), (171, 0, 512, 341)),  # left: the original on the right
    ],
)
def test_a_pan_extends_the_image_in_the_direction_its_code_names(
    legnext, grid, direction, size, kept
):
    source = legnext.image(grid["output"]["image_urls"][0])

    panned = legnext.follow("pan", jobId=grid["job_id"], imageNo=0, direction=direction, scale=1.5)

    assert panned["task_type"] == "pan"
    assert panned["meta"]["usage"]["consume"] == 80
    first = legnext.image(panned["output"]["image_urls"][0])
    assert first.size == size
    assert mean_difference(first.crop(kept), source) < 12


def test_a_pans_scale_is_the_new_length_over_the_old(legnext, grid):
    panned = legnext.follow("pan", jobId=grid["job_id"], imageNo=0, direction=1, scale=3.0)

    assert legnext.image(panned["output"]["image_urls"][0]).size == (512, 171)


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ({"direction": "up", "scale": 1.5}, "direction"),
        ({"direction": 4, "scale": 1.5}, "direction"),
        ({"scale": 1.5}, "direction"),
        ({"direction": 1, "scale": 3.5}, "scale"),
        ({"direction": 1, "scale": "1.5"}, "scale"),
        ({"direction": 1}, "scale"),
        ({"direction": 1, "scale": 1.5, "imageNo": 4}, "imageNo"),
        ({"direction": 1, "scale": 1.5, "imageNo": "1"}, "imageNo"),
    ],
)
def test_a_pan_with_a_bad_field_is_refused_naming_it(legnext, grid, fields, wrong):
    refused = legnext.refused("pan", jobId=grid["job_id"], **{"imageNo": 0, **fields})

    assert refused["code"] == 400
    assert refused["raw_message"].startswith(wrong)


def test_an_outpaint_shrinks_the_image_into_new_surroundings(legnext, grid):
    source = legnext.image(grid["output"]["image_urls"][1])

    zoomed = legnext.follow("outpaint", jobId=grid["job_id"], imageNo=1, scale=2.0)

    assert zoomed["task_type"] == "outpaint"
    assert zoomed["meta"]["usage"]["consume"] == 80
    first = legnext.image(zoomed["output"]["image_urls"][0])
    assert first.size == (512, 512)
    middle = first.crop((128, 128, 384, 384))
    assert mean_difference(middle, source) < 12
    assert legnext.refused("outpaint", jobId=grid["job_id"], imageNo=1, scale=2.5)["code"] == 400


def square_area(side: int = 1000) -> dict:
    """The middle of an image `side` px square, as a polygon."""
    low, high = side // 4, 3 * side // 4
    return {"width": side, "height": side, "points": [low, low, high, low, high, high, low, high]}


def assert_only_the_middle_repainted(images: list[Image.Image]) -> None:
    """Outside the middle every quadrant keeps the same pixels; inside each is new."""
    width, height = images[0].size
    outside = Image.new("L", images[0].size, 255)
    ImageDraw.Draw(outside).rectangle((width // 4, height // 4, 3 * width // 4, 3 * height // 4), 0)
    black = Image.new("RGB", images[0].size)
    for image in images[1:]:
        changed = ImageChops.difference(image, images[0])
        assert Image.composite(changed, black, outside).getbbox() is None
    middles = {
        image.crop((width // 3, height // 3, width // 2, height // 2)).tobytes() for image in images
    }
    assert len(middles) == 4


def test_an_inpaint_repaints_only_the_mask_areas(legnext, grid):
    job = legnext.follow(
        "inpaint",
        jobId=grid["job_id"],
        imageNo=2,
        mask={"areas": [square_area()]},
        remixPrompt="a golden circle",
    )

    assert job["task_type"] == "inpaint"
    assert job["meta"]["usage"]["consume"] == 120
    images = quadrants(legnext, job)
    assert images[0].size == (1024, 1024)
    assert_only_the_middle_repainted(images)


def test_an_inpaint_mask_may_come_as_a_multipart_file_as_the_sdk_sends_it(legnext, grid, client):
    mask = Image.new("L", (1024, 1024), 0)
    ImageDraw.Draw(mask).rectangle((256, 256, 767, 767), fill=255)

    response = client.post(
        f"{LEGNEXT}/v1/inpaint",
        {
            "jobId": grid["job_id"],
            "imageNo": "2",
            "mask": SimpleUploadedFile("mask.png", png_bytes(mask), content_type="image/png"),
        },
        headers={"x-api-key": legnext.api_key},
    )

    assert response.status_code == 200, response.json()
    job = legnext.completed(response.json()["job_id"])
    assert_only_the_middle_repainted(quadrants(legnext, job))


@pytest.mark.parametrize(
    ("mask", "wrong"),
    [
        (None, "mask"),
        ({"areas": []}, "mask.areas"),
        ({"areas": [{"width": 100, "height": 1000, "points": [0, 0, 5, 5, 9, 0]}]}, "width"),
        ({"areas": [{"width": 1000, "height": 1000, "points": [0, 0, 5]}]}, "points"),
        ({"url": "not a url"}, "mask.url"),
    ],
)
def test_a_bad_mask_is_refused_naming_what_is_wrong(legnext, grid, mask, wrong):
    refused = legnext.refused("inpaint", jobId=grid["job_id"], imageNo=0, mask=mask)

    assert wrong in refused["message"]


def test_a_mask_file_without_white_is_refused(legnext, grid, client):
    black = png_bytes(Image.new("L", (64, 64), 0))

    response = client.post(
        f"{LEGNEXT}/v1/inpaint",
        {"jobId": grid["job_id"], "imageNo": "0", "mask": SimpleUploadedFile("m.png", black)},
        headers={"x-api-key": legnext.api_key},
    )

    assert response.status_code == 400
    assert "no white" in response.json()["message"]


# --- reroll and prices in turbo --------------------------------------------------------


def test_a_reroll_makes_a_new_grid_of_the_same_prompt(legnext, grid):
    rerolled = legnext.follow("reroll", jobId=grid["job_id"])

    assert rerolled["task_type"] == "reroll"
    assert rerolled["job_id"] != grid["job_id"]
    assert rerolled["meta"]["usage"]["consume"] == 80
    assert len(rerolled["output"]["image_urls"]) == 4
    first, again = (
        legnext.image(grid["output"]["image_url"]),
        legnext.image(rerolled["output"]["image_url"]),
    )
    assert first.size == again.size
    assert first.tobytes() != again.tobytes()


def test_follow_ups_of_a_turbo_job_cost_turbo(legnext):
    turbo = legnext.diffusion("a fox --turbo")

    prices = [
        legnext.submit("upscale", jobId=turbo["job_id"], imageNo=0, type=0),
        legnext.submit("variation", jobId=turbo["job_id"], imageNo=0, type=1),
        legnext.submit("reroll", jobId=turbo["job_id"]),
        legnext.submit("pan", jobId=turbo["job_id"], imageNo=0, direction=1, scale=1.2),
    ]

    assert [job["meta"]["usage"]["frozen"] for job in prices] == [240, 240, 160, 160]


def test_a_reroll_of_a_draft_costs_a_draft(legnext):
    draft = legnext.diffusion("a fox --v 7 --draft")

    assert legnext.submit("reroll", jobId=draft["job_id"])["meta"]["usage"]["frozen"] == 40


# --- action errors ---------------------------------------------------------------------


def test_a_follow_up_of_a_malformed_job_id_is_refused_with_shape_b(legnext):
    response = legnext.post("upscale", {"jobId": "not-a-job", "imageNo": 0, "type": 0})

    assert response.status_code == 400
    assert "not a job id" in assert_shape_b(response.json(), 400)


def test_a_follow_up_of_an_unknown_or_another_keys_job_is_404_shape_b(legnext, grid):
    unknown = legnext.post("variation", {"jobId": str(uuid.uuid4()), "imageNo": 0, "type": 0})
    others = legnext.post(
        "variation", {"jobId": grid["job_id"], "imageNo": 0, "type": 0}, api_key=CHARLIE_KEY
    )

    assert unknown.status_code == others.status_code == 404
    assert "not found" in assert_shape_b(unknown.json(), 404)
    assert grid["job_id"] in assert_shape_b(others.json(), 404)


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_only_a_completed_job_can_be_followed_up(legnext, clock):
    running = legnext.submit("diffusion", text="a fox")
    failing = legnext.submit("diffusion", text="a fox [sandbox:fail]")
    clock.advance(2)

    response = legnext.post("upscale", {"jobId": running["job_id"], "imageNo": 0, "type": 0})
    clock.advance(10)
    failed = legnext.post("upscale", {"jobId": failing["job_id"], "imageNo": 0, "type": 0})

    assert response.status_code == 400
    assert "is processing" in assert_shape_b(response.json(), 400)
    assert "is failed" in assert_shape_b(failed.json(), 400)


def test_a_job_can_be_followed_up_for_three_days(legnext, clock):
    grid = legnext.diffusion("a fox")
    clock.advance(3 * 24 * 3600 - 1)
    legnext.submit("upscale", jobId=grid["job_id"], imageNo=0, type=0)
    clock.advance(2)

    response = legnext.post("upscale", {"jobId": grid["job_id"], "imageNo": 0, "type": 0})

    assert response.status_code == 400
    assert "3 days" in assert_shape_b(response.json(), 400)


def test_a_grid_of_an_old_version_offers_no_edits(legnext):
    old = legnext.diffusion("a fox --v 5")

    response = legnext.post(
        "pan", {"jobId": old["job_id"], "imageNo": 0, "direction": 0, "scale": 2}
    )

    assert set(old["output"]["available_actions"]) == {"reroll", "upscale", "variation"}
    assert response.status_code == 400
    assert "does not offer pan" in assert_shape_b(response.json(), 400)


def test_a_shorten_job_offers_nothing_to_follow(legnext):
    shortened = legnext.follow("shorten", prompt="a fox")

    response = legnext.post("reroll", {"jobId": shortened["job_id"]})

    assert response.status_code == 400
    assert "does not offer reroll" in assert_shape_b(response.json(), 400)
