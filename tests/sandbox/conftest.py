import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from studio.sandbox import images, recipes, timeline
from tests.sandbox.helpers import LegNextApi, SandboxApi


@pytest.fixture
def api(client) -> SandboxApi:
    return SandboxApi(client)


@pytest.fixture
def legnext(client) -> LegNextApi:
    """A LegNext client of the sandbox (alice's key)."""
    return LegNextApi(client)


@pytest.fixture
def fresh_image_cache() -> None:
    """Forget every rendered image. Not needed for correctness (the caches are keyed by
    everything a picture depends on, and drawing is deterministic), so tests share them
    and only a test about redrawing clears them."""
    images.clear_cache()
    recipes.forget_results()


@pytest.fixture(autouse=True)
def webhook_threads_finish() -> Iterator[None]:
    """A delivery or fetch thread must not outlive its test: the next test may forbid
    the database, or have flushed it."""
    yield
    for thread in threading.enumerate():
        if thread.name.startswith(("sandbox-webhooks-", "sandbox-fetch-", "sandbox-draw-ahead")):
            thread.join(timeout=5)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The sandbox's clock, frozen until the test moves it."""
    frozen = Clock()
    monkeypatch.setattr(timeline, "now", frozen)
    return frozen


@dataclass
class Delivery:
    headers: dict[str, str]
    body: dict

    @property
    def status(self) -> str:
        return self.body["data"]["status"]


@dataclass
class WebhookReceiver:
    url: str
    # Statuses to answer, in order; 200 once they run out.
    answers: list[int] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    attempts: int = 0

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.deliveries)

    def statuses(self) -> list[str]:
        return [delivery.status for delivery in self.deliveries]


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A real HTTP server on 127.0.0.1 that records every webhook POSTed to it."""
    receiver = WebhookReceiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                receiver.attempts += 1
                status = receiver.answers.pop(0) if receiver.answers else 200
                if 200 <= status < 300:
                    receiver.deliveries.append(Delivery(dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/piapi"
    # A short poll: shutdown() waits for it.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@dataclass
class ImageServer:
    """Serves whatever bytes a test puts at a path; anything else is a 404."""

    base_url: str = ""
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def put(self, path: str, body: bytes, content_type: str = "image/png") -> str:
        self.files[path] = (content_type, body)
        return self.base_url + path

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture
def image_server() -> Iterator[ImageServer]:
    """A real HTTP server on 127.0.0.1 for the images describe and blend fetch."""
    served = ImageServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append(self.path)
            found = served.files.get(self.path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            content_type, body = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll: shutdown() waits for it.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()
