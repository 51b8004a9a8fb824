"""Websocket clients for consumer tests (WebsocketCommunicator, in-process)."""

from typing import Any

from channels.testing import WebsocketCommunicator
from django.test import Client

from studio.asgi import application


def session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(
    project: Any,
    *,
    user: Any = None,
    client: Client | None = None,
    origin: bytes = b"http://127.0.0.1:8000",
    query: str = "",
) -> Any:
    """A websocket client as a browser on Studio's page would open it, logged in as `user`
    (a new session) or with `client`'s session (built before the event loop runs, since
    logging in touches the database)."""
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if user is not None:
        headers.append((b"cookie", session_cookie(user)))
    if client is not None:
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    path = f"/ws/projects/{project.pk}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)
