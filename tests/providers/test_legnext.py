"""The LegNext adapter against payloads recorded from its protocol
(../shared/legnext-protocol.md): bodies it sends, jobs it reads, errors of both shapes."""

import json
from typing import Any

import pytest
import requests
import responses

from studio.generation.actions import split_description
from studio.providers.base import OutcomeUnknown, ProviderError, TaskRequest
from studio.providers.legnext import LegNext, action_from_name, task_from_job
from tests.payloads import load

BASE = "https://legnext.example/api"
JOB_ID = "8f1d6a62-3c1e-4b7a-9d54-6c2a0f1b9e11"
GRID_ID = "11111111-2222-4333-8444-555555555555"


def make_client() -> LegNext:
    return LegNext(api_key="lk-5678", base_url=BASE)


def sent(call: int = 0) -> dict[str, Any]:
    return json.loads(responses.calls[call].request.body)


@responses.activate
def test_an_imagine_posts_the_prompt_with_its_ratio_and_speed_as_flags() -> None:
    responses.post(f"{BASE}/v1/diffusion", json=load("diffusion_pending", "legnext"))

    task = make_client().create_task(
        TaskRequest(
            operation="imagine",
            prompt="a lighthouse --v 7",
            aspect_ratio="16:9",
            mode="turbo",
            webhook_url="https://studio.example/webhooks/legnext/1/tok/",
            webhook_secret="never-sent",
        )
    )

    assert sent() == {
        "text": "a lighthouse --v 7 --ar 16:9 --turbo",
        "callback": "https://studio.example/webhooks/legnext/1/tok/",
    }
    assert responses.calls[0].request.headers["x-api-key"] == "lk-5678"
    assert (task.task_id, task.status, task.usage["frozen"]) == (JOB_ID, "pending", 80)


@responses.activate
def test_fast_is_legnexts_default_and_a_ratio_in_the_prompt_is_kept() -> None:
    responses.post(f"{BASE}/v1/diffusion", json=load("diffusion_pending", "legnext"))

    make_client().create_task(
        TaskRequest(operation="imagine", prompt="a fox --ar 2:3", aspect_ratio="2:3")
    )

    assert sent() == {"text": "a fox --ar 2:3"}


@pytest.mark.parametrize(
    ("operation", "parameters", "endpoint", "body"),
    [
        ("upscale", {"image": 2, "type": "subtle"}, "upscale", {"imageNo": 1, "type": 0}),
        ("upscale", {"image": 4, "type": "creative"}, "upscale", {"imageNo": 3, "type": 1}),
        ("variation", {"image": 1, "strength": "strong"}, "variation", {"imageNo": 0, "type": 1}),
        ("variation", {"image": 3, "strength": "subtle"}, "variation", {"imageNo": 2, "type": 0}),
        # The docs' direction codes (the SDK's enum is wrong): 0 down, 1 right, 2 up, 3 left.
        ("pan", {"image": 1, "direction": "down"}, "pan", {"imageNo": 0, "direction": 0}),
        ("pan", {"image": 1, "direction": "right"}, "pan", {"imageNo": 0, "direction": 1}),
        ("pan", {"image": 1, "direction": "up"}, "pan", {"imageNo": 0, "direction": 2}),
        ("pan", {"image": 1, "direction": "left"}, "pan", {"imageNo": 0, "direction": 3}),
        ("outpaint", {"image": 2, "zoom": "1.5"}, "outpaint", {"imageNo": 1, "scale": 1.5}),
        ("outpaint", {"image": 2, "zoom": "1.3"}, "outpaint", {"imageNo": 1, "scale": 1.3}),
        (
            "inpaint",
            {"image": 3, "mask_url": "https://studio.example/m.png", "prompt": "a hat"},
            "inpaint",
            {"imageNo": 2, "mask": {"url": "https://studio.example/m.png"}, "remixPrompt": "a hat"},
        ),
        (
            "remix",
            {"image": 2, "mode": "subtle", "prompt": "in winter"},
            "remix",
            {"imageNo": 1, "mode": 1, "remixPrompt": "in winter"},
        ),
        ("enhance", {"image": 4}, "enhance", {"imageNo": 3}),
        ("reroll", {}, "reroll", {}),
    ],
)
@responses.activate
def test_a_follow_up_acts_on_the_grid_job_and_its_zero_based_image(
    operation: str, parameters: dict[str, Any], endpoint: str, body: dict[str, Any]
) -> None:
    responses.post(f"{BASE}/v1/{endpoint}", json=load("diffusion_pending", "legnext"))

    make_client().create_task(
        TaskRequest(operation=operation, parameters=parameters, origin_task_id=GRID_ID)
    )

    extra = {"scale": 1.5} if operation == "pan" else {}
    assert sent() == {"jobId": GRID_ID, **body, **extra}


