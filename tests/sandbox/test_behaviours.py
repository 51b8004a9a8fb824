"""Prompt markers (and SANDBOX_BEHAVIOURS) make the sandbox fail in every way a client
must survive."""

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from studio.sandbox import behaviours
from studio.sandbox.models import Task
from tests.sandbox.helpers import create_body

pytestmark = pytest.mark.django_db


def walk(api, clock, task_id: str, steps: int) -> list[tuple[str, int | None]]:
    """(status, progress) at each of the first `steps` steps of 1 second."""
    seen = []
    for _ in range(steps):
        task = api.task(task_id)
        seen.append((task["status"], task["output"] and task["output"]["progress"]))
        clock.advance(1)
    return seen


def test_markers_are_found_anywhere_and_in_any_spelling():
    found = behaviours.from_prompt("[sandbox:FAIL] a cat [sandbox: drop_webhooks] [sandbox:nope]")

    assert found == [behaviours.Behaviour.FAIL, behaviours.Behaviour.DROP_WEBHOOKS]


def test_the_prompt_is_echoed_with_its_markers(api):
    prompt = "a lighthouse [sandbox:slow] at night"

    assert api.create(prompt)["input"]["prompt"] == prompt


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_fail_goes_pending_then_processing_then_failed(api, clock):
    task_id = api.create("a vase [sandbox:fail]")["task_id"]

    assert walk(api, clock, task_id, 5) == [
        ("pending", None),
        ("processing", 0),
        ("processing", 25),
        ("failed", 25),
        ("failed", 25),
    ]
    task = api.task(task_id)
    assert task["error"]["code"] == 10000
    assert task["error"]["message"] == "the sandbox was told to fail this task"
    assert task["error"]["raw_message"]
    assert task["output"]["image_url"] == ""
    assert task["meta"]["usage"]["consume"] == 0
    assert task["meta"]["ended_at"] == "2026-05-01T12:00:03Z"


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_moderate_fails_at_the_first_processing_step_like_a_moderation_rejection(api, clock):
    task_id = api.create("something rude [sandbox:moderate]")["task_id"]

    assert walk(api, clock, task_id, 3) == [("pending", None), ("failed", 0), ("failed", 0)]
    error = api.task(task_id)["error"]
    assert error["message"] == "Banned prompt detected by moderation"
    assert "Banned prompt detected" in error["raw_message"]


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_slow_makes_every_step_five_times_longer(api, clock):
    task_id = api.create("a snail [sandbox:slow]")["task_id"]

    clock.advance(4.9)
    assert api.task(task_id)["status"] == "pending"
    clock.advance(0.1)
    assert api.task(task_id)["output"]["progress"] == 0
    clock.advance(25)
    assert api.task(task_id)["status"] == "completed"


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_never_finish_stays_processing_at_half_way(api, clock):
    task_id = api.create("an endless staircase [sandbox:never-finish]")["task_id"]
    clock.advance(3600)

    task = api.task(task_id)

    assert task["status"] == "processing"
    assert task["output"]["progress"] == 50
    assert len(task["output"]["intermediate_image_urls"]) == 1


@override_settings(SANDBOX_STEP_SECONDS=1)
def test_stay_pending_stays_pending_until_canceled(api, clock):
    task_id = api.create("wait for me [sandbox:stay-pending]")["task_id"]
    clock.advance(3600)

    assert api.task(task_id)["status"] == "pending"
    assert api.delete(task_id).status_code == 200
    assert api.task(task_id)["error"]["message"] == "task canceled"


@pytest.mark.parametrize("status", [401, 429, 500])
def test_http_markers_answer_that_status_every_time(api, status):
    body = create_body(f"a bridge [sandbox:http-{status}]")

    answers = [api.post(body) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [status, status]
    assert {answer.json()["code"] for answer in answers} == {status}
    assert Task.objects.count() == 0


def test_a_429_says_when_to_retry(api):
    response = api.post(create_body("a bridge [sandbox:http-429]"))

    assert response["Retry-After"] == "1"


@pytest.mark.parametrize("status", [429, 500])
def test_once_markers_fail_only_the_first_call_with_that_prompt(api, status):
    body = create_body(f"a tower [sandbox:http-{status}-once]")

    first, second, third = (api.post(body) for _ in range(3))

    assert first.status_code == status
    assert (second.status_code, third.status_code) == (200, 200)
    other_prompt = create_body(f"a different tower [sandbox:http-{status}-once]")
    assert api.post(other_prompt).status_code == status


def test_a_once_429_says_when_to_retry(api):
    response = api.post(create_body("a tower [sandbox:http-429-once]"))

    assert response.status_code == 429
    assert response["Retry-After"] == "1"


@override_settings(SANDBOX_STEP_SECONDS=1, SANDBOX_BEHAVIOURS=["fail"])
def test_the_setting_applies_a_behaviour_to_every_task(api, clock):
    task_id = api.create("an innocent prompt")["task_id"]
    clock.advance(10)

    assert api.task(task_id)["status"] == "failed"


@override_settings(SANDBOX_BEHAVIOURS=["drop_webhooks", "Never-Finish"])
def test_the_setting_accepts_underscores_and_any_case(api):
    task = Task.objects.get(task_id=api.create()["task_id"])

    assert task.behaviours == ["drop-webhooks", "never-finish"]


@override_settings(SANDBOX_BEHAVIOURS=["fail", "explode"])
def test_an_unknown_behaviour_in_the_setting_fails_the_system_check():
    errors = [message for message in run_checks() if message.id == "sandbox.E001"]

    assert len(errors) == 1
    assert "'explode'" in errors[0].msg


def test_an_ambiguous_create_makes_the_task_but_answers_500_without_its_id(api):
    response = api.post(create_body("a harbour [sandbox:ambiguous-create]"))

    assert response.status_code == 500
    assert "task_id" not in response.json()["data"]
    task = Task.objects.get()
    assert api.task(str(task.task_id))["status"] in ("pending", "processing", "completed")


class Sleeps:
    """Stands in for the sandbox's `time`: records each wait, and what existed then."""

    def __init__(self):
        self.waits: list[tuple[float, int]] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append((seconds, Task.objects.count()))


@pytest.mark.parametrize(
    ("prompt", "seconds"),
    [("a late answer [sandbox:slow-create-7]", 7.0), ("a late answer [sandbox:slow-create]", 40.0)],
)
def test_a_slow_create_makes_the_task_first_and_answers_late(api, monkeypatch, prompt, seconds):
    sleeps = Sleeps()
    monkeypatch.setattr("studio.sandbox.views.time", sleeps)

    response = api.post(create_body(prompt))

    assert sleeps.waits == [(seconds, 1)]  # the task existed while the answer waited
    assert response.status_code == 200
    assert response.json()["data"]["task_id"] == str(Task.objects.get().task_id)


@override_settings(SANDBOX_SLOW_CREATE_SECONDS=3)
def test_the_setting_says_how_late_a_slow_create_answers(api, monkeypatch):
    sleeps = Sleeps()
    monkeypatch.setattr("studio.sandbox.views.time", sleeps)

    api.post(create_body("[sandbox:slow-create] a pier"))

    assert sleeps.waits == [(3.0, 1)]
