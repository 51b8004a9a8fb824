"""Studio's web server: daphne, refusing request bodies over the limit before anything
buffers them. `manage.py runstudio` serves with it, and so does the Procfile's web line.

Left to itself a body travels far before Django's RequestSizeLimitMiddleware can refuse
it: Twisted spools it whole and parses a form upload into memory, then daphne puts all
of it in the application's queue at once (a 130 MB login form grew one process by
1.8 GB). Here the server answers 413 itself, from Content-Length before reading the
body, or, for a chunked body, as soon as what has arrived passes the limit. Twisted
never parses forms (Django does, within its own limits), and a body under the limit is
read from Twisted's spool file as the application asks for it, a piece at a time.
"""

# daphne.server installs the asyncio reactor when imported, so it comes before anything
# that could import Twisted's default reactor.
from daphne.server import Server  # isort: split

import asyncio
import json
from functools import partial
from typing import IO, Any, cast

from daphne.http_protocol import HTTPFactory, WebRequest
from twisted.internet import reactor
from twisted.internet.base import DelayedCall, ReactorBase

from studio.security.middleware import too_large_message, wants_json

# How long a refused client may go on sending what is then dropped unread. Most clients
# send the whole body before they read the answer, and closing the connection under a
# client that is still sending can reset it and discard the 413 it had received; so the
# connection closes in stages, as RFC 9112 section 9.6 advises (nginx's lingering close).
LINGER_SECONDS = 30.0


# How much of a body the application gets per message.
BODY_PIECE_BYTES = 64 * 1024


def too_large_response(*, path: str, accept: str, length: int | None) -> bytes:
    """A complete HTTP/1.1 413 response that closes the connection."""
    message = too_large_message(length)
    if wants_json(path, accept):
        body, content_type = json.dumps({"error": message}).encode(), b"application/json"
    else:
        body, content_type = message.encode() + b"\n", b"text/plain; charset=utf-8"
    head = (
        b"HTTP/1.1 413 Content Too Large\r\n"
        b"Content-Type: " + content_type + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n"
    )
    return head + body


class BoundedRequest(WebRequest):  # type: ignore[misc]
    """daphne's request, holding at most the server's `request_max_bytes` of body."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.body_received = 0
        self.refused = False
        self.linger: DelayedCall | None = None
        # Django parses forms itself; Twisted would read a whole upload into memory
        # to fill `request.args`, which nothing here uses.
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    # Called by Twisted once the headers are in, before any of the body is read.
    def gotLength(self, length: int | None) -> None:
        if length is not None and length > self.server.request_max_bytes:
            self.refuse(length)
        else:
            super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.refused:
            return
        self.body_received += len(data)
        if self.body_received > self.server.request_max_bytes:
            self.refuse(None)
        else:
            super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self.refused:
            super().requestReceived(command, path, version)

    def refuse(self, length: int | None) -> None:
        """Answer 413 now and read nothing more of this request: what the client still
        sends is dropped until it hangs up, for LINGER_SECONDS at most."""
        self.refused = True
        if self.content is not None:
            self.content.close()  # what a chunked body had spooled so far
        # "Expect: 100-continue" gets the refusal instead of a "100 Continue".
        self.requestHeaders.removeHeader(b"Expect")
        channel = self.channel
        # The request line is only handed to the request once the body is complete;
        # until then Twisted's channel holds it.
        path = getattr(channel, "_path", b"").split(b"?", 1)[0].decode("latin-1")
        accept = b",".join(self.requestHeaders.getRawHeaders(b"Accept", [])).decode("latin-1")
        channel.persistent = False
        channel.transport.write(too_large_response(path=path, accept=accept, length=length))
        channel.transport.loseWriteConnection()  # the answer is complete
        # From here on the connection's bytes are not even parsed (the same swap Twisted
        # makes for websockets).
        channel.dataReceived = lambda data: None
        self.linger = cast(ReactorBase, reactor).callLater(
            LINGER_SECONDS, channel.transport.loseConnection
        )

    def connectionLost(self, reason: Any) -> None:
        if self.linger is not None and self.linger.active():
            self.linger.cancel()
        super().connectionLost(reason)


class StreamedBodyQueue(asyncio.Queue[dict[str, Any]]):
    """What an HTTP request's application receives: the body, read from the file that
    Twisted spooled it to, one piece per `receive()`, then the server's messages (a
    disconnect). daphne's own copies of the body, all put at once, are dropped."""

    def __init__(self, body: IO[bytes]) -> None:
        super().__init__()
        self.body = body
        self.offset = 0
        self.body_sent = False

    def put_nowait(self, message: dict[str, Any]) -> None:
        if message["type"] != "http.request":
            super().put_nowait(message)

    async def get(self) -> dict[str, Any]:
        if not self.body_sent:
            try:
                self.body.seek(self.offset)
                piece = self.body.read(BODY_PIECE_BYTES)
            except ValueError:  # closed: the client has gone, and a disconnect is queued
                self.body_sent = True
            else:
                self.offset += len(piece)
                self.body_sent = len(piece) < BODY_PIECE_BYTES
                return {"type": "http.request", "body": piece, "more_body": not self.body_sent}
        return await super().get()


class BoundedHTTPFactory(HTTPFactory):  # type: ignore[misc]
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BoundedRequest
        return protocol


class BoundedServer(Server):  # type: ignore[misc]
    """daphne's server, refusing request bodies larger than `request_max_bytes`."""

    def __init__(self, *args: Any, request_max_bytes: int, **kwargs: Any) -> None:
        self.request_max_bytes = request_max_bytes
        super().__init__(*args, **kwargs)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        """daphne's, except that an HTTP request's body streams from its file."""
        if not isinstance(protocol, BoundedRequest):
            return super().create_application(protocol, scope)
        assert "application_instance" not in self.connections[protocol]
        input_queue = StreamedBodyQueue(protocol.content)
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope, receive=input_queue.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop()
        )
        return input_queue

    # daphne's run() makes its own HTTPFactory and listens with it, with no way to pass
    # another one: whatever factory it assigns here, the bounded one is used.
    @property
    def http_factory(self) -> BoundedHTTPFactory:
        return self._bounded_http_factory

    @http_factory.setter
    def http_factory(self, _daphne_factory: HTTPFactory) -> None:
        self._bounded_http_factory = BoundedHTTPFactory(self)
