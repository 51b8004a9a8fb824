import hashlib
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import QuerySet
from PIL import Image

from studio.inputs.errors import InputImageError
from studio.inputs.fetch import PRIVATE_ADDRESS
from studio.inputs.models import InputImage
from studio.inputs.services import (
    input_image_check,
    input_image_from_url,
    input_image_upload,
    input_images_saved,
)
from tests.factories import make_project
from tests.inputs.conftest import PNG, Site
from tests.inputs.images import animated_gif, image_bytes


def stored_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def upload(data: bytes, name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def test_an_upload_is_stored_byte_for_byte(project: Any, bob: Any) -> None:
    data = image_bytes("JPEG", size=(800, 600), color="#e76f51")

    image = input_image_upload(project=project, user=bob, uploaded_file=upload(data, "Dune.JPG"))

    image.refresh_from_db()
    with image.file.open("rb") as stored:
        assert stored.read() == data
    assert (image.width, image.height, image.format) == (800, 600, "JPEG")
    assert image.size_bytes == len(data)
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert image.original_name == "Dune.JPG"
    assert image.uploaded_by == bob
    assert image.source_url == ""


def test_an_upload_gets_a_small_thumbnail_of_its_first_frame(project: Any, bob: Any) -> None:
    image = input_image_upload(
        project=project, user=bob, uploaded_file=upload(animated_gif(size=(1000, 500)), "a.gif")
    )

    with image.thumbnail.open("rb") as stored, Image.open(stored) as thumbnail:
        assert thumbnail.format == "WEBP"
        assert thumbnail.size == (256, 128)


def test_the_public_url_carries_an_unguessable_token_and_a_safe_name(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = "https://studio.example"

    image = input_image_upload(
        project=project, user=bob, uploaded_file=upload(PNG, "../My Ref (final).png")
    )

    assert len(image.token) >= 32
    assert image.public_path() == f"/inputs/{image.token}/my-ref-final.png"
    assert image.public_url() == f"https://studio.example/inputs/{image.token}/my-ref-final.png"


def test_the_public_name_has_the_extension_of_the_real_format(project: Any, bob: Any) -> None:
    webp = image_bytes("WEBP", color="#264653")

    image = input_image_upload(project=project, user=bob, uploaded_file=upload(webp, "x.png"))

    assert image.public_path().endswith("/x.webp")


def test_a_refused_upload_stores_nothing(project: Any, bob: Any, settings: Any) -> None:
    with pytest.raises(InputImageError):
        input_image_upload(
            project=project, user=bob, uploaded_file=upload(image_bytes("PNG", size=(100, 100)))
        )

    assert not InputImage.objects.exists()
    assert stored_files(settings) == []


def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.INPUT_IMAGE_MAX_BYTES = 1000
    uploaded = upload(PNG)

    with pytest.raises(InputImageError, match="the limit is 1000 bytes"):
        input_image_upload(project=project, user=bob, uploaded_file=uploaded)

    assert uploaded.tell() == 0
    assert not InputImage.objects.exists()


def test_a_failure_while_saving_leaves_no_files_behind(
    project: Any, bob: Any, settings: Any
) -> None:
    with (
        mock.patch.object(InputImage, "save", side_effect=RuntimeError("database went away")),
        pytest.raises(RuntimeError),
    ):
        input_image_upload(project=project, user=bob, uploaded_file=upload(PNG))

    assert stored_files(settings) == []


def test_the_same_bytes_in_the_same_project_are_stored_once(
    project: Any, alice: Any, bob: Any, settings: Any
) -> None:
    first = input_image_upload(project=project, user=alice, uploaded_file=upload(PNG, "a.png"))
    second = input_image_upload(project=project, user=bob, uploaded_file=upload(PNG, "b.png"))

    assert second.pk == first.pk
    assert InputImage.objects.count() == 1
    assert len(stored_files(settings)) == 2  # the image and its thumbnail


def test_the_same_bytes_in_another_project_are_that_projects_own(
    project: Any, acme: Any, bob: Any
) -> None:
    other = make_project(team=acme, name="Other")

    first = input_image_upload(project=project, user=bob, uploaded_file=upload(PNG))
    second = input_image_upload(project=other, user=bob, uploaded_file=upload(PNG))

    assert second.pk != first.pk
    assert second.token != first.token


def test_two_uploads_racing_with_the_same_bytes_end_with_one_image(
    project: Any, bob: Any, settings: Any
) -> None:
    first = input_image_upload(project=project, user=bob, uploaded_file=upload(PNG))

    # The second upload checked for a copy before the first one was saved.
    with mock.patch.object(QuerySet, "first", return_value=None):
        second = input_image_upload(project=project, user=bob, uploaded_file=upload(PNG))

    assert second.pk == first.pk
    assert len(stored_files(settings)) == 2


def test_an_image_from_a_link_keeps_the_link(project: Any, bob: Any, images_site: Site) -> None:
    url = f"{images_site.url}/refs/Sunset%20Beach.png"

    image = input_image_from_url(project=project, user=bob, url=f"  {url} ")

    assert image.source_url == url
    assert image.original_name == "Sunset Beach.png"
    assert (image.width, image.height, image.format) == (400, 300, "PNG")
    with image.file.open("rb") as stored:
        assert stored.read() == PNG


def test_a_link_to_the_same_bytes_as_an_upload_gives_the_upload_back(
    project: Any, bob: Any, images_site: Site
) -> None:
    uploaded = input_image_upload(project=project, user=bob, uploaded_file=upload(PNG))

    fetched = input_image_from_url(project=project, user=bob, url=f"{images_site.url}/a.png")

    assert fetched.pk == uploaded.pk


def test_a_refused_link_stores_nothing(project: Any, bob: Any, settings: Any) -> None:
    with pytest.raises(InputImageError) as caught:
        input_image_from_url(project=project, user=bob, url="http://169.254.169.254/latest/")

    assert caught.value.message == PRIVATE_ADDRESS
    assert not InputImage.objects.exists()
    assert stored_files(settings) == []


def test_a_link_to_something_that_is_not_an_image_stores_nothing(
    project: Any, bob: Any, images_site: Site, settings: Any
) -> None:
    with pytest.raises(InputImageError, match=r"“notes\.txt” is not an image"):
        input_image_from_url(project=project, user=bob, url=f"{images_site.url}/notes.txt")

    assert not InputImage.objects.exists()
    assert stored_files(settings) == []


class Refused(Exception):
    pass


def test_images_saved_for_a_block_that_fails_are_rolled_back_with_their_files(
    project: Any, alice: Any, bob: Any, settings: Any
) -> None:
    kept = input_image_upload(project=project, user=alice, uploaded_file=upload(PNG))
    files_before = stored_files(settings)
    checked = [
        input_image_check(data=PNG, original_name="same.png"),
        input_image_check(data=image_bytes("PNG", color="#e9c46a"), original_name="new.png"),
    ]

    with (
        pytest.raises(Refused),
        input_images_saved(project=project, user=bob, images=checked) as images,
    ):
        assert images[0] == kept and images[1].pk is not None
        assert len(stored_files(settings)) == 4  # the new image's files exist meanwhile
        raise Refused

    assert list(InputImage.objects.all()) == [kept]
    assert stored_files(settings) == files_before


def test_images_saved_for_a_block_that_succeeds_stay(project: Any, bob: Any, settings: Any) -> None:
    checked = [input_image_check(data=PNG, original_name="a.png")]

    with input_images_saved(project=project, user=bob, images=checked) as images:
        pass

    assert list(InputImage.objects.all()) == images
    assert len(stored_files(settings)) == 2
