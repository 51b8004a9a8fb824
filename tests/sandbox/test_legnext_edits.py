"""LegNext's image edits: retexture and remove-background of an image by URL,
upload-paint (JSON and multipart) of an image placed on a canvas, and edit of a grid's
image, whitelist-only (403 by default); their output shapes, prices and errors."""

import io
import json

import pytest
from django.test import override_settings
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from studio.sandbox.legnext.translation import EDIT_WHITELIST_MESSAGE
from tests.sandbox.helpers import LEGNEXT, mean_difference, path_of, png_bytes

# The image is fetched by a thread with its own connection: jobs must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

JADE = "carved from green jade"


def scene(size: tuple[int, int] = (400, 300)) -> Image.Image:
    """Sky over a dark hill, a sun and a house: shapes with clear edges."""
    width, height = size
    image = Image.new("RGB", size, (110, 170, 230))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.1, height * 0.1, width * 0.3, height * 0.37), fill=(250, 220, 60))
    draw.polygon(
        [(0, height), (0, height * 0.6), (width, height * 0.7), (width, height)], (40, 70, 30)
    )
    draw.rectangle((width * 0.55, height * 0.35, width * 0.8, height * 0.75), fill=(150, 60, 40))
    return image


def edges(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The outlines of the image's shapes (softened first: a material's fine surface is
    not a shape), in any colour channel: a material's colours may have one lightness, so
    its shapes can be edges of hue alone (greyscale edges failed this test for some
    seeds, and the seed follows the image server's port)."""
    colour = image.resize(size, Image.Resampling.LANCZOS).convert("RGB")
    softened = colour.filter(ImageFilter.GaussianBlur(2))
    red, green, blue = softened.filter(ImageFilter.FIND_EDGES).split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def correlation(first: Image.Image, second: Image.Image) -> float:
    """Pearson's correlation of two greyscale images' pixels."""
    mean_x, mean_y = ImageStat.Stat(first).mean[0], ImageStat.Stat(second).mean[0]
    mean_xy = ImageStat.Stat(ImageChops.multiply(first, second)).mean[0] * 255
    spread_x, spread_y = ImageStat.Stat(first).stddev[0], ImageStat.Stat(second).stddev[0]
    return (mean_xy - mean_x * mean_y) / (spread_x * spread_y)


def quadrants(legnext, job: dict) -> list[Image.Image]:
    return [legnext.image(url) for url in job["output"]["image_urls"]]


def completed(job: dict) -> dict:
    assert job["status"] == "completed", job["error"]
    return job


# --- retexture ------------------------------------------------------------------------


def test_a_retexture_redraws_the_image_in_four_materials_keeping_its_layout(legnext, image_server):
    source = scene()
    url = image_server.put("/scene.png", png_bytes(source))

    job = completed(legnext.follow("retexture", imgUrl=url, remixPrompt=JADE))

    assert job["task_type"] == "retexture"
    assert job["meta"]["usage"] == {"type": "point", "frozen": 120, "consume": 120}
    assert job["output"]["seed"].isdigit()
    assert job["output"]["available_actions"]["upscale"] == [0, 1, 2, 3]
    assert legnext.image(job["output"]["image_url"]).size == (1024, 768)
    images = quadrants(legnext, job)
    assert len({image.tobytes() for image in images}) == 4
    unrelated = edges(source.transpose(Image.Transpose.ROTATE_180), (512, 384))
    for image in images:
        assert image.size == (512, 384)
        # New colours and surface ...
        assert mean_difference(source.resize(image.size), image) > 25
        # ... over the same shapes: the edges lie where the source's do.
        kept = correlation(edges(source, image.size), edges(image, image.size))
        assert kept > 0.85
        # (over 80 seeds and the four materials, the least margin is 0.24)
        assert kept > correlation(unrelated, edges(image, image.size)) + 0.15


def test_the_same_retexture_draws_the_same_pictures_and_another_prompt_others(
    legnext, image_server
):
    url = image_server.put("/scene.png", png_bytes(scene()))

    first = completed(legnext.follow("retexture", imgUrl=url, remixPrompt=JADE))
    again = completed(legnext.follow("retexture", imgUrl=url, remixPrompt=JADE))
    other = completed(legnext.follow("retexture", imgUrl=url, remixPrompt="rusty iron"))

    grid = legnext.image(first["output"]["image_url"])
    assert grid.tobytes() == legnext.image(again["output"]["image_url"]).tobytes()
    assert mean_difference(grid, legnext.image(other["output"]["image_url"])) > 10


def test_a_retexture_grid_is_followed_up_like_any_grid_and_turbo_costs_twice(legnext, image_server):
    url = image_server.put("/scene.png", png_bytes(scene()))
    job = completed(legnext.follow("retexture", imgUrl=url, remixPrompt=JADE))

    upscaled = completed(legnext.follow("upscale", jobId=job["job_id"], imageNo=2, type=0))
    varied = completed(legnext.follow("variation", jobId=job["job_id"], imageNo=2, type=0))
    turbo = legnext.submit("retexture", imgUrl=url, remixPrompt=f"{JADE} --turbo")

    assert legnext.image(upscaled["output"]["image_url"]).size == (2048, 1536)
    assert len(quadrants(legnext, varied)) == 4
    assert turbo["meta"]["usage"]["frozen"] == 240


def test_a_retexture_whose_image_cannot_be_fetched_fails_the_job(legnext, image_server):
    job = legnext.follow("retexture", imgUrl=image_server.url("/gone.png"), remixPrompt=JADE)

    assert job["status"] == "failed"
    assert job["meta"]["usage"]["consume"] == 0


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"remixPrompt": JADE}, "imgUrl"),
        ({"imgUrl": "not a url", "remixPrompt": JADE}, "imgUrl"),
        ({"imgUrl": "https://example.com/" + "a" * 1010, "remixPrompt": JADE}, "1024"),
        ({"imgUrl": "https://example.com/a.png"}, "remixPrompt"),
    ],
)
def test_a_bad_retexture_is_refused_naming_the_field(legnext, fields, named):
    refused = legnext.refused("retexture", **fields)

    assert refused["code"] == 400
    assert named in refused["message"]


