"""LegNext's describe, blend and shorten, in both spellings the docs give for describe's
and blend's fields, and a mask fetched by URL: images are fetched after the job is made,
as PiAPI's sandbox fetches them."""

import base64

import pytest
from PIL import Image, ImageDraw, ImageStat

from tests.sandbox.helpers import png_bytes

# The fetch runs in a thread with its own connection: the job must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

KEYCAPS = ["1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3", "4\ufe0f\u20e3"]


def red_and_blue(size=(600, 400)) -> Image.Image:
    image = Image.new("RGB", size, (220, 20, 30))
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0], size[1]), fill=(20, 40, 210))
    return image


def data_url(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode()


# --- describe ---------------------------------------------------------------------------


def test_describe_answers_four_numbered_prompts_in_prompt_en(legnext, image_server):
    url = image_server.put("/red-and-blue.png", png_bytes(red_and_blue()))

    job = legnext.follow("describe", imgUrl=url)

    assert job["status"] == "completed", job["error"]
    assert job["task_type"] == "describe"
    assert job["meta"]["usage"] == {"type": "point", "frozen": 20, "consume": 20}
    output = job["output"]
    assert set(output) == {"promptEn", "description", "finalPrompt", "prompts"}
    numbered = output["promptEn"].split("\n\n")
    assert len(numbered) == 4
    for keycap, line, prompt in zip(KEYCAPS, numbered, output["prompts"], strict=True):
        assert line == f"{keycap} {prompt}"
        assert prompt.endswith(" --ar 3:2")
    assert "red" in output["promptEn"]
    assert "blue" in output["promptEn"]
    assert output["finalPrompt"] == output["prompts"][0]
    assert output["description"] == f"/describe {url}"


def test_describe_reads_the_image_from_image_link_or_image_base64_alike(legnext, image_server):
    picture = red_and_blue((500, 500))
    url = image_server.put("/square.png", png_bytes(picture))

    by_url = legnext.follow("describe", imgUrl=url)
    by_link = legnext.follow("describe", imageLink=url)
    by_base64 = legnext.follow("describe", imageBase64=data_url(picture))

    assert by_url["output"]["promptEn"].endswith("--ar 1:1")
    assert by_link["output"]["promptEn"] == by_url["output"]["promptEn"]
    assert by_base64["output"]["promptEn"] == by_url["output"]["promptEn"]
    assert by_base64["output"]["description"] == "/describe <uploaded image>"


@pytest.mark.parametrize(
    "fields",
    [{}, {"imgUrl": "http://a/1.png", "imageLink": "http://a/1.png"}, {"imgUrl": "ftp://a/1.png"}],
)
def test_describe_wants_exactly_one_image_link(legnext, fields):
    refused = legnext.refused("describe", **fields)

    assert refused["code"] == 400
    assert "imgUrl" in refused["message"]


def test_a_describe_whose_image_cannot_be_fetched_fails_the_job_not_the_call(legnext, image_server):
    job = legnext.follow("describe", imgUrl=image_server.url("/missing.png"))

    assert job["status"] == "failed"
    assert "failed to fetch image" in job["error"]["message"]
    assert job["error"]["code"] != 0
    assert job["meta"]["usage"]["consume"] == 0


# --- blend ------------------------------------------------------------------------------


def test_blend_takes_img_urls_and_an_aspect_ratio(legnext, image_server):
    red = image_server.put("/red.png", png_bytes(Image.new("RGB", (300, 300), (230, 20, 20))))
    blue = image_server.put("/blue.png", png_bytes(Image.new("RGB", (300, 300), (20, 20, 230))))

    job = legnext.follow("blend", imgUrls=[red, blue], aspect_ratio="3:2")

    assert job["status"] == "completed", job["error"]
    assert job["task_type"] == "blend"
    assert job["meta"]["usage"]["consume"] == 80
    assert sorted(image_server.requests) == ["/blue.png", "/red.png"]
    images = [legnext.image(url) for url in job["output"]["image_urls"]]
    assert {image.size for image in images} == {(512, 341)}
    for image in images:
        red_mean, _, blue_mean = ImageStat.Stat(image).mean
        assert red_mean > 40
        assert blue_mean > 40


def test_blend_takes_base64_images_and_a_dimension(legnext):
    green = data_url(Image.new("RGB", (200, 200), (20, 200, 40)))
    yellow = data_url(Image.new("RGB", (200, 200), (230, 220, 30)))

    job = legnext.follow("blend", base64Array=[green, yellow], dimension="PORTRAIT")

    assert job["status"] == "completed", job["error"]
    assert legnext.image(job["output"]["image_urls"][0]).size == (341, 512)
    assert legnext.image(job["output"]["image_url"]).size == (682, 1024)


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ({"imgUrls": ["http://a/1.png"], "aspect_ratio": "1:1"}, "imgUrls"),
        ({"imgUrls": ["http://a/1.png", "http://a/2.png"], "aspect_ratio": "16:9"}, "aspect_ratio"),
        ({"imgUrls": ["http://a/1.png", "http://a/2.png"]}, "dimension"),
        ({"base64Array": ["data:image/png;base64,%%%", "x"], "dimension": "SQUARE"}, "base64"),
        ({"aspect_ratio": "1:1"}, "imgUrls"),
    ],
)
def test_a_bad_blend_is_refused_naming_the_field(legnext, fields, wrong):
    refused = legnext.refused("blend", **fields)

    assert wrong in refused["message"]


