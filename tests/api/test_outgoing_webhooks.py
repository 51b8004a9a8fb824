"""Webhooks Studio sends to API callers: a task made with `config.webhook_config` is
POSTed to the caller's endpoint as `{timestamp, data}` with their secret on each change,
forward only, retried with backoff, never to an address inside Studio's network.

The live tests drive a real Studio (web, worker, provider sandbox) with plain `requests`
and receive its webhooks on 127.0.0.1 under a made-up name the server pins there
(FETCH_PINNED_HOSTS in tests/conftest.py). The in-process tests call the delivery
service against the same kind of receiver."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import pytest
import requests
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.accounts.crypto import encrypt
from studio.api import webhooks
from studio.api.models import ApiTask, DeliveryStatus, OutgoingWebhook
from studio.api.services import NewToken, token_create
from studio.generation import live
from studio.generation.models import Job
from studio.inputs import fetch
from tests.conftest import StudioServer, wait_for
from tests.factories import make_job, make_key
from tests.generation.helpers import TASK_ID, post_webhook, webhook_body

RECEIVER_HOST = "hooks.studio.test"
SECRET = "whsec-our-farm-7f3a"
RANK = {"staged": 0, "pending": 1, "processing": 2, "completed": 3, "failed": 3}


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    answered: int

    @property
    def state(self) -> tuple[int, int]:
        data = self.body["data"]
        return RANK[data["status"]], data["output"]["progress"]


@dataclass
class Receiver:
    """The caller's endpoint: answers each POST with the next of `answers` (then 200)."""

    port: int
    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Cleared: every answer waits until it is set again (a receiver that hangs).
    open: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.open.set()

    @property
    def url(self) -> str:
        return f"http://{RECEIVER_HOST}:{self.port}/hook"

    def answer(
        self, status: int, *, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        self.answers.append((status, headers or {}, body))

    def received(self) -> list[Post]:
        with self.lock:
            return list(self.posts)

    def delivered(self) -> list[Post]:
        return [post for post in self.received() if post.answered == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            hook = state["receiver"]
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length))
            with hook.lock:
                status, headers, text = hook.answers.pop(0) if hook.answers else (200, {}, b"")
                hook.posts.append(
                    Post(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status)
                )
            hook.open.wait(timeout=30)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(port=http.server_address[1])
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        http.shutdown()
        http.server_close()


@pytest.fixture
def token(bob: Any, project: Any) -> NewToken:
    return token_create(user=bob, project=project, name="render farm")


def create_task(
    server: StudioServer, token: NewToken, *, prompt: str, endpoint: str
) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/task",
        json={
            "model": "midjourney",
            "task_type": "imagine",
            "input": {"prompt": prompt, "aspect_ratio": "1:1", "process_mode": "fast"},
            "config": {"webhook_config": {"endpoint": endpoint, "secret": SECRET}},
        },
        headers={"x-api-key": token.secret},
        timeout=30,
    )


def ended(receiver: Receiver) -> Post | None:
    done = [p for p in receiver.delivered() if p.body["data"]["status"] in ("completed", "failed")]
    return done[-1] if done else None


def assert_only_forward(posts: list[Post]) -> None:
    """Each state once, never an older one after a newer one."""
    states = [post.state for post in posts]
    assert states == sorted(set(states)), states


# --- against a real Studio --------------------------------------------------------------


def test_the_caller_receives_each_change_of_its_task_with_its_secret(
    server: StudioServer, token: NewToken, receiver: Receiver
) -> None:
    response = create_task(server, token, prompt="a lighthouse at dusk", endpoint=receiver.url)
    assert response.status_code == 200, response.text
    task_id = response.json()["data"]["task_id"]

    last = wait_for(lambda: ended(receiver), what="the webhook of the finished task")

    posts = receiver.received()
    assert len(posts) >= 2
    assert {post.path for post in posts} == {"/hook"}
    assert all(post.headers["x-webhook-secret"] == SECRET for post in posts)
    assert all(post.headers["content-type"] == "application/json" for post in posts)
    assert all(set(post.body) == {"timestamp", "data"} for post in posts)
    assert all(post.body["data"]["task_id"] == task_id for post in posts)
    assert_only_forward(posts)
    data = last.body["data"]
    assert data["status"] == "completed"
    assert data["config"]["webhook_config"] == {"endpoint": receiver.url, "secret": SECRET}
    assert abs(last.body["timestamp"] - timezone.now().timestamp()) < 120
    # The links in it work without a cookie: the caller downloads the images.
    grid = requests.get(data["output"]["image_url"], timeout=10)
    assert grid.status_code == 200 and grid.headers["Content-Type"].startswith("image/")
    assert len(data["output"]["temporary_image_urls"]) == 4
    for url in data["output"]["temporary_image_urls"]:
        assert requests.get(url, timeout=10).status_code == 200
    # What Studio keeps of each delivery never holds the secret.
    kept = wait_for(
        lambda: (
            (rows := list(OutgoingWebhook.objects.filter(api_task__task_id=task_id)))
            and all(row.status != DeliveryStatus.PENDING for row in rows)
            and rows
        ),
        what="every delivery settled",
    )
    assert all(SECRET not in json.dumps(row.payload) for row in kept)
    assert {row.task_status for row in kept if row.status == DeliveryStatus.DELIVERED} >= {
        "completed"
    }