# --- remove-background ----------------------------------------------------------------


def test_remove_background_cuts_the_subject_out_of_its_background(legnext, image_server):
    portrait = Image.new("RGB", (300, 200), (235, 238, 240))
    ImageDraw.Draw(portrait).ellipse((90, 40, 210, 160), fill=(200, 30, 40))
    url = image_server.put("/portrait.png", png_bytes(portrait))

    job = completed(legnext.follow("remove-background", imgUrl=url))

    output = job["output"]
    assert job["task_type"] == "remove_background"
    assert job["meta"]["usage"] == {"type": "point", "frozen": 80, "consume": 80}
    assert output["image_urls"] == [output["image_url"]]
    assert output["seed"] == "0"
    response = legnext.client.get(path_of(output["image_url"]))
    cutout = Image.open(io.BytesIO(response.content))
    assert (cutout.format, cutout.mode, cutout.size) == ("PNG", "RGBA", (300, 200))
    alpha = cutout.getchannel("A")
    for corner in ((0, 0), (299, 0), (0, 199), (299, 199), (40, 100)):
        assert alpha.getpixel(corner) == 0
    assert cutout.getpixel((150, 100)) == (200, 30, 40, 255)
    # A soft edge: some pixels around the subject are partly see-through.
    assert sum(alpha.crop((80, 90, 100, 110)).histogram()[1:255]) > 0


# --- upload-paint ---------------------------------------------------------------------

CANVAS = {"width": 1000, "height": 800}
PLACED = {"width": 500, "height": 500, "x": 100, "y": 150}
# The middle of the placed image, in canvas pixels: (200, 250) to (400, 450).
MASK = {"areas": [{**CANVAS, "points": [200, 250, 400, 250, 400, 450, 200, 450]}]}