# --- shorten ----------------------------------------------------------------------------


def test_shorten_keeps_the_important_words_and_the_flags(legnext):
    prompt = "a very beautiful painting of a lighthouse in the storm at night --ar 3:2 --v 7"

    job = legnext.follow("shorten", prompt=prompt)

    assert job["task_type"] == "shorten"
    assert job["meta"]["usage"]["consume"] == 20
    output = job["output"]
    assert output["promptEn"] == prompt
    assert output["description"] == f"/shorten {prompt}"
    assert output["prompts"] == ["beautiful", "painting", "lighthouse", "storm", "night"]
    assert output["finalPrompt"] == "beautiful painting lighthouse storm night --ar 3:2 --v 7"


def test_shorten_leaves_the_sandbox_markers_out_and_obeys_them(legnext):
    job = legnext.follow("shorten", prompt="a red fox in the snow [sandbox:fail]")

    assert job["status"] == "failed"
    assert job["output"]["finalPrompt"] == ""
    done = legnext.follow("shorten", prompt="a red fox in the snow [sandbox:slow]")
    assert done["output"]["finalPrompt"] == "red fox snow"


def test_a_shorten_job_shows_its_prompt_before_it_completes(legnext):
    job = legnext.submit("shorten", prompt="a red fox")

    assert job["status"] == "pending"
    assert job["output"] == {
        "promptEn": "a red fox",
        "description": "/shorten a red fox",
        "finalPrompt": "",
        "prompts": [],
    }


# --- a mask by URL ------------------------------------------------------------------------


def test_an_inpaint_mask_may_be_fetched_from_its_url(legnext, image_server):
    grid = legnext.diffusion("a geometric poster")
    mask = Image.new("L", (512, 512), 0)
    ImageDraw.Draw(mask).rectangle((0, 0, 255, 511), fill=255)  # the left half
    url = image_server.put("/mask.png", png_bytes(mask))

    job = legnext.follow("inpaint", jobId=grid["job_id"], imageNo=1, mask={"url": url})

    assert job["status"] == "completed", job["error"]
    assert image_server.requests == ["/mask.png"]
    first, second = (legnext.image(url) for url in job["output"]["image_urls"][:2])
    # The right half is kept, the left half repainted.
    assert first.crop((520, 0, 1024, 1024)).tobytes() == second.crop((520, 0, 1024, 1024)).tobytes()
    assert first.crop((0, 0, 500, 1024)).tobytes() != second.crop((0, 0, 500, 1024)).tobytes()
