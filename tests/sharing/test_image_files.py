"""The images behind a link: the right file per size, and headers that let a revoke bite."""

from typing import Any

import pytest
from django.test import Client

from tests.sharing.helpers import make_grid, make_result, make_share, make_upscale


@pytest.fixture
def tile(project: Any, bob: Any) -> Any:
    return make_grid(project=project, user=bob).images.get(index=1)


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_each_size_serves_its_own_file(client: Client, project: Any, alice: Any, tile: Any) -> None:
    share = make_share(project=project, user=alice)

    for size, field in (
        ("thumb", tile.thumbnail),
        ("small", tile.thumbnail_small),
        ("full", tile.file),
    ):
        response = client.get(f"/s/{share.token}/images/{tile.pk}/{size}/")
        assert response.status_code == 200
        with field.open("rb") as stored:
            assert body(response) == stored.read()

    assert client.get(f"/s/{share.token}/images/{tile.pk}/huge/").status_code == 404


def test_an_image_without_a_small_thumbnail_falls_back_to_the_large_one(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    job = make_upscale(project=project, user=bob)
    job.images.all().delete()
    image = make_result(job=job, index=0, small=False)
    share = make_share(project=project, user=alice)

    response = client.get(f"/s/{share.token}/images/{image.pk}/small/")

    assert response.status_code == 200
    with image.thumbnail.open("rb") as stored:
        assert body(response) == stored.read()


def test_image_responses_must_be_revalidated_and_are_not_sniffed(
    client: Client, project: Any, alice: Any, tile: Any
) -> None:
    share = make_share(project=project, user=alice)

    response = client.get(f"/s/{share.token}/images/{tile.pk}/thumb/")

    assert response["Cache-Control"] == "private, no-cache"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Content-Type"] == "image/webp"
    assert response["ETag"].startswith('"') and response["Last-Modified"]
    # The stored name carries the job's id; the visitor sees neither.
    assert f"job-{tile.job_id}" not in response["Content-Disposition"] + response["ETag"]


def test_revalidating_an_unchanged_image_is_a_304(
    client: Client, project: Any, alice: Any, tile: Any
) -> None:
    share = make_share(project=project, user=alice)
    path = f"/s/{share.token}/images/{tile.pk}/full/"
    first = client.get(path)

    again = client.get(path, headers={"If-None-Match": first["ETag"]})

    assert again.status_code == 304
    assert again["Cache-Control"] == "private, no-cache" and again["ETag"] == first["ETag"]
    since = client.get(path, headers={"If-Modified-Since": first["Last-Modified"]})
    assert since.status_code == 304


def test_a_different_size_has_a_different_etag(
    client: Client, project: Any, alice: Any, tile: Any
) -> None:
    share = make_share(project=project, user=alice)

    etags = {
        client.get(f"/s/{share.token}/images/{tile.pk}/{size}/")["ETag"]
        for size in ("thumb", "small", "full")
    }

    assert len(etags) == 3


def test_a_head_request_answers_without_the_file(
    client: Client, project: Any, alice: Any, tile: Any
) -> None:
    share = make_share(project=project, user=alice)

    response = client.head(f"/s/{share.token}/images/{tile.pk}/thumb/")

    assert response.status_code == 200 and response["ETag"]
