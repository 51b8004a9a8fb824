"""A websocket client for tests against a real Studio process, as a browser's socket:
one TCP connection, the HTTP upgrade with the session cookie and the page's origin, then
RFC 6455 frames. It answers the server's pings, as a browser does, so that only Studio
can end an idle socket. (WebsocketCommunicator tests the consumer in-process; this tests
what runs between processes: daphne, the channel layer, Redis.)"""

import base64
import os
import socket
import struct
import time
from urllib.parse import urlsplit

import requests

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class Refused(Exception):
    """The server answered the upgrade with an HTTP status instead of a socket."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the upgrade was refused with HTTP {status}")
        self.status = status


class Closed(Exception):
    """The server closed the socket (code None: the connection dropped without a close)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"the server closed the socket with code {code}")
        self.code = code


class LiveSocket:
    def __init__(self, connection: socket.socket, buffered: bytes) -> None:
        self.connection = connection
        self.buffer = buffered

    @classmethod
    def open(cls, url: str, path: str, session: requests.Session) -> "LiveSocket":
        """Open `path` on the server at `url` with `session`'s cookies, from its page."""
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        connection = socket.create_connection((host, port), timeout=20)
        cookies = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {url}\r\nCookie: {cookies}\r\n\r\n"
        )
        connection.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = connection.recv(4096)
            if not chunk:
                break
            response += chunk
        head, _, rest = response.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].split()
        status = int(status_line[1]) if len(status_line) > 1 else 0
        if status != 101:
            connection.close()
            raise Refused(status)
        return cls(connection, rest)

    def _fill(self, count: int, deadline: float) -> None:
        """Receive until the buffer holds at least `count` bytes."""
        while len(self.buffer) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.connection.settimeout(remaining)
            try:
                chunk = self.connection.recv(65536)
            except TimeoutError:
                raise TimeoutError from None
            except OSError:
                chunk = b""
            if not chunk:
                raise Closed(None)
            self.buffer += chunk

    def _frame(self, deadline: float) -> tuple[bool, int, bytes]:
        """The next frame, taken from the buffer only once all of it has come: a timeout
        midway (a reader waiting a moment at a time) leaves it for the next call."""
        self._fill(2, deadline)
        first, second = self.buffer[0], self.buffer[1]
        header, length = 2, second & 0x7F
        if length == 126:
            header = 4
            self._fill(header, deadline)
            (length,) = struct.unpack("!H", self.buffer[2:header])
        elif length == 127:
            header = 10
            self._fill(header, deadline)
            (length,) = struct.unpack("!Q", self.buffer[2:header])
        self._fill(header + length, deadline)
        payload, self.buffer = (
            self.buffer[header : header + length],
            self.buffer[header + length :],
        )
        return bool(first & 0x80), first & 0x0F, payload

    def _send(self, opcode: int, payload: bytes = b"") -> None:
        # A client masks every frame (RFC 6455, section 5.3).
        assert len(payload) < 126, "control frames only"
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.connection.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def receive(self, timeout: float) -> str:
        """The next text message; Closed if the server ends the socket first,
        TimeoutError if nothing comes within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        message = b""
        while True:
            final, opcode, payload = self._frame(deadline)
            if opcode == PING:
                self._send(PONG, payload)
            elif opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise Closed(code)
            elif opcode in (TEXT, 0x0):
                message += payload
                if final:
                    return message.decode()

    def receive_until(self, text: str, timeout: float) -> str:
        """The first message containing `text` (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(max(deadline - time.monotonic(), 0.01))
            if text in message:
                return message

    def stay_quiet(self, seconds: float) -> None:
        """Keep the socket idle for `seconds`, answering pings; any message or a close
        in that time fails (raises AssertionError or Closed)."""
        try:
            message = self.receive(seconds)
        except TimeoutError:
            return
        raise AssertionError(f"an idle socket received {message[:200]!r}")

    def wait_closed(self, timeout: float) -> int | None:
        """The code the server closes the socket with, skipping messages until then."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.receive(max(deadline - time.monotonic(), 0.01))
            except Closed as closed:
                return closed.code

    def close(self) -> None:
        try:
            self._send(CLOSE, struct.pack("!H", 1000))
        except OSError:
            pass
        self.connection.close()
