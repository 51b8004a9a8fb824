"""Studio's ASGI handler (studio/asgi.py): a request's middleware and view run in a
thread kept for request after request, never in one still busy with an earlier view; and
request_started (the database's receivers) runs there too, just before them."""

import asyncio
import hashlib
import inspect
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from studio.asgi import PagesHandler

served_by: list[int] = []
stuck_entered = threading.Event()
stuck_released = threading.Event()


# What happened, in order: ("started", thread) for request_started, ("view", thread),
# ("finished", thread) for request_finished.
events: list[tuple[str, int]] = []


def where(request: HttpRequest) -> HttpResponse:
    served_by.append(threading.get_ident())
    events.append(("view", threading.get_ident()))
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


@pytest.fixture
def signals_seen() -> Iterator[list[tuple[str, int]]]:
    def started(**kwargs: Any) -> None:
        events.append(("started", threading.get_ident()))

    def finished(**kwargs: Any) -> None:
        events.append(("finished", threading.get_ident()))

    events.clear()
    request_started.connect(started)
    request_finished.connect(finished)
    yield events
    request_started.disconnect(started)
    request_finished.disconnect(finished)


def start(handler: PagesHandler, url: str, query: bytes = b"") -> ApplicationCommunicator:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    return ApplicationCommunicator(handler, scope)


async def get(handler: PagesHandler, url: str, query: bytes = b"") -> tuple[int, bytes]:
    communicator = start(handler, url, query)
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


class CountingThread(ThreadPoolExecutor):
    """A request's thread that counts the handovers to it."""

    def __init__(self) -> None:
        super().__init__(1, "counted-request")
        self.handovers = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.handovers += 1
        return super().submit(*args, **kwargs)


def test_request_started_runs_in_the_views_thread_in_the_same_handover_as_the_view(
    handler: PagesHandler, signals_seen: list[tuple[str, int]]
) -> None:
    thread = CountingThread()
    handler.idle.append(thread)

    answers = asyncio.run(get(handler, "/where/"))

    assert answers == (200, b"here")
    [(_, view_thread)] = [event for event in signals_seen if event[0] == "view"]
    assert signals_seen == [
        ("started", view_thread),
        ("view", view_thread),
        ("finished", view_thread),
    ]
    # One handover for the response (request_started, middleware, view), and one to
    # close it (request_finished), after it is sent. Django's own took a third, first.
    assert thread.handovers == 2
    thread.shutdown()


def test_a_request_that_cannot_be_made_is_refused_and_still_started_and_finished(
    handler: PagesHandler, signals_seen: list[tuple[str, int]]
) -> None:
    status, _ = asyncio.run(get(handler, "/where/", query=b"q=\xff"))

    assert status == 400
    assert [name for name, _ in signals_seen] == ["started", "finished"]


def test_the_request_handling_copied_from_django_is_still_djangos() -> None:
    # PagesHandler.handle is Django 6.1's, with request_started moved into the request's
    # thread. A Django whose own has changed needs it copied again, with that one change.
    source = inspect.getsource(ASGIHandler.handle)
    assert hashlib.sha256(source.encode()).hexdigest() == DJANGOS_HANDLE, (
        "Django's ASGIHandler.handle changed: bring studio/asgi.py's PagesHandler.handle "
        "up to date with it"
    )


DJANGOS_HANDLE = "c91f27c7fcdc3fff4f1c7082e91cb30f0bfaa5781ca632a116b1d9e607fd752a"
