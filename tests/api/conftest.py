import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from studio.api.services import NewToken, token_create
from tests.factories import make_art
from tests.sandbox.helpers import png_bytes


@pytest.fixture
def bobs_token(project: Any, bob: Any) -> NewToken:
    """Bob's personal access token for Acme's project."""
    return token_create(user=bob, project=project, name="render farm")


class _Images(BaseHTTPRequestHandler):
    png = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.png)))
        self.end_headers()
        self.wfile.write(self.png)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def image_link() -> Iterator[str]:
    """A link to a picture on an image host of this machine (under a made-up name the
    test server is told to reach: FETCH_PINNED_HOSTS)."""
    _Images.png = png_bytes(make_art(("#264653", "#e9c46a", "#f4a261", "#2a9d8f"), size=640))
    host = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=host.serve_forever, daemon=True)
    thread.start()
    yield f"http://images.studio.test:{host.server_port}/harbour.png"
    host.shutdown()
    host.server_close()
