"""The web server itself refuses bodies over the limit before anything buffers them, and
streams the ones it accepts to Django instead of holding them.

These run the Procfile's own web command in a real process and measure that process's
memory while a logged-out client sends it 130 MB, or just under the limit.
"""

import base64
import hashlib
import io
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from PIL import Image

from studio.inputs.models import InputImage
from studio.security.middleware import too_large_message
from tests.conftest import StudioServer, stop_server
from tests.security.procfile import start_procfile_web

MB = 1024 * 1024
BOUNDARY = "studio-test-boundary"


@pytest.fixture
def web(alone: None, tmp_path: Path) -> Iterator[tuple[StudioServer, int]]:
    process, url = start_procfile_web(media_root=tmp_path / "media")
    try:
        yield StudioServer(url, tmp_path / "media"), process.pid
    finally:
        stop_server(process)


def resident_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class MultipartBody:
    """A multipart form of `size` bytes with one file field, made as it is sent: the
    test never holds the body. With len() a client sends Content-Length; iterated
    alone (a generator has no length) it goes chunked."""

    def __init__(self, size: int) -> None:
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="username"\r\n\r\nbob\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="avatar"; '
            f'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        left = self.size - len(self.head) - len(self.tail)
        block = b"x" * MB
        while left > 0:
            yield block[: min(left, MB)]
            left -= MB
        yield self.tail


def post_body(url: str, body: Any, **headers: str) -> requests.Response:
    return requests.post(
        url,
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **headers},
        timeout=120,
    )


def test_bodies_over_the_limit_are_refused_before_the_server_holds_them(
    web: tuple[StudioServer, int],
) -> None:
    server, pid = web
    assert settings.REQUEST_MAX_BYTES < 130 * MB
    requests.get(f"{server.url}/accounts/login/", timeout=10)
    before = resident_megabytes(pid)

    sized = post_body(f"{server.url}/accounts/login/", MultipartBody(130 * MB))
    chunked = post_body(f"{server.url}/accounts/login/", iter(MultipartBody(130 * MB)))

    grown = resident_megabytes(pid) - before
    assert grown < 50, f"the web process grew by {grown:.0f} MB"
    assert sized.status_code == 413, sized.text
    assert sized.text.startswith("The request is 130 MB; Studio accepts at most")
    assert sized.headers["Connection"] == "close"
    assert chunked.status_code == 413, chunked.text
    assert "The request is over" in chunked.text
    # The server is still serving.
    assert requests.get(f"{server.url}/accounts/login/", timeout=10).status_code == 200


def test_a_body_just_under_the_limit_reaches_django_without_the_server_holding_it(
    web: tuple[StudioServer, int],
) -> None:
    server, pid = web
    requests.get(f"{server.url}/accounts/login/", timeout=10)
    before = resident_megabytes(pid)

    sized = post_body(f"{server.url}/accounts/login/", MultipartBody(settings.REQUEST_MAX_BYTES))
    chunked = post_body(f"{server.url}/accounts/login/", iter(MultipartBody(120 * MB)))

    grown = resident_megabytes(pid) - before
    assert grown < 50, f"the web process grew by {grown:.0f} MB"
    # Django read them (and refused a login form without its CSRF token).
    assert (sized.status_code, chunked.status_code) == (403, 403)


def test_api_clients_get_the_servers_refusal_as_json(web: tuple[StudioServer, int]) -> None:
    server, _ = web

    response = requests.post(
        f"{server.url}/sandbox/api/v1/task",
        data=MultipartBody(settings.REQUEST_MAX_BYTES + 1),
        headers={"Content-Type": "application/json"},
        timeout=120,
    )

    assert response.status_code == 413
    assert "Studio accepts at most" in response.json()["error"]


def test_a_client_expecting_100_continue_is_refused_before_it_sends_the_body_and_hung_up_on(
    web: tuple[StudioServer, int],
) -> None:
    server, _ = web
    host, port = server.url.removeprefix("http://").split(":")

    # Upload libraries ask first, then wait for "100 Continue" before sending a large body.
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            f"POST /accounts/login/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {200 * MB}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        # Read to the end: once its answer is out, the server closes its side.
        connection.settimeout(10)
        answer = b""
        while received := connection.recv(65536):
            answer += received

    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert answer.endswith(too_large_message(200 * MB).encode() + b"\n"), answer
    assert b"100 Continue" not in answer


def noisy_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: every byte of it matters."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def test_logins_and_uploads_under_the_limit_still_work(
    web: tuple[StudioServer, int], project: Any, bob: Any
) -> None:
    server, _ = web
    session = server.login("bob")  # a urlencoded form, which Django parses itself
    picture = noisy_png(1200, 900)

    response = session.post(
        f"{server.url}/projects/{project.pk}/describe/",
        data={"mode": "fast"},
        files=[
            # 20 MB first, in a field the view ignores: the image comes in many pieces
            # from deep inside a large body, under the limit.
            ("notes", ("notes.bin", b"n" * (20 * MB), "application/octet-stream")),
            ("image", ("noise.png", picture, "image/png")),
        ],
        headers={"HX-Request": "true"},
        timeout=120,
    )

    assert response.status_code == 201, response.text
    assert InputImage.objects.get().sha256 == hashlib.sha256(picture).hexdigest()


def first_websocket_message(url: str, path: str, *, cookie: str) -> str:
    """Open a websocket as a browser on the page does and return the first text message."""
    host, port = url.removeprefix("http://").split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {url}\r\nCookie: {cookie}\r\n\r\n".encode()
        )
        stream = connection.makefile("rb")
        status = stream.readline()
        assert b" 101 " in status, status
        while stream.readline() not in (b"\r\n", b""):
            pass
        first, second = stream.read(2)
        assert first & 0x0F == 0x1, f"not a text frame: {first:#x}"
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(stream.read(2))
        elif length == 127:
            length = int.from_bytes(stream.read(8))
        return stream.read(length).decode()


def test_the_web_process_serves_the_live_socket(
    web: tuple[StudioServer, int], project: Any, bob: Any
) -> None:
    server, _ = web
    session = server.login("bob")

    snapshot = first_websocket_message(
        server.url,
        f"/ws/projects/{project.pk}/",
        cookie=f"sessionid={session.cookies['sessionid']}",
    )

    assert 'id="meter-me-' in snapshot  # the project's snapshot: the member's own budget
