import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from studio.asgi import application
from studio.realtime.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


def socket_paths(values: dict[str, Any]) -> list[str]:
    return [
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m[1]]), str(route.pattern))
        for route in websocket_urlpatterns
    ]


def joins(path: str, cookie: bytes | None) -> bool:
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", cookie))
    socket = WebsocketCommunicator(application, path, headers=headers)

    async def attempt() -> bool:
        connected, _ = await socket.connect()
        await socket.disconnect()
        return bool(connected)

    return async_to_sync(attempt)()


def cookie_of(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def test_no_websocket_route_lets_an_outsider_or_a_visitor_in(
    project: Any, charlie: Any, bob: Any
) -> None:
    paths = socket_paths({"project_id": project.pk})
    assert paths

    for path in paths:
        assert joins(path, cookie_of(bob))  # the walk itself works
        assert not joins(path, cookie_of(charlie)), path
        assert not joins(path, None), path