def upload_paint_fields(url: str, **changes: object) -> dict:
    return {
        "imgUrl": url,
        "canvas": CANVAS,
        "imgPos": PLACED,
        "remixPrompt": "a window of stained glass",
        "mask": MASK,
        **changes,
    }


def test_upload_paint_places_the_image_and_repaints_only_the_mask_and_the_canvas_around(
    legnext, image_server
):
    source = Image.new("RGB", (400, 400))
    source.paste(scene((400, 400)))
    url = image_server.put("/square.png", png_bytes(source))

    job = completed(legnext.follow("upload-paint", **upload_paint_fields(url)))

    assert job["task_type"] == "upload_paint"
    assert job["meta"]["usage"] == {"type": "point", "frozen": 120, "consume": 120}
    assert job["output"]["available_actions"]["variation"] == [0, 1, 2, 3]
    images = quadrants(legnext, job)
    placed = source.resize((500, 500), Image.Resampling.LANCZOS)
    # The mask in the placed image's pixels.
    unmasked = Image.new("L", placed.size, 255)
    ImageDraw.Draw(unmasked).rectangle((100, 100, 300, 300), fill=0)
    black = Image.new("RGB", placed.size)
    for image in images:
        assert image.size == (1000, 800)
        on_image = image.crop((100, 150, 600, 650))
        changed = ImageChops.difference(on_image, placed)
        assert Image.composite(changed, black, unmasked).getbbox() is None
        assert (
            mean_difference(on_image.crop((120, 120, 280, 280)), placed.crop((120, 120, 280, 280)))
            > 5
        )
    # Each quadrant repaints the mask and the canvas around the image its own way.
    assert len({image.crop((300, 400, 400, 500)).tobytes() for image in images}) == 4
    assert len({image.crop((0, 0, 100, 800)).tobytes() for image in images}) == 4


def test_upload_paint_takes_a_multipart_form_of_json_fields(legnext, image_server, client):
    url = image_server.put("/scene.png", png_bytes(scene()))
    fields = upload_paint_fields(url)
    as_json = completed(legnext.follow("upload-paint", **fields))

    response = client.post(
        f"{LEGNEXT}/v1/upload-paint",
        {
            name: value if isinstance(value, str) else json.dumps(value)
            for name, value in fields.items()
        },
        headers={"x-api-key": legnext.api_key},
    )

    assert response.status_code == 200, response.json()
    as_form = completed(legnext.wait(response.json()["job_id"]))
    assert as_form["task_type"] == "upload_paint"
    # The same request, however it was posted: the same pictures.
    first, second = (legnext.image(job["output"]["image_url"]) for job in (as_json, as_form))
    assert first.tobytes() == second.tobytes()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"canvas": None}, "canvas is required"),
        ({"canvas": {"width": "1000", "height": 800}}, "canvas.width"),
        (
            {"canvas": {"width": 1000, "height": 300}},
            "canvas.height 300 must be an integer from 500",
        ),
        ({"imgPos": {"width": 500, "height": 500, "x": 1000, "y": 0}}, "outside the canvas"),
        ({"imgPos": {"width": 0, "height": 500, "x": 0, "y": 0}}, "imgPos.width"),
        ({"imgPos": [500, 500, 0, 0]}, "imgPos"),
        ({"mask": None}, "mask is required"),
        (
            {"mask": {"areas": [{"width": 1024, "height": 1024, "points": [0, 0, 9, 0, 9, 9]}]}},
            "must be the canvas's (1000x800)",
        ),
        ({"remixPrompt": None}, "remixPrompt"),
    ],
)
def test_a_bad_upload_paint_is_refused_with_a_clear_message(legnext, changes, named):
    fields = {
        name: value
        for name, value in upload_paint_fields("https://example.com/a.png", **changes).items()
        if value is not None
    }

    refused = legnext.refused("upload-paint", **fields)

    assert refused["code"] == 400
    assert named in refused["message"]


