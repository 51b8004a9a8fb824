"""LegNext's video endpoints render real clips: video-diffusion (from a grid's image or
an image URL), extend-video and video-upscale, as H.264 mp4s at 24 fps, with the
protocol's output (video_urls, seed ""), task types and prices."""

import io
from dataclasses import dataclass

import av
import pytest
from PIL import Image

from tests.sandbox.helpers import mean_difference, path_of, png_bytes

pytestmark = pytest.mark.django_db

WIDE = "a quiet harbour at dawn --ar 16:9"


@dataclass
class Video:
    data: bytes
    size: tuple[int, int]
    fps: float
    seconds: float
    codec: str
    pix_fmt: str

    def frames(self) -> list[Image.Image]:
        with av.open(io.BytesIO(self.data)) as container:
            return [frame.to_image() for frame in container.decode(video=0)]


def fetch_video(legnext, url: str) -> Video:
    response = legnext.client.get(path_of(url))
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    data = b"".join(response.streaming_content)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert container.duration is not None
        return Video(
            data=data,
            size=(stream.width, stream.height),
            fps=float(stream.average_rate or 0),
            seconds=container.duration / av.time_base,
            codec=stream.codec_context.name,
            pix_fmt=str(stream.codec_context.pix_fmt),
        )


def video_job(legnext, endpoint: str = "video-diffusion", **fields) -> dict:
    job = legnext.follow(endpoint, **fields)
    assert job["status"] == "completed", job["error"]
    return job


@pytest.fixture
def wide_grid(legnext) -> dict:
    return legnext.diffusion(WIDE)


@pytest.fixture
def video(legnext, wide_grid) -> dict:
    return video_job(legnext, jobId=wide_grid["job_id"], imageNo=0)


def test_a_video_of_a_grid_image_is_four_480p_clips_of_five_seconds_at_24_fps(legnext, video):
    assert video["task_type"] == "video_diffusion"
    assert video["output"]["seed"] == ""
    assert "image_url" not in video["output"]
    assert video["meta"]["usage"] == {"type": "point", "frozen": 480, "consume": 480}
    urls = video["output"]["video_urls"]
    assert len(urls) == 4

    clips = [fetch_video(legnext, url) for url in urls]

    for clip in clips:
        assert clip.size == (854, 480)
        assert clip.fps == 24
        assert clip.seconds == pytest.approx(5, abs=0.05)
        assert (clip.codec, clip.pix_fmt) == ("h264", "yuv420p")
    # Each of the four takes its own path over the image.
    assert len({clip.data for clip in clips}) == 4


def test_a_720p_video_costs_1536_and_is_1280_by_720(legnext, wide_grid):
    job = video_job(legnext, jobId=wide_grid["job_id"], imageNo=3, videoType=1)

    clip = fetch_video(legnext, job["output"]["video_urls"][0])

    assert job["meta"]["usage"]["consume"] == 1536
    assert clip.size == (1280, 720)
    assert clip.seconds == pytest.approx(5, abs=0.05)


def test_the_same_request_renders_the_same_clip_and_high_motion_moves_further(
    legnext, wide_grid, video
):
    again = video_job(legnext, jobId=wide_grid["job_id"], imageNo=0)
    high = video_job(legnext, jobId=wide_grid["job_id"], imageNo=0, prompt="waves --motion high")

    first = fetch_video(legnext, video["output"]["video_urls"][0])
    second = fetch_video(legnext, again["output"]["video_urls"][0])
    faster = fetch_video(legnext, high["output"]["video_urls"][0])

    # The same picture, frame for frame. (Not byte for byte: x264's bits have varied
    # between runs on a loaded machine though every input frame was the same.)
    low_frames, again_frames, high_frames = first.frames(), second.frames(), faster.frames()
    assert len(again_frames) == len(low_frames)
    assert max(map(mean_difference, low_frames, again_frames)) < 0.5
    assert mean_difference(low_frames[0], low_frames[-1]) < mean_difference(
        high_frames[0], high_frames[-1]
    )


