"""Describe and blend fetch their input images over HTTP after creation, like the
provider: an image that cannot be fetched fails the task instead of the create call."""

import pytest
from PIL import Image, ImageDraw, ImageStat

from studio.sandbox.models import InputImage
from tests.sandbox.helpers import follow_up_body, mean_difference, png_bytes

# The fetch runs in a thread with its own connection: the task must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

KEYCAPS = ["1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3", "4\ufe0f\u20e3"]
GRID_ACTIONS = [
    "reroll",
    *(f"upscale{index}" for index in range(1, 5)),
    *(f"variation{index}" for index in range(1, 5)),
]


def red_and_blue(size=(600, 400)) -> Image.Image:
    image = Image.new("RGB", size, (220, 20, 30))
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0], size[1]), fill=(20, 40, 210))
    return image


def solid(colour, size=(300, 300)) -> Image.Image:
    return Image.new("RGB", size, colour)


# --- describe ---------------------------------------------------------------------------


def test_describe_answers_four_numbered_prompts_that_name_the_colours_and_shape(api, image_server):
    url = image_server.put("/red-and-blue.png", png_bytes(red_and_blue()))

    created = api.follow("describe", image_url=url)
    task = api.wait(created["task_id"])

    assert task["status"] == "completed", task["error"]
    assert image_server.requests == ["/red-and-blue.png"]
    output = task["output"]
    prompts = output["description"].split("\n\n")
    assert len(prompts) == 4
    for keycap, prompt in zip(KEYCAPS, prompts, strict=True):
        assert prompt.startswith(f"{keycap} ")
        assert prompt.endswith(" --ar 3:2")
    assert "red" in output["description"]
    assert "blue" in output["description"]
    assert output["image_url"] == ""
    assert output["temporary_image_urls"] is None
    assert output["actions"] == []
    assert task["input"] == {"image_url": url, "process_mode": "fast"}


def test_describe_is_deterministic_and_reads_brightness_and_shape(api, image_server):
    url = image_server.put("/night.png", png_bytes(solid((10, 15, 60), (400, 700))))

    first = api.wait(api.follow("describe", image_url=url, process_mode="relax")["task_id"])
    second = api.wait(api.follow("describe", image_url=url)["task_id"])

    description = first["output"]["description"]
    assert description == second["output"]["description"]
    assert "dark" in description
    # 4:7 is rounded to the common ratio nearest to it.
    assert description.count("--ar 9:16") == 4
    assert "blue" in description
    assert "blue and blue" not in description
    assert first["meta"]["usage"]["frozen"] == 150_000


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/missing.png", "answered HTTP 404"), ("/notes.txt", "is not an image")],
)
def test_an_image_that_cannot_be_fetched_fails_the_describe(api, image_server, path, reason):
    image_server.put("/notes.txt", b"just words", "text/plain")

    created = api.follow("describe", image_url=image_server.url(path))
    task = api.wait(created["task_id"])

    assert created["status"] == "pending"
    assert task["status"] == "failed"
    assert task["error"]["code"] == 10000
    assert task["error"]["message"].startswith("failed to fetch image: ")
    assert reason in task["error"]["message"]
    assert task["output"]["description"] == ""
    assert task["meta"]["usage"]["consume"] == 0


def test_an_unreachable_image_fails_the_describe(api):
    created = api.follow("describe", image_url="http://127.0.0.1:9/nowhere.png")

    task = api.wait(created["task_id"])

    assert task["status"] == "failed"
    assert "could not be reached" in task["error"]["message"]


@pytest.mark.parametrize(
    ("image_url", "message_part"),
    [(None, "input.image_url is required"), ("ftp://x/y.png", "http(s) URL"), (3, "required")],
)
def test_describe_needs_an_http_image_url(api, image_url, message_part):
    assert message_part in api.refused("describe", image_url=image_url)


def test_a_description_has_no_image_to_follow_up(api, image_server):
    url = image_server.put("/a.png", png_bytes(red_and_blue()))
    described = api.wait(api.follow("describe", image_url=url)["task_id"])

    for task_type in ("upscale", "variation", "pan", "seed"):
        message = api.refused(
            task_type, origin_task_id=described["task_id"], index="1", direction="up"
        )
        assert "describe" in message


def test_describe_webhooks_wait_for_the_image_and_end_with_the_description(
    api, image_server, webhook_receiver
):
    url = image_server.put("/a.png", png_bytes(red_and_blue()))
    body = follow_up_body("describe", image_url=url)
    body["config"]["webhook_config"] = {"endpoint": webhook_receiver.url, "secret": "s"}
    task_id = api.post(body).json()["data"]["task_id"]

    deliveries = webhook_receiver.wait_for(7)

    assert [delivery.status for delivery in deliveries] == [
        "pending", *["processing"] * 5, "completed",
    ]  # fmt: skip
    assert deliveries[-1].body["data"] == api.task(task_id)
    assert "red" in deliveries[-1].body["data"]["output"]["description"]