def test_a_multipart_canvas_that_is_not_json_is_refused(legnext, client):
    fields = upload_paint_fields("https://example.com/a.png")
    form = {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in fields.items()
    }

    response = client.post(
        f"{LEGNEXT}/v1/upload-paint",
        {**form, "canvas": "1000x800"},
        headers={"x-api-key": legnext.api_key},
    )

    assert response.status_code == 400
    assert "canvas must be a JSON object" in response.json()["message"]


# --- edit -----------------------------------------------------------------------------

EDIT_CANVAS = {"width": 1024, "height": 1024}
EDIT_PLACED = {"width": 512, "height": 512, "x": 256, "y": 256}


@pytest.fixture
def grid(legnext) -> dict:
    return legnext.diffusion("a geometric poster")


def edit_fields(grid: dict, **changes: object) -> dict:
    return {
        "jobId": grid["job_id"],
        "imageNo": 1,
        "canvas": EDIT_CANVAS,
        "imgPos": EDIT_PLACED,
        "remixPrompt": "a wider view",
        **changes,
    }


def test_edit_is_for_whitelisted_accounts_only_and_answers_403_by_default(legnext, grid):
    refused = legnext.refused("edit", 403, **edit_fields(grid))
    empty = legnext.refused("edit", 403)

    assert refused == empty
    assert (refused["job_id"], refused["model"], refused["status"]) == ("", "", "failed")
    assert refused["output"] is refused["meta"] is refused["logs"] is None
    assert refused["error"] == {
        "code": 403,
        "message": EDIT_WHITELIST_MESSAGE,
        "raw_message": "",
        "detail": None,
    }
    assert EDIT_WHITELIST_MESSAGE.startswith("This feature is only available for whitelisted")


@override_settings(SANDBOX_LEGNEXT_EDIT_WHITELISTED=True)
def test_a_whitelisted_edit_places_the_grids_image_on_the_canvas(legnext, grid):
    source = legnext.image(grid["output"]["image_urls"][1])

    job = completed(legnext.follow("edit", **edit_fields(grid)))

    assert job["task_type"] == "edit"
    assert job["meta"]["usage"] == {"type": "point", "frozen": 120, "consume": 120}
    images = quadrants(legnext, job)
    for image in images:
        assert image.size == (1024, 1024)
        assert mean_difference(image.crop((256, 256, 768, 768)), source) < 8
    # Without a mask only the canvas around the image is new, each quadrant's its own.
    middles = {image.crop((256, 256, 768, 768)).tobytes() for image in images}
    assert len(middles) == 1
    assert len({image.crop((0, 0, 256, 1024)).tobytes() for image in images}) == 4


@override_settings(SANDBOX_LEGNEXT_EDIT_WHITELISTED=True)
def test_a_whitelisted_edit_repaints_its_mask_and_its_grid_can_be_followed_up(legnext, grid):
    mask = {"areas": [{**EDIT_CANVAS, "points": [384, 384, 640, 384, 640, 640, 384, 640]}]}

    job = completed(legnext.follow("edit", **edit_fields(grid, mask=mask)))
    upscaled = completed(legnext.follow("upscale", jobId=job["job_id"], imageNo=0, type=0))

    images = quadrants(legnext, job)
    assert len({image.crop((256, 256, 384, 768)).tobytes() for image in images}) == 1
    assert len({image.crop((400, 400, 620, 620)).tobytes() for image in images}) == 4
    assert legnext.image(upscaled["output"]["image_url"]).size == (2048, 2048)


@override_settings(SANDBOX_LEGNEXT_EDIT_WHITELISTED=True)
def test_a_whitelisted_edit_checks_its_fields_and_its_job(legnext, grid):
    old = legnext.diffusion("a fox --v 5")

    bad_number = legnext.refused("edit", **edit_fields(grid, imageNo=4))
    no_prompt = legnext.refused("edit", **edit_fields(grid, remixPrompt=""))
    not_offered = legnext.refused("edit", **edit_fields(old))

    assert "imageNo" in bad_number["message"]
    assert "remixPrompt" in no_prompt["message"]
    assert "does not offer edit" in not_offered["error"]["message"]