def test_a_looping_video_ends_where_it_began(legnext, wide_grid):
    looping = video_job(legnext, jobId=wide_grid["job_id"], imageNo=2, prompt="sky --loop")

    frames = fetch_video(legnext, looping["output"]["video_urls"][1]).frames()

    assert mean_difference(frames[0], frames[-1]) < 2
    assert mean_difference(frames[0], frames[len(frames) // 2]) > 3


# The fetch runs in a thread with its own connection: the job must be committed.
@pytest.mark.django_db(transaction=True)
def test_a_video_from_an_image_url_keeps_the_image_shape(legnext, image_server):
    url = image_server.put("/landscape.png", png_bytes(Image.new("RGB", (600, 400), "teal")))

    job = video_job(legnext, prompt=f"{url} a calm sea --motion low --raw")

    clip = fetch_video(legnext, job["output"]["video_urls"][2])
    assert clip.size == (720, 480)
    assert clip.frames()[0].getpixel((360, 240)) == pytest.approx((0, 128, 128), abs=6)


# The fetch runs in a thread with its own connection: the job must be committed.
@pytest.mark.django_db(transaction=True)
def test_a_video_whose_image_cannot_be_fetched_fails_the_job_not_the_call(legnext, image_server):
    job = legnext.follow("video-diffusion", prompt=f"{image_server.url('/gone.png')} a sea")

    assert job["status"] == "failed"
    assert job["meta"]["usage"]["consume"] == 0


def test_an_extension_adds_four_seconds_that_carry_on_from_the_clip(legnext, video):
    extended = video_job(legnext, "extend-video", jobId=video["job_id"], videoNo=1)

    source = fetch_video(legnext, video["output"]["video_urls"][1])
    longer = fetch_video(legnext, extended["output"]["video_urls"][0])

    assert extended["task_type"] == "extend_video"
    assert extended["meta"]["usage"]["consume"] == 480
    assert len(extended["output"]["video_urls"]) == 4
    assert longer.size == source.size
    assert longer.seconds == pytest.approx(9, abs=0.05)
    source_frames, longer_frames = source.frames(), longer.frames()
    last_of_source, first_of_extension = source_frames[-1], longer_frames[len(source_frames)]
    assert mean_difference(last_of_source, first_of_extension) < 3
    # ... and then it moves on.
    assert mean_difference(last_of_source, longer_frames[-1]) > 3


def test_a_video_is_extended_at_most_four_times(legnext, video):
    job = video
    for _ in range(4):
        job = video_job(legnext, "extend-video", jobId=job["job_id"], videoNo=0)

    refused = legnext.refused("extend-video", jobId=job["job_id"], videoNo=0)

    assert refused["status"] == "failed"
    assert "at most 4 times" in refused["error"]["message"]


def test_a_video_upscale_is_one_clip_twice_the_size(legnext, video):
    upscaled = video_job(legnext, "video-upscale", jobId=video["job_id"], videoNo=2)

    urls = upscaled["output"]["video_urls"]
    clip = fetch_video(legnext, urls[0])

    assert upscaled["task_type"] == "video_upscale"
    assert upscaled["meta"]["usage"]["consume"] == 480
    assert len(urls) == 1
    assert clip.size == (1708, 960)
    assert clip.seconds == pytest.approx(5, abs=0.05)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({}, "prompt"),
        ({"prompt": "a sea without an image"}, "prompt"),
        ({"prompt": "https://example.com/a.png a sea", "videoType": 2}, "videoType"),
        ({"prompt": "https://example.com/a.png a sea --motion wild"}, "--motion"),
        ({"jobId": "4b1c58f4-8a9e-4c53-9d56-8f6f9e3ab2a1"}, "imageNo"),
    ],
)
def test_a_bad_video_diffusion_is_refused_naming_the_field(legnext, fields, named):
    refused = legnext.refused("video-diffusion", **fields)

    assert refused["code"] == 400
    assert named in refused["message"]


