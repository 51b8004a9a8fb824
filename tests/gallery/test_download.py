"""Downloading a selection as a ZIP: the full-resolution files under readable names, a
prompts.csv manifest, and a clear refusal past 200 images."""

import csv
import io
import zipfile
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from studio.generation.models import ResultImage
from tests.gallery.conftest import HX, make_grid, make_upscale


@pytest.fixture
def tiles(project: Any, bob: Any) -> list[ResultImage]:
    return make_grid(project=project, user=bob, prompt="A Lighthouse, at dusk!", files=True)


def download(client: Client, project: Any, images: list[Any], **headers: str) -> Any:
    ids = [image if isinstance(image, int) else image.pk for image in images]
    return client.post(
        f"/projects/{project.pk}/gallery/download/", {"images": ids}, headers=headers
    )


def test_a_zip_holds_the_full_resolution_files_and_a_manifest(
    client: Client, project: Any, bob: Any, vera: Any, tiles: list[ResultImage]
) -> None:
    upscale = make_upscale(parent=tiles[0].job, user=bob, index=2, files=True)
    client.force_login(vera)

    response = download(client, project, [tiles[1], upscale, tiles[3]])

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert 'attachment; filename="launch-3-images.zip"' == response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    job = tiles[0].job_id
    assert archive.namelist() == [
        f"{upscale.job_id}-0-a-lighthouse-at-dusk.png",
        f"{job}-4-a-lighthouse-at-dusk.png",
        f"{job}-2-a-lighthouse-at-dusk.png",
        "prompts.csv",
    ]
    for image in (tiles[1], upscale, tiles[3]):
        with image.file.open("rb") as original:
            name = f"{image.job_id}-{image.index}-a-lighthouse-at-dusk.png"
            assert archive.read(name) == original.read()
    rows = list(csv.DictReader(io.StringIO(archive.read("prompts.csv").decode())))
    assert [row["image_id"] for row in rows] == [
        str(upscale.pk),
        str(tiles[3].pk),
        str(tiles[1].pk),
    ]
    assert rows[0]["prompt"] == "A Lighthouse, at dusk!"
    assert rows[0]["operation"] == "upscale" and rows[1]["operation"] == "imagine"
    assert rows[1]["made_by"] == "bob" and rows[1]["mode"] == "fast"


def test_a_prompt_that_looks_like_a_formula_is_inert_in_the_manifest(
    client: Client, project: Any, bob: Any
) -> None:
    tiles = make_grid(project=project, user=bob, prompt='=HYPERLINK("http://evil")', files=True)
    client.force_login(bob)

    response = download(client, project, tiles[:1])

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(csv.DictReader(io.StringIO(archive.read("prompts.csv").decode())))
    assert rows[0]["prompt"].startswith("'=")
    assert archive.namelist()[0] == f"{tiles[0].job_id}-1-hyperlinkhttpevil.png"


def test_more_than_200_images_is_refused_with_a_clear_message(
    client: Client, project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client.force_login(bob)

    page = download(client, project, list(range(1, 202)))
    swap = download(client, project, list(range(1, 202)), **HX)

    assert page.status_code == 400
    message = "A download holds at most 200 images; you selected 201."
    assert message in page.content.decode()
    assert "Back to the gallery" in page.content.decode()
    assert swap.status_code == 400 and message in swap.content.decode()


def test_exactly_200_images_are_fine(client: Client, project: Any, bob: Any) -> None:
    from tests.gallery.conftest import make_many

    make_many(project=project, user=bob, count=200)
    ids = list(ResultImage.objects.in_gallery().values_list("pk", flat=True))
    for pk in ids:  # one small shared file is enough
        ResultImage.objects.filter(pk=pk).update(file="results/shared.png")
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    default_storage.save("results/shared.png", ContentFile(b"png"))
    client.force_login(bob)

    response = download(client, project, ids)

    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert len(names) == 201  # and prompts.csv


def test_a_download_of_nothing_is_refused(client: Client, project: Any, bob: Any) -> None:
    client.force_login(bob)

    response = download(client, project, [])

    assert response.status_code == 400
    assert "Select at least one image to download." in response.content.decode()


def test_under_asgi_the_zip_is_streamed_in_chunks(
    project: Any, bob: Any, tiles: list[ResultImage]
) -> None:
    client = AsyncClient()
    client.force_login(bob)

    async def fetch() -> tuple[Any, list[bytes]]:
        response = await client.post(
            f"/projects/{project.pk}/gallery/download/", {"images": [tiles[0].pk]}
        )
        return response, [chunk async for chunk in response.streaming_content]

    response, chunks = async_to_sync(fetch)()

    assert response.status_code == 200 and response.is_async
    body = b"".join(chunks)
    assert int(response["Content-Length"]) == len(body)
    assert zipfile.ZipFile(io.BytesIO(body)).namelist()[-1] == "prompts.csv"