def test_a_failed_fetch_is_delivered_as_a_failure(api, webhook_receiver):
    body = follow_up_body("blend", image_urls=["http://127.0.0.1:9/a.png"] * 2)
    body["config"]["webhook_config"] = {"endpoint": webhook_receiver.url, "secret": "s"}
    api.post(body)

    deliveries = webhook_receiver.wait_for(3)

    assert [delivery.status for delivery in deliveries] == ["pending", "processing", "failed"]
    assert deliveries[-1].body["data"]["error"]["message"].startswith("failed to fetch image")


# --- blend ------------------------------------------------------------------------------


def test_a_blend_mixes_its_inputs_differently_in_each_quadrant(api, image_server):
    red = solid((220, 20, 30))
    blue = solid((20, 40, 210), (200, 400))
    urls = [
        image_server.put("/red.png", png_bytes(red)),
        image_server.put("/blue.png", png_bytes(blue)),
    ]

    task = api.wait(api.follow("blend", image_urls=urls)["task_id"])

    assert task["status"] == "completed", task["error"]
    assert task["input"] == {"image_urls": urls, "dimension": "square", "process_mode": "fast"}
    assert task["output"]["actions"] == GRID_ACTIONS
    quadrants = api.grid_of(task)
    assert {quadrant.size for quadrant in quadrants} == {(512, 512)}
    assert len({quadrant.tobytes() for quadrant in quadrants}) == 4
    for quadrant in quadrants:
        red_mean, _, blue_mean = ImageStat.Stat(quadrant).mean
        # Each quadrant has something of both inputs…
        assert red_mean > 50 and blue_mean > 50
        # …and is nearer to them than to an unrelated picture.
        grey = solid((128, 128, 128), quadrant.size)
        assert min(mean_difference(quadrant, red), mean_difference(quadrant, blue)) < (
            mean_difference(quadrant, grey)
        )


@pytest.mark.parametrize(
    ("dimension", "size"), [("portrait", (341, 512)), ("LANDSCAPE", (512, 341))]
)
def test_a_blend_has_the_shape_of_its_dimension(api, image_server, dimension, size):
    urls = [
        image_server.put(f"/{index}.png", png_bytes(solid(colour)))
        for index, colour in enumerate([(250, 200, 0), (0, 120, 60), (90, 0, 160)])
    ]

    task = api.wait(api.follow("blend", image_urls=urls, dimension=dimension)["task_id"])

    assert task["input"]["dimension"] == dimension.lower()
    assert {quadrant.size for quadrant in api.grid_of(task)} == {size}
    assert InputImage.objects.filter(task_id=task["task_id"]).count() == 3


def test_one_image_that_cannot_be_fetched_fails_the_blend(api, image_server):
    urls = [
        image_server.put("/red.png", png_bytes(solid((200, 0, 0)))),
        image_server.url("/gone.png"),
    ]

    task = api.wait(api.follow("blend", image_urls=urls)["task_id"])

    assert task["status"] == "failed"
    assert task["error"]["message"] == (
        f"failed to fetch image: image 2: {urls[1]} answered HTTP 404"
    )
    assert task["output"]["image_url"] == ""


def test_a_blend_can_be_upscaled_and_varied(api, image_server):
    urls = [
        image_server.put("/red.png", png_bytes(solid((220, 20, 30)))),
        image_server.put("/blue.png", png_bytes(red_and_blue())),
    ]
    blend = api.wait(api.follow("blend", image_urls=urls)["task_id"])

    upscaled = api.wait(
        api.follow("upscale", origin_task_id=blend["task_id"], index="2")["task_id"]
    )
    varied = api.wait(
        api.follow("variation", origin_task_id=blend["task_id"], index="2")["task_id"]
    )

    second = api.grid_of(blend)[1]
    assert mean_difference(second, api.image(upscaled["output"]["image_url"])) < 3
    assert max(mean_difference(second, image) for image in api.grid_of(varied)) < 30


@pytest.mark.parametrize(
    ("image_urls", "dimension", "message_part"),
    [
        (["http://x/1.png"], None, "has 1 URLs; a blend takes 2 to 5"),
        ([f"http://x/{n}.png" for n in range(6)], None, "has 6 URLs; a blend takes 2 to 5"),
        (None, None, "input.image_urls is required"),
        ("http://x/1.png", None, "input.image_urls is required"),
        (["http://x/1.png", "file:///etc/passwd"], None, "input.image_urls[1]"),
        (["http://x/1.png", "http://x/2.png"], "wide", "input.dimension 'wide'"),
    ],
)
def test_a_bad_blend_is_a_400(api, image_urls, dimension, message_part):
    fields = {"image_urls": image_urls}
    if dimension:
        fields["dimension"] = dimension

    assert message_part in api.refused("blend", **fields)