@pytest.mark.parametrize("marker", ["[sandbox:duplicate-webhooks]", "[sandbox:reorder-webhooks]"])
def test_the_caller_gets_each_change_once_and_never_backwards_whatever_the_provider_sends(
    server: StudioServer, token: NewToken, receiver: Receiver, marker: str
) -> None:
    response = create_task(server, token, prompt=f"a harbour {marker}", endpoint=receiver.url)
    assert response.status_code == 200, response.text

    wait_for(lambda: ended(receiver), what="the webhook of the finished task")

    posts = receiver.received()
    assert_only_forward(posts)
    assert posts[-1].body["data"]["status"] == "completed"


def test_a_refused_delivery_is_sent_again_until_the_caller_takes_it(
    server: StudioServer, token: NewToken, receiver: Receiver
) -> None:
    receiver.answer(500, body=b"warming up")
    receiver.answer(500, body=b"warming up")

    response = create_task(server, token, prompt="a windmill", endpoint=receiver.url)
    assert response.status_code == 200, response.text
    task_id = response.json()["data"]["task_id"]

    wait_for(lambda: ended(receiver), what="the finished task, after two refusals")

    assert [post.answered for post in receiver.received()[:2]] == [500, 500]
    assert_only_forward(receiver.delivered())
    rows = wait_for(
        lambda: (
            (rows := list(OutgoingWebhook.objects.filter(api_task__task_id=task_id)))
            and all(row.status != DeliveryStatus.PENDING for row in rows)
            and rows
        ),
        what="every delivery settled",
    )
    # Every POST the caller saw is an attempt Studio counted.
    assert sum(row.attempts for row in rows) == len(receiver.received())
    assert any(row.attempts > 1 or row.status == DeliveryStatus.SUPERSEDED for row in rows)


def test_a_canceled_task_reaches_the_caller_as_failed_with_the_reason(
    server: StudioServer, token: NewToken, receiver: Receiver
) -> None:
    response = create_task(
        server, token, prompt="a quiet street [sandbox:stay-pending]", endpoint=receiver.url
    )
    task_id = response.json()["data"]["task_id"]
    wait_for(
        lambda: any(p.body["data"]["status"] == "pending" for p in receiver.delivered()),
        what="the task waiting at the provider",
    )

    canceled = requests.delete(
        f"{server.url}/api/v1/task/{task_id}", headers={"x-api-key": token.secret}, timeout=10
    )
    assert canceled.status_code == 200, canceled.text

    last = wait_for(lambda: ended(receiver), what="the canceled task's webhook")
    assert last.body["data"]["status"] == "failed"
    assert last.body["data"]["error"]["message"]
    assert_only_forward(receiver.received())


def test_an_endpoint_inside_a_private_network_is_refused_when_the_task_is_made(
    server: StudioServer, token: NewToken
) -> None:
    response = create_task(server, token, prompt="a lighthouse", endpoint="http://10.0.0.1/x")

    assert response.status_code == 400
    message = response.json()["message"]
    assert "webhook endpoint cannot be used" in message
    assert "private network" in message
    assert not ApiTask.objects.exists()


# --- the delivery service, in this process ----------------------------------------------


@pytest.fixture
def pinned(settings: Any) -> None:
    settings.FETCH_PINNED_HOSTS = {RECEIVER_HOST: "127.0.0.1"}


def api_task_for(token: NewToken, endpoint: str, **job_fields: Any) -> ApiTask:
    job_fields.setdefault("status", "processing")
    job_fields.setdefault("progress", 25)
    job = make_job(project=token.token.project, user=token.token.user, **job_fields)
    return ApiTask.objects.create(
        job=job,
        token=token.token,
        task_type="imagine",
        webhook_endpoint=endpoint,
        webhook_secret=encrypt(SECRET),
    )


def move(api_task: ApiTask, **changes: Any) -> None:
    Job.objects.filter(pk=api_task.job_id).update(**changes)