@responses.activate
def test_describe_blend_and_shorten_send_the_field_names_of_the_sdk_and_openapi_file() -> None:
    for endpoint in ("describe", "blend", "shorten"):
        responses.post(f"{BASE}/v1/{endpoint}", json=load("diffusion_pending", "legnext"))
    client = make_client()

    client.create_task(TaskRequest(operation="describe", image_urls=["https://s.example/a.png"]))
    client.create_task(
        TaskRequest(
            operation="blend",
            image_urls=["https://s.example/a.png", "https://s.example/b.png"],
            parameters={"dimension": "portrait"},
        )
    )
    client.create_task(TaskRequest(operation="shorten", prompt="a long prompt"))

    assert sent(0) == {"imgUrl": "https://s.example/a.png"}
    assert sent(1) == {
        "imgUrls": ["https://s.example/a.png", "https://s.example/b.png"],
        "aspect_ratio": "2:3",
    }
    assert sent(2) == {"prompt": "a long prompt"}


def test_a_completed_grid_gives_its_four_images_seed_and_follow_ups_per_image() -> None:
    task = task_from_job(load("diffusion_completed", "legnext"))

    assert task.status == "completed"
    assert task.image_url.endswith("_grid.png")
    assert [url.rsplit("_", 1)[1] for url in task.quadrant_urls] == [
        "0.png",
        "1.png",
        "2.png",
        "3.png",
    ]
    assert task.seed == "1234567890"
    assert task.usage == {"type": "point", "frozen": 80, "consume": 80}
    assert task.actions[0] == "reroll"
    for image in (1, 2, 3, 4):
        for name in ("upscale_subtle", "upscale_creative", "vary_subtle", "vary_strong"):
            assert f"{name}:{image}" in task.actions
        for name in ("pan_left", "zoom_2", "zoom_custom", "region", "remix_strong"):
            assert f"{name}:{image}" in task.actions
    assert not any(name.startswith("enhance") for name in task.actions)


def test_only_the_images_legnext_lists_are_offered() -> None:
    job = load("diffusion_completed", "legnext")
    job["output"]["available_actions"] = {
        "upscale": [1],
        "reroll": False,
        "enhance": [0],
        "edit": [3],
    }

    # Any image of a grid can be animated (video-diffusion takes the job and image).
    assert task_from_job(job).actions == [
        "enhance:1",
        "upscale_subtle:2",
        "upscale_creative:2",
        "edit:4",
        *[f"animate:{n}" for n in range(1, 5)],
    ]


def test_an_upscale_is_one_image_with_nothing_more_to_offer() -> None:
    task = task_from_job(load("upscale_completed", "legnext"))

    assert (task.image_url, task.quadrant_urls, task.actions) == (
        "https://cdn.legnext.ai/temp/1765969900123.png",
        [],
        [],
    )


def test_describes_four_prompts_come_from_prompt_en() -> None:
    task = task_from_job(load("describe_completed", "legnext"))

    prompts = split_description(task.description)
    assert len(prompts) == 4
    assert prompts[0] == "a red fox in deep snow, soft morning light --ar 3:4"


def test_shorten_gives_the_shorter_prompt_and_the_words_that_matter() -> None:
    task = task_from_job(load("shorten_completed", "legnext"))

    assert task.description == "painting of a lighthouse on a cliff at sunset, dramatic clouds"
    assert task.prompts == ["lighthouse", "cliff", "sunset", "dramatic clouds"]


def test_snake_case_task_types_and_empty_times_are_read() -> None:
    task = task_from_job(load("remove_background_completed", "legnext"))

    assert (task.task_type, task.status) == ("remove-background", "completed")


def test_a_failed_job_says_legnexts_reason() -> None:
    task = task_from_job(load("diffusion_failed", "legnext"))

    assert (task.status, task.error, task.error_code) == (
        "failed",
        "Your prompt was blocked by content moderation.",
        10000,
    )


@responses.activate
def test_a_rejected_key_is_a_refusal_in_the_flat_error_shape() -> None:
    responses.post(f"{BASE}/v1/diffusion", json=load("error_401", "legnext"), status=401)

    with pytest.raises(ProviderError) as caught:
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert caught.value.status_code == 401
    assert caught.value.key_refused
    assert "Failed to verify api key" in caught.value.message


@responses.activate
def test_a_refusal_in_the_job_shaped_error_says_the_nested_message() -> None:
    responses.post(f"{BASE}/v1/upscale", json=load("error_edit_403", "legnext"), status=403)

    with pytest.raises(ProviderError) as caught:
        make_client().create_task(
            TaskRequest(
                operation="upscale", parameters={"image": 1, "type": "subtle"}, origin_task_id="x"
            )
        )

    assert caught.value.status_code == 403
    assert "only available for whitelisted accounts" in caught.value.message


@responses.activate
def test_bad_parameters_are_a_refusal_that_will_not_pass() -> None:
    responses.post(f"{BASE}/v1/diffusion", json=load("error_400", "legnext"), status=400)

    with pytest.raises(ProviderError) as caught:
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert (caught.value.retryable, caught.value.message) == (False, "Invalid request parameters")


