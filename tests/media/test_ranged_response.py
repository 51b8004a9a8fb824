import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import FileField
from django.db.models.fields.files import FieldFile
from django.http import Http404
from django.http.response import HttpResponseBase
from django.test import AsyncRequestFactory, RequestFactory

from studio.media.http import ranged_file_response

# 1000 bytes that differ from their neighbours, so a range one byte off shows.
DATA = bytes(range(250)) * 4
SIZE = len(DATA)


def _get(headers: dict[str, str] | None = None, *, method: str = "get") -> HttpResponseBase:
    request = getattr(RequestFactory(), method)("/clip.mp4", headers=headers or {})
    return ranged_file_response(request, ContentFile(DATA, name="clip.mp4"), "video/mp4")


def _body(response: Any) -> bytes:
    content: Iterable[bytes] = response.streaming_content
    body = b"".join(content)
    response.close()
    return body


def test_without_a_range_it_sends_the_whole_file_and_says_ranges_are_welcome() -> None:
    response = _get()
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(SIZE)
    assert response["Content-Type"] == "video/mp4"
    assert _body(response) == DATA


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=100-199", 100, 199),
        ("bytes=900-5000", 900, 999),  # a last byte past the end stops at the end
        ("bytes=998-", 998, 999),
        ("bytes=0-", 0, 999),
        ("bytes=-10", 990, 999),
        ("bytes=-5000", 0, 999),  # a suffix longer than the file is the whole file
    ],
)
def test_it_sends_exactly_the_bytes_asked_for(header: str, first: int, last: int) -> None:
    response = _get({"Range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"
    assert _body(response) == DATA[first : last + 1]


@pytest.mark.parametrize(
    "header", ["bytes=1000-", "bytes=1000-1200", "bytes=5000-6000", "bytes=-0"]
)
def test_a_range_past_the_end_is_refused_with_the_files_size(header: str) -> None:
    response = _get({"Range": header})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-9,20-29",  # several ranges: the whole file rather than a multipart body
        "bytes=50-10",  # backwards
        "items=0-9",  # a unit other than bytes
        "bytes=-",
        "bytes=abc-",
    ],
)
def test_a_range_it_does_not_serve_gets_the_whole_file(header: str) -> None:
    response = _get({"Range": header})
    assert response.status_code == 200
    assert _body(response) == DATA


def test_an_if_range_it_cannot_match_gets_the_whole_file() -> None:
    response = _get({"Range": "bytes=0-9", "If-Range": '"some-etag"'})
    assert response.status_code == 200
    assert _body(response) == DATA


def test_a_head_request_gets_the_size_and_the_ranges_offer() -> None:
    response = _get({"Range": "bytes=0-9"}, method="head")
    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)
    assert response["Accept-Ranges"] == "bytes"


def test_the_file_is_closed_even_when_the_body_is_never_sent(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(DATA)
    file = File(path.open("rb"), name="clip.mp4")
    request = RequestFactory().get("/clip.mp4", headers={"Range": "bytes=10-19"})
    response = ranged_file_response(request, file, "video/mp4")
    response.close()  # the client went away before the first chunk
    assert file.closed


def test_a_file_missing_from_storage_is_a_404() -> None:

    name = default_storage.save("clips/gone.mp4", ContentFile(DATA))
    default_storage.delete(name)
    request = RequestFactory().get("/clip.mp4", headers={"Range": "bytes=0-9"})
    with pytest.raises(Http404):
        ranged_file_response(request, FieldFile(None, FileField(), name), "video/mp4")


def test_a_range_across_many_chunks_comes_whole_and_in_order() -> None:
    big = bytes(range(251)) * 1000  # 251 kB: several 64 KiB chunks, none aligned
    request = RequestFactory().get("/clip.mp4", headers={"Range": "bytes=60000-200000"})
    response = ranged_file_response(request, ContentFile(big, name="clip.mp4"), "video/mp4")
    assert response.status_code == 206
    assert _body(response) == big[60000:200001]


def test_under_asgi_the_body_streams_without_being_read_into_memory_first() -> None:
    # Django reads a synchronous body into one list before an ASGI server sends it.
    request = AsyncRequestFactory().get("/clip.mp4", headers={"Range": "bytes=100-199"})
    response: Any = ranged_file_response(request, ContentFile(DATA, name="clip.mp4"), "video/mp4")
    assert response.status_code == 206
    assert response.is_async

    async def body() -> bytes:
        return b"".join([chunk async for chunk in response])

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Django warns when it must read it all at once
        assert async_to_sync(body)() == DATA[100:200]
    response.close()
