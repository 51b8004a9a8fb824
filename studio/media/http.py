"""A file response that answers HTTP Range requests (RFC 9110 §14), so a browser can
seek in a video: it asks for the bytes at the point the viewer jumps to, and a server
that always sends the whole file leaves the scrubber dead."""

import re
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.files import File
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

CHUNK_SIZE = 64 * 1024
# One range only: "bytes=a-b", "bytes=a-" or "bytes=-n".
SINGLE_RANGE = re.compile(r"bytes=(?P<first>\d*)-(?P<last>\d*)")


class Unsatisfiable(Exception):
    """A well-formed range that starts past the file's end."""


def ranged_file_response(request: HttpRequest, file: File, content_type: str) -> HttpResponseBase:
    """The file, whole (200) or the one byte range asked for (206), streamed from storage
    without reading the file into memory; 416 for a range that starts past its end.

    Access is the caller's business: check it before calling, as for images."""
    try:
        size = file.size
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    try:
        byte_range = _requested_range(request, size)
    except Unsatisfiable:
        handle.close()
        refusal = HttpResponse(status=416)
        refusal["Content-Range"] = f"bytes */{size}"
        refusal["Accept-Ranges"] = "bytes"
        return refusal
    first, last = byte_range if byte_range else (0, size - 1)
    # Under ASGI (daphne) Django reads a synchronous body into one list before sending
    # it, a whole clip in memory: there the body is an asynchronous stream instead.
    window = _AsyncByteWindow if isinstance(request, ASGIRequest) else _ByteWindow
    response = StreamingHttpResponse(
        window(handle, first, last - first + 1),
        status=206 if byte_range else 200,
        content_type=content_type,
    )
    if byte_range:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(last - first + 1)
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _requested_range(request: HttpRequest, size: int) -> tuple[int, int] | None:
    """The first and last byte asked for, or None for the whole file."""
    header = request.headers.get("Range")
    # Range is defined for GET only (RFC 9110 §14.2): a HEAD is answered as the GET
    # without Range would be. If-Range compares a validator this response never sends,
    # so it can never match, and then the whole file is the answer (§13.1.5).
    if header is None or request.method != "GET" or "If-Range" in request.headers:
        return None
    # Several ranges would need a multipart/byteranges body, which browsers never ask
    # for when seeking in a video: the whole file (200) is a valid answer to them
    # (§14.2), as it is to a malformed header or a unit other than bytes.
    match = SINGLE_RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match["first"], match["last"]
    if first and last:
        if int(first) > int(last):
            return None
        return _within(int(first), int(last), size)
    if first:
        return _within(int(first), size - 1, size)
    if last:
        # A suffix: the last n bytes, or the whole file if it is shorter than n.
        if int(last) == 0:
            raise Unsatisfiable
        return _within(max(0, size - int(last)), size - 1, size)
    return None


def _within(first: int, last: int, size: int) -> tuple[int, int]:
    if first >= size:
        raise Unsatisfiable
    return first, min(last, size - 1)


class _Window:
    """`length` bytes of the file from `start`, read a chunk at a time. Django calls
    `close()` when the response closes, whether or not the body was sent (a generator's
    `finally` would not run if the client went away before the first chunk)."""

    def __init__(self, handle: File, start: int, length: int) -> None:
        self.handle = handle
        self.start = start
        self.remaining = length
        self.sought = False

    def read_chunk(self) -> bytes:
        if not self.remaining:
            return b""
        if not self.sought:
            self.handle.seek(self.start)
            self.sought = True
        chunk = self.handle.read(min(CHUNK_SIZE, self.remaining))
        self.remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        self.handle.close()


class _ByteWindow(_Window):
    def __iter__(self) -> Iterator[bytes]:
        return iter(self.read_chunk, b"")


class _AsyncByteWindow(_Window):
    """For an ASGI server: each read runs in a thread (storage may be a network away),
    so the event loop keeps serving others meanwhile."""

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        chunk = await sync_to_async(self.read_chunk)()
        if not chunk:
            raise StopAsyncIteration
        return chunk