def test_clips_are_extended_and_upscaled_from_videos_only(legnext, wide_grid, video):
    from_grid = legnext.refused("extend-video", jobId=wide_grid["job_id"], videoNo=0)
    bad_number = legnext.refused("video-upscale", jobId=video["job_id"], videoNo=4)
    upscaled = video_job(legnext, "video-upscale", jobId=video["job_id"], videoNo=0)
    from_upscale = legnext.refused("extend-video", jobId=upscaled["job_id"], videoNo=0)
    video_of_video = legnext.refused("video-diffusion", jobId=video["job_id"], imageNo=0)
    unknown = legnext.refused(
        "video-upscale", 404, jobId="4b1c58f4-8a9e-4c53-9d56-8f6f9e3ab2a1", videoNo=0
    )

    assert from_grid["error"]["code"] == 400
    assert "video_diffusion or extend_video" in from_grid["error"]["message"]
    assert "videoNo" in bad_number["message"]
    assert "video_diffusion or extend_video" in from_upscale["error"]["message"]
    assert "grid" in video_of_video["error"]["message"]
    assert unknown["error"]["code"] == 404


def gradient(size: tuple[int, int]) -> Image.Image:
    """Red on the left to yellow on the right: nothing like a drawn grid."""
    ramp = Image.linear_gradient("L").rotate(90).resize(size)
    return Image.merge(
        "RGB", (Image.new("L", size, 230), ramp.point(lambda v: 255 - v), Image.new("L", size, 20))
    )


# The end image is fetched by a thread with its own connection: jobs must be committed.
@pytest.mark.django_db(transaction=True)
def test_a_video_with_an_end_image_fades_into_it_and_ends_on_it(legnext, wide_grid, image_server):
    end = gradient((640, 360))
    url = image_server.put("/end.png", png_bytes(end))

    job = video_job(legnext, jobId=wide_grid["job_id"], imageNo=0, prompt=f"dusk --end {url}")

    frames = fetch_video(legnext, job["output"]["video_urls"][0]).frames()
    assert len(frames) == 120
    assert mean_difference(frames[-1], end) < 3
    assert mean_difference(frames[0], end) > 30
    # The camera's view until the last second, then the fade.
    assert mean_difference(frames[90], end) > 30
    assert mean_difference(frames[90], frames[-1]) > mean_difference(frames[110], frames[-1])


@pytest.mark.django_db(transaction=True)
def test_with_loop_and_end_the_end_image_wins_and_an_extension_moves_on_over_it(
    legnext, wide_grid, image_server
):
    end = gradient((640, 360))
    url = image_server.put("/end.png", png_bytes(end))

    job = video_job(
        legnext, jobId=wide_grid["job_id"], imageNo=1, prompt=f"dusk --loop --end {url}"
    )
    extended = video_job(legnext, "extend-video", jobId=job["job_id"], videoNo=0)

    frames = fetch_video(legnext, job["output"]["video_urls"][0]).frames()
    assert mean_difference(frames[-1], end) < 3
    assert mean_difference(frames[0], frames[-1]) > 30
    longer = fetch_video(legnext, extended["output"]["video_urls"][0]).frames()
    assert len(longer) == 9 * 24
    assert mean_difference(longer[120], end) < 3
    assert mean_difference(longer[-1], end) > 1


@pytest.mark.django_db(transaction=True)
def test_a_video_whose_end_image_cannot_be_fetched_fails_the_job(legnext, image_server):
    start = image_server.put("/start.png", png_bytes(gradient((600, 400))))

    job = legnext.follow(
        "video-diffusion", prompt=f"{start} a sea --end {image_server.url('/gone.png')}"
    )

    assert job["status"] == "failed"
    assert "gone.png" in job["error"]["message"]


@pytest.mark.parametrize("end", ["--end", "--end not-a-url", "--end --motion high"])
def test_an_end_without_an_image_url_is_refused(legnext, wide_grid, end):
    refused = legnext.refused(
        "video-diffusion", jobId=wide_grid["job_id"], imageNo=0, prompt=f"waves {end}"
    )

    assert refused["code"] == 400
    assert "--end" in refused["message"]
