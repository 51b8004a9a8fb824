import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from studio.inputs.models import InputImage
from studio.inputs.services import input_image_upload
from tests.inputs.images import image_bytes

JPEG = image_bytes("JPEG", size=(640, 480), color="#f4a261")


@pytest.fixture
def image(project: Any, bob: Any) -> InputImage:
    uploaded = SimpleUploadedFile("Moodboard.jpeg", JPEG, content_type="image/jpeg")
    return input_image_upload(project=project, user=bob, uploaded_file=uploaded)


def test_the_provider_fetches_the_original_bytes_without_logging_in(
    client: Client, image: InputImage
) -> None:
    response = client.get(image.public_path())

    assert response.status_code == 200
    assert response.getvalue() == JPEG
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Length"] == str(len(JPEG))


def test_the_image_is_served_inline_never_cached_and_never_sniffed(
    client: Client, image: InputImage
) -> None:
    response = client.get(image.public_path())

    # The URL dies once no job needs the image; no cache may outlive it.
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="moodboard.jpg"'
    assert "Cookie" not in response.get("Vary", "")


def test_a_wrong_token_is_not_found(client: Client, image: InputImage) -> None:
    wrong = image.public_path().replace(image.token, "x" * len(image.token))

    assert client.get(wrong).status_code == 404


def test_a_right_token_with_another_name_is_not_found(client: Client, image: InputImage) -> None:
    assert client.get(f"/inputs/{image.token}/other.jpg").status_code == 404


def test_the_public_url_only_answers_reads(client: Client, image: InputImage) -> None:
    assert client.post(image.public_path()).status_code == 405
    assert client.head(image.public_path()).status_code == 200


def test_the_thumbnail_is_a_small_webp_for_the_projects_members(
    client: Client, image: InputImage, vera: Any
) -> None:
    client.force_login(vera)

    response = client.get(image.thumbnail_path())

    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    with Image.open(io.BytesIO(response.getvalue())) as thumbnail:
        assert thumbnail.size == (256, 192)


def test_the_original_is_served_to_the_projects_members(
    client: Client, image: InputImage, vera: Any
) -> None:
    client.force_login(vera)

    response = client.get(image.image_path())

    assert response.status_code == 200
    assert response.getvalue() == JPEG
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"


@pytest.mark.parametrize("path", ["image_path", "thumbnail_path"])
def test_studios_own_copies_are_not_for_outsiders(
    client: Client, image: InputImage, charlie: Any, path: str
) -> None:
    url = getattr(image, path)()

    assert client.get(url).status_code == 302  # to log in
    client.force_login(charlie)
    assert client.get(url).status_code == 404
