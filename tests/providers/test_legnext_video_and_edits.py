"""LegNext's video and newer-edit endpoints as Studio sends and reads them: the body of
each (protocol §2), the clips of a video job and what they offer, the price of each per
resolution and mode, and the whitelist-only Edit's refusal in words people understand."""

import json
from typing import Any

import pytest
import responses

from studio.providers.base import ProviderError, TaskRequest
from studio.providers.legnext import NO_EDIT, LegNext, task_from_job
from tests.payloads import load

BASE = "https://legnext.example/api"
GRID = "11111111-2222-4333-8444-555555555555"
IMAGE = "https://studio.example/inputs/abc/image.png"
END = "https://studio.example/inputs/def/image.png"
MASK = "https://studio.example/jobs/9/mask/tok.png"


def create(request: TaskRequest, endpoint: str, answer: dict[str, Any] | None = None) -> Any:
    responses.post(f"{BASE}/v1/{endpoint}", json=answer or load("diffusion_pending", "legnext"))
    LegNext(api_key="k", base_url=BASE).create_task(request)
    return json.loads(responses.calls[-1].request.body)


@responses.activate
def test_animating_a_grid_image_sends_the_job_the_image_number_and_the_flags() -> None:
    body = create(
        TaskRequest(
            operation="animate",
            mode="turbo",
            origin_task_id=GRID,
            parameters={"image": 3, "motion": "high", "resolution": "720p", "loop": True},
        ),
        "video-diffusion",
    )

    assert body == {
        "jobId": GRID,
        "imageNo": 2,
        "videoType": 1,
        "prompt": "--motion high --loop --turbo",
    }


@responses.activate
def test_animating_any_other_image_sends_its_link_first_in_the_prompt_with_an_end_frame() -> None:
    body = create(
        TaskRequest(
            operation="animate",
            image_urls=[IMAGE, END],
            parameters={
                "motion": "low",
                "resolution": "480p",
                "end_frame": True,
                "prompt": "waves",
            },
        ),
        "video-diffusion",
    )

    assert body == {"videoType": 0, "prompt": f"{IMAGE} waves --motion low --end {END}"}


@responses.activate
def test_extend_and_video_upscale_name_the_clip_from_zero() -> None:
    extend = create(
        TaskRequest(operation="extend", origin_task_id=GRID, parameters={"video": 2}),
        "extend-video",
    )
    upscale = create(
        TaskRequest(operation="video_upscale", origin_task_id=GRID, parameters={"video": 4}),
        "video-upscale",
    )

    assert extend == {"jobId": GRID, "videoNo": 1}
    assert upscale == {"jobId": GRID, "videoNo": 3}


@responses.activate
def test_retexture_and_remove_background_send_the_images_link() -> None:
    retexture = create(
        TaskRequest(operation="retexture", prompt="made of moss", image_urls=[IMAGE]), "retexture"
    )
    cut = create(TaskRequest(operation="remove_bg", image_urls=[IMAGE]), "remove-background")

    assert retexture == {"imgUrl": IMAGE, "remixPrompt": "made of moss"}
    assert cut == {"imgUrl": IMAGE}


CANVAS = {
    "canvas": {"width": 1600, "height": 900},
    "placed": {"width": 800, "height": 800, "x": 400, "y": 50},
    "mask_url": MASK,
}


@responses.activate
def test_an_edit_of_a_legnext_grid_goes_to_edit_and_of_any_other_image_to_upload_paint() -> None:
    edit = create(
        TaskRequest(
            operation="edit",
            prompt="a wider beach",
            origin_task_id=GRID,
            parameters={"image": 1, **CANVAS},
        ),
        "edit",
    )
    upload = create(
        TaskRequest(
            operation="edit", prompt="a wider beach", image_urls=[IMAGE], parameters=CANVAS
        ),
        "upload-paint",
    )

    shared = {
        "canvas": {"width": 1600, "height": 900},
        "imgPos": {"width": 800, "height": 800, "x": 400, "y": 50},
        "remixPrompt": "a wider beach",
        "mask": {"url": MASK},
    }
    assert edit == {"jobId": GRID, "imageNo": 0, **shared}
    assert upload == {"imgUrl": IMAGE, **shared}


@responses.activate
def test_edit_refused_for_an_account_not_whitelisted_says_the_plan_lacks_it() -> None:
    responses.post(f"{BASE}/v1/edit", json=load("error_edit_403", "legnext"), status=403)

    with pytest.raises(ProviderError) as refused:
        LegNext(api_key="k", base_url=BASE).create_task(
            TaskRequest(
                operation="edit", prompt="x", origin_task_id=GRID, parameters={"image": 1, **CANVAS}
            )
        )

    assert refused.value.message == NO_EDIT
    assert refused.value.message.startswith("Your LegNext plan does not include Edit")
    assert refused.value.status_code == 403 and not refused.value.retryable


def video_job(task_type: str, clips: int) -> dict[str, Any]:
    job = load("diffusion_completed", "legnext")
    job["task_type"] = task_type
    job["output"] = {
        "video_urls": [f"https://cdn.legnext.ai/v/{n}.mp4" for n in range(clips)],
        "seed": "",
    }
    return job


def test_a_video_jobs_clips_are_read_and_each_can_be_extended_and_upscaled() -> None:
    task = task_from_job(video_job("video_diffusion", 4))

    assert task.video_urls == [f"https://cdn.legnext.ai/v/{n}.mp4" for n in range(4)]
    assert (task.image_url, task.quadrant_urls) == ("", [])
    assert task.actions == [
        f"{kind}:{n}" for n in range(1, 5) for kind in ("extend", "video_upscale")
    ]


def test_an_upscaled_clip_offers_nothing_more() -> None:
    assert task_from_job(video_job("video_upscale", 1)).actions == []


@pytest.mark.parametrize(
    ("operation", "parameters", "mode", "dollars"),
    [
        ("animate", {"resolution": "480p"}, "fast", "0.480"),
        ("animate", {"resolution": "720p"}, "fast", "1.536"),
        ("animate", {"resolution": "720p"}, "turbo", "3.072"),
        ("extend", {"resolution": "720p"}, "fast", "1.536"),
        ("extend", {"resolution": "480p"}, "turbo", "0.960"),
        ("video_upscale", {}, "fast", "0.480"),
        ("retexture", {}, "fast", "0.120"),
        ("remove_bg", {}, "fast", "0.080"),
        ("edit", {}, "turbo", "0.240"),
    ],
)
def test_legnext_prices_video_by_resolution_and_mode(
    operation: str, parameters: dict[str, str], mode: str, dollars: str
) -> None:
    key = LegNext.price_key(operation, parameters)

    assert key in LegNext.priced_operations
    assert str(LegNext.default_prices[(mode, key)]) == dollars