def make_due(delivery: OutgoingWebhook) -> None:
    OutgoingWebhook.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_change_is_recorded_once_without_the_secret_and_never_backwards(
    token: NewToken,
) -> None:
    api_task = api_task_for(token, "https://hooks.example.com/studio")

    first = webhooks.webhook_record(job_id=api_task.job_id)
    again = webhooks.webhook_record(job_id=api_task.job_id)
    move(api_task, progress=10)  # news older than what was recorded
    older = webhooks.webhook_record(job_id=api_task.job_id)
    move(api_task, progress=50)
    newer = webhooks.webhook_record(job_id=api_task.job_id)

    assert first is not None and again is None and older is None and newer is not None
    assert (first.task_status, first.progress) == ("processing", 25)
    assert (newer.task_status, newer.progress) == ("processing", 50)
    assert "secret" not in first.payload["config"]["webhook_config"]
    assert SECRET not in json.dumps(first.payload)


def test_a_job_without_a_webhook_endpoint_records_nothing(token: NewToken) -> None:
    api_task = api_task_for(token, "")

    assert webhooks.webhook_record(job_id=api_task.job_id) is None
    assert not OutgoingWebhook.objects.exists()


def changes_told(job: Job) -> int:
    """The changes of `job` queued for its API caller (studio.api.tasks.job_changed)."""
    told = DBTaskResult.objects.filter(task_path=live.API_JOB_CHANGED_TASK)
    return sum(1 for row in told if row.args_kwargs["args"] == [job.pk])


@pytest.mark.parametrize("endpoint", ["https://hooks.example.com/studio", ""])
def test_each_change_a_provider_webhook_brings_is_passed_on_to_a_caller_who_asked(
    token: NewToken, client: Client, endpoint: str, django_capture_on_commit_callbacks: Any
) -> None:
    job = api_task_for(
        token, endpoint, status="submitted", progress=0, provider_task_id=TASK_ID
    ).job

    with django_capture_on_commit_callbacks(execute=True):
        started = post_webhook(
            client, job, webhook_body("task_processing", output={"progress": 45})
        )
    with django_capture_on_commit_callbacks(execute=True):
        further = post_webhook(
            client, job, webhook_body("task_processing", output={"progress": 60})
        )
    with django_capture_on_commit_callbacks(execute=True):
        live.push_job(job.pk)  # a change of its card (the results stored, say)

    assert started.status_code == further.status_code == 200
    job.refresh_from_db()
    assert job.progress == 60
    # The card's move, the progress alone, the card again: each one change for the caller.
    assert changes_told(job) == (3 if endpoint else 0)


def test_a_task_made_through_the_api_tells_its_caller_of_its_first_state(
    token: NewToken,
    client: Client,
    pinned: None,
    acme: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_key(team=acme)
    endpoint = f"https://{RECEIVER_HOST}/hook"  # nothing is sent here: only queued

    with django_capture_on_commit_callbacks(execute=True):  # its first card, once committed
        response = client.post(
            "/api/v1/task",
            data=json.dumps(
                {
                    "model": "midjourney",
                    "task_type": "imagine",
                    "input": {"prompt": "a kite over the dunes", "process_mode": "fast"},
                    "config": {"webhook_config": {"endpoint": endpoint, "secret": SECRET}},
                }
            ),
            content_type="application/json",
            headers={"x-api-key": token.secret},
        )

    assert response.status_code == 200, response.content
    job = Job.objects.get(api_task__task_id=response.json()["data"]["task_id"])
    assert changes_told(job) == 1


def test_a_refused_delivery_is_retried_with_backoff_and_the_same_body(
    token: NewToken, receiver: Receiver, pinned: None, settings: Any
) -> None:
    settings.API_WEBHOOK_BACKOFF_SECONDS = 60
    receiver.answer(500)
    receiver.answer(503)
    api_task = api_task_for(token, receiver.url)
    delivery = webhooks.webhook_record(job_id=api_task.job_id)
    assert delivery is not None

    webhooks.webhooks_deliver(api_task_id=api_task.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    assert delivery.error == "The endpoint answered HTTP 500."
    wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=55) < wait <= timedelta(seconds=60)
    webhooks.webhooks_deliver(api_task_id=api_task.pk)  # not due yet: nothing is sent
    assert len(receiver.received()) == 1

    make_due(delivery)
    webhooks.webhooks_deliver(api_task_id=api_task.pk)
    delivery.refresh_from_db()
    wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=235) < wait <= timedelta(seconds=240)  # 60 × 4

    make_due(delivery)
    webhooks.webhooks_deliver(api_task_id=api_task.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 3, 200)
    posts = receiver.received()
    assert [post.answered for post in posts] == [500, 503, 200]
    assert posts[0].body == posts[1].body == posts[2].body
    assert posts[0].headers["x-webhook-secret"] == SECRET


