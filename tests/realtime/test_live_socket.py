"""The tests' and benchmarks' websocket client (tests/websocket.py) itself."""

import socket

import pytest

from tests.websocket import LiveSocket


def test_a_frame_cut_by_a_timeout_is_read_whole_on_the_next_receive() -> None:
    # A reader that waits a moment at a time (bench/common.py's SocketReader) may time
    # out between a frame's header and its payload: the frame must not be lost.
    ours, server = socket.socketpair()
    live = LiveSocket(ours, b"")
    payload = ("x" * 300).encode()  # over 125 bytes: a header with a 2-byte length
    frame = bytes([0x81, 126]) + len(payload).to_bytes(2, "big") + payload
    try:
        server.sendall(frame[:3])  # the header, cut inside its length
        with pytest.raises(TimeoutError):
            live.receive(0.05)
        server.sendall(frame[3:50])
        with pytest.raises(TimeoutError):
            live.receive(0.05)
        server.sendall(frame[50:] + bytes([0x81, 2]) + b"ok")

        assert live.receive(1) == "x" * 300
        assert live.receive(1) == "ok"
    finally:
        ours.close()
        server.close()
