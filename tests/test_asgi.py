"""Studio's ASGI handler (studio/asgi.py): a request's middleware and view run in a
thread kept for request after request, never in one still busy with an earlier view."""

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from studio.asgi import PagesHandler

served_by: list[int] = []
stuck_entered = threading.Event()
stuck_released = threading.Event()


def where(request: HttpRequest) -> HttpResponse:
    served_by.append(threading.get_ident())
    return HttpResponse("here")


def stuck(request: HttpRequest) -> HttpResponse:
    served_by.append(threading.get_ident())
    stuck_entered.set()
    stuck_released.wait(60)
    return HttpResponse("at last")


urlpatterns = [path("where/", where), path("stuck/", stuck)]


@pytest.fixture
def handler() -> Iterator[PagesHandler]:
    served_by.clear()
    stuck_entered.clear()
    stuck_released.clear()
    with override_settings(ROOT_URLCONF=__name__):
        yield PagesHandler()
    stuck_released.set()


def start(handler: PagesHandler, url: str) -> ApplicationCommunicator:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    return ApplicationCommunicator(handler, scope)


async def get(handler: PagesHandler, url: str) -> tuple[int, bytes]:
    communicator = start(handler, url)
    await communicator.send_input({"type": "http.request", "body": b""})
    head = await communicator.receive_output(30)
    body = await communicator.receive_output(30)
    await communicator.wait(30)
    return head["status"], body["body"]


async def until(condition: Any) -> None:
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within 30 s")


def test_requests_one_after_another_are_served_by_one_kept_thread(handler: PagesHandler) -> None:
    async def three_requests() -> list[tuple[int, bytes]]:
        return [await get(handler, "/where/") for _ in range(3)]

    answers = asyncio.run(three_requests())

    assert answers == [(200, b"here")] * 3
    assert len(set(served_by)) == 1
    assert served_by[0] != threading.get_ident()


def test_a_request_is_served_while_another_view_is_still_at_work(handler: PagesHandler) -> None:
    async def scenario() -> tuple[tuple[int, bytes], tuple[int, bytes], tuple[int, bytes]]:
        slow = start(handler, "/stuck/")
        await slow.send_input({"type": "http.request", "body": b""})
        await asyncio.to_thread(stuck_entered.wait, 30)
        meanwhile = await get(handler, "/where/")
        stuck_released.set()
        head = await slow.receive_output(30)
        body = await slow.receive_output(30)
        await slow.wait(30)
        after = await get(handler, "/where/")
        return meanwhile, (head["status"], body["body"]), after

    meanwhile, slow, after = asyncio.run(scenario())

    assert meanwhile == (200, b"here")
    assert slow == (200, b"at last")
    assert after == (200, b"here")
    stuck_thread, meanwhile_thread, after_thread = served_by
    assert meanwhile_thread != stuck_thread
    assert after_thread in (stuck_thread, meanwhile_thread)  # kept, not a third