def test_studio_gives_up_after_the_last_attempt_and_says_why(
    token: NewToken, receiver: Receiver, pinned: None, settings: Any
) -> None:
    settings.API_WEBHOOK_BACKOFF_SECONDS = 0
    settings.API_WEBHOOK_ATTEMPTS = 2
    receiver.answer(500, body=b"down for\n maintenance")
    receiver.answer(500, body=b"down for\n maintenance")
    api_task = api_task_for(token, receiver.url)
    webhooks.webhook_record(job_id=api_task.job_id)

    webhooks.webhooks_deliver(api_task_id=api_task.pk)

    delivery = OutgoingWebhook.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 2
    assert delivery.error == (
        "The endpoint answered HTTP 500: down for maintenance (tried 2 times; Studio gave up)"
    )
    assert len(receiver.received()) == 2


def test_a_redirect_is_a_failed_delivery_and_is_not_followed(
    token: NewToken, receiver: Receiver, pinned: None
) -> None:
    receiver.answer(302, headers={"Location": f"{receiver.url}/elsewhere"})
    api_task = api_task_for(token, receiver.url)
    webhooks.webhook_record(job_id=api_task.job_id)

    webhooks.webhooks_deliver(api_task_id=api_task.pk)

    delivery = OutgoingWebhook.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_code == 302
    assert "does not follow redirects" in delivery.error
    assert [post.path for post in receiver.received()] == ["/hook"]


def test_an_older_state_is_skipped_once_a_newer_one_went_out(
    token: NewToken, receiver: Receiver, pinned: None, settings: Any
) -> None:
    settings.API_WEBHOOK_BACKOFF_SECONDS = 60
    receiver.answer(500)
    api_task = api_task_for(token, receiver.url)
    older = webhooks.webhook_record(job_id=api_task.job_id)
    move(api_task, progress=75)
    newer = webhooks.webhook_record(job_id=api_task.job_id)
    assert older is not None and newer is not None

    webhooks.webhooks_deliver(api_task_id=api_task.pk)  # the older one is refused
    make_due(older)
    webhooks.webhooks_deliver(api_task_id=api_task.pk)

    older.refresh_from_db()
    newer.refresh_from_db()
    assert newer.status == DeliveryStatus.DELIVERED
    assert older.status == DeliveryStatus.SUPERSEDED
    assert [(post.state, post.answered) for post in receiver.received()] == [
        ((2, 25), 500),
        ((2, 75), 200),
    ]


def test_no_delivery_goes_out_while_another_of_the_task_is_on_its_way(
    token: NewToken, receiver: Receiver, pinned: None
) -> None:
    api_task = api_task_for(token, receiver.url)
    sending = webhooks.webhook_record(job_id=api_task.job_id)
    assert sending is not None
    OutgoingWebhook.objects.filter(pk=sending.pk).update(
        attempts=1, sending_until=timezone.now() + timedelta(seconds=20)
    )
    move(api_task, progress=75)
    webhooks.webhook_record(job_id=api_task.job_id)

    webhooks.webhooks_deliver(api_task_id=api_task.pk)

    assert receiver.received() == []


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.1.2.3"])
def test_a_name_that_resolves_inside_the_network_at_send_time_is_never_reached(
    token: NewToken, receiver: Receiver, address: str
) -> None:
    # Checked without DNS when the task was made; DNS now points inside (rebinding).
    endpoint = f"http://hooks.example.com:{receiver.port}/hook"
    api_task = api_task_for(token, endpoint)
    webhooks.webhook_record(job_id=api_task.job_id)

    with (
        mock.patch.object(fetch, "resolve", autospec=True, return_value=[address]) as resolve,
        mock.patch.object(fetch.socket, "create_connection", autospec=True) as connect,
    ):
        webhooks.webhooks_deliver(api_task_id=api_task.pk)

    resolve.assert_called_once_with("hooks.example.com", receiver.port)
    connect.assert_not_called()
    assert receiver.received() == []
    delivery = OutgoingWebhook.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error.startswith("The endpoint points to a private address")
    assert "private network" in delivery.error


def test_a_post_reads_only_the_start_of_the_answer(receiver: Receiver, pinned: None) -> None:
    receiver.answer(500, body=b"x" * 1_000_000)

    answer = fetch.post_json(receiver.url, b"{}", headers={}, timeout=5)

    assert answer.status == 500
    assert len(answer.body) == fetch.POST_ANSWER_MAX_BYTES


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(
    token: NewToken, receiver: Receiver, pinned: None, settings: Any
) -> None:
    settings.API_WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.open.clear()
    api_task = api_task_for(token, receiver.url)
    webhooks.webhook_record(job_id=api_task.job_id)

    try:
        webhooks.webhooks_deliver(api_task_id=api_task.pk)
    finally:
        receiver.open.set()

    delivery = OutgoingWebhook.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.error == "The link did not answer within 0.5 seconds."
    assert delivery.sending_until is None
