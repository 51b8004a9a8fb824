"""Reads go over connections kept open and shared by every client of the process (no new
connection, no TLS handshake, per image downloaded); creates each go on a connection of
their own. Against a real HTTP server, which notes the connection each request came on."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from studio.providers.base import TaskRequest
from studio.providers.piapi import PiAPI


class Provider(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps a connection open between requests

    def do_GET(self) -> None:
        self.server.seen.append(("GET", self.client_address))  # type: ignore[attr-defined]
        if self.path.startswith("/files/"):
            self.answer(b"\x89PNG not really", "image/png")
        else:
            task = {"task_id": "t-1", "status": "processing", "output": {"progress": 40}}
            self.answer(json.dumps({"code": 200, "data": task, "message": "ok"}).encode())

    def do_POST(self) -> None:
        self.server.seen.append(("POST", self.client_address))  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers["Content-Length"]))
        task = {"task_id": "t-1", "status": "pending"}
        self.answer(json.dumps({"code": 200, "data": task, "message": "ok"}).encode())

    def answer(self, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def client(server: ThreadingHTTPServer) -> PiAPI:
    return PiAPI(api_key="sk-test", base_url=f"http://127.0.0.1:{server.server_port}")


def test_reads_of_different_clients_share_one_kept_connection(
    provider: ThreadingHTTPServer,
) -> None:
    base = f"http://127.0.0.1:{provider.server_port}"

    # A new client per job, as the worker makes them: the connection outlives each.
    for _ in range(3):
        assert client(provider).get_task("t-1").progress == 40
        assert client(provider).download(f"{base}/files/grid.png").startswith(b"\x89PNG")

    connections = {address for _, address in provider.seen}  # type: ignore[attr-defined]
    assert len(provider.seen) == 6 and len(connections) == 1  # type: ignore[attr-defined]


def test_a_create_does_not_go_on_a_kept_connection(provider: ThreadingHTTPServer) -> None:
    request = TaskRequest(operation="imagine", prompt="a fox", aspect_ratio="1:1", mode="fast")

    for _ in range(2):  # a job's client reads, and another job's creates
        client(provider).get_task("t-1")
        assert client(provider).create_task(request).task_id == "t-1"

    posts = [address for method, address in provider.seen if method == "POST"]  # type: ignore[attr-defined]
    reads = [address for method, address in provider.seen if method == "GET"]  # type: ignore[attr-defined]
    assert len(set(reads)) == 1
    assert len(set(posts)) == 2 and not set(posts) & set(reads)