@responses.activate
def test_no_credits_is_a_refusal_of_the_key() -> None:
    responses.post(
        f"{BASE}/v1/diffusion", json={"code": 402, "message": "insufficient credits"}, status=402
    )

    with pytest.raises(ProviderError) as caught:
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert caught.value.key_refused


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": {"code": 500, "message": "internal error"}},
        {"status": 502, "body": "bad gateway"},
        {"status": 200, "json": {"status": "pending"}},
        {"status": 200, "body": "not json"},
    ],
)
@responses.activate
def test_an_unclear_answer_to_a_create_leaves_its_outcome_unknown(answer: dict[str, Any]) -> None:
    responses.post(f"{BASE}/v1/diffusion", **answer)

    with pytest.raises(OutcomeUnknown):
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert len(responses.calls) == 1


@responses.activate
def test_a_server_error_that_names_its_job_gives_the_job() -> None:
    responses.post(f"{BASE}/v1/diffusion", json=load("diffusion_pending", "legnext"), status=500)

    task = make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert task.task_id == JOB_ID


@responses.activate
def test_a_create_whose_answer_times_out_is_unknown_and_sent_once() -> None:
    responses.post(f"{BASE}/v1/diffusion", body=requests.Timeout("slow"))

    with pytest.raises(OutcomeUnknown):
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert len(responses.calls) == 1


@responses.activate
def test_a_rate_limit_is_a_refusal_that_may_pass_with_the_hint() -> None:
    responses.post(
        f"{BASE}/v1/diffusion",
        json={"code": 429, "message": "too many requests"},
        status=429,
        headers={"Retry-After": "3"},
    )

    with pytest.raises(ProviderError) as caught:
        make_client().create_task(TaskRequest(operation="imagine", prompt="x"))

    assert (caught.value.retryable, caught.value.retry_after) == (True, 3)


@responses.activate
def test_a_job_is_read_from_its_own_route() -> None:
    responses.get(f"{BASE}/v1/job/{JOB_ID}", json=load("diffusion_completed", "legnext"))

    assert make_client().get_task(JOB_ID).status == "completed"


@responses.activate
def test_an_unknown_job_is_a_provider_error() -> None:
    responses.get(f"{BASE}/v1/job/nope", json={"code": 404, "message": "not found"}, status=404)

    with pytest.raises(ProviderError) as caught:
        make_client().get_task("nope")

    assert caught.value.status_code == 404


@responses.activate
def test_the_balance_is_read_in_dollars_and_credits() -> None:
    responses.get(f"{BASE}/account/balance", json=load("balance", "legnext"))

    balance = make_client().account_info()

    assert balance.summary == "$72.05 · 71,000 credits + 1,048 bonus points"


def test_legnext_cannot_cancel_and_says_so() -> None:
    with pytest.raises(ProviderError, match="LegNext cannot cancel"):
        make_client().cancel_task(JOB_ID)


def test_a_callback_is_read_enveloped_or_bare() -> None:
    job = load("diffusion_completed", "legnext")

    enveloped = LegNext.webhook_task({"timestamp": 1765969761, "data": job})
    bare = LegNext.webhook_task(job)

    assert enveloped == bare
    assert enveloped.task_id == JOB_ID
    with pytest.raises(ValueError):
        LegNext.webhook_task({"timestamp": 1, "data": {"status": "completed"}})


def test_a_callback_is_authentic_only_with_the_jobs_token_in_its_url() -> None:
    assert LegNext.webhook_is_authentic(headers={}, token="job-secret", secret="job-secret")
    assert not LegNext.webhook_is_authentic(headers={}, token="guess", secret="job-secret")
    assert not LegNext.webhook_is_authentic(headers={}, token="", secret="")


@pytest.mark.parametrize(
    ("name", "operation", "label", "image", "needs"),
    [
        ("upscale_subtle:2", "upscale", "Upscale (Subtle)", 2, ""),
        ("vary_strong:1", "variation", "Vary (Strong)", 1, ""),
        ("pan_up:3", "pan", "↑", 3, ""),
        ("zoom_2:4", "outpaint", "Zoom Out 2×", 4, ""),
        ("zoom_custom:4", "outpaint", "Custom Zoom…", 4, "zoom"),
        ("region:1", "inpaint", "Vary (Region)", 1, "mask"),
        ("remix_subtle:2", "remix", "Remix (Subtle)", 2, "prompt"),
        ("enhance:3", "enhance", "Enhance", 3, ""),
        ("reroll", "reroll", "Reroll", None, ""),
    ],
)
def test_each_follow_up_name_is_a_button(
    name: str, operation: str, label: str, image: int | None, needs: str
) -> None:
    action = action_from_name(name)

    assert action is not None
    assert (action.operation, action.label, action.image, action.needs) == (
        operation,
        label,
        image,
        needs,
    )


@pytest.mark.parametrize(
    "name", ["upscale_subtle:0", "upscale_subtle:5", "pan_diag:1", "animate:0"]
)
def test_names_studio_does_not_offer_are_not_buttons(name: str) -> None:
    assert action_from_name(name) is None
