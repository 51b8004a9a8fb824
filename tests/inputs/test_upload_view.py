from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from studio.inputs.models import InputImage
from tests.inputs.conftest import PNG, Site
from tests.inputs.images import image_bytes


def upload_url(project: Any) -> str:
    return reverse("inputs:upload", kwargs={"project_id": project.pk})


def png_file(data: bytes = PNG, name: str = "ref.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def post_as(client: Client, user: Any, project: Any, **data: Any) -> Any:
    client.force_login(user)
    return client.post(upload_url(project), data)


def test_a_member_uploads_an_image_and_gets_its_public_url(
    client: Client, bob: Any, project: Any, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = "https://studio.example"

    response = post_as(client, bob, project, image=png_file())

    assert response.status_code == 201
    image = InputImage.objects.get()
    assert response.json() == {
        "id": image.pk,
        "url": f"https://studio.example/inputs/{image.token}/ref.png",
        "width": 400,
        "height": 300,
        "format": "PNG",
        "thumb": f"/inputs/images/{image.pk}/thumb/",
    }
    assert image.project == project
    assert image.uploaded_by == bob


def test_an_admin_may_upload_too(client: Client, alice: Any, project: Any) -> None:
    assert post_as(client, alice, project, image=png_file()).status_code == 201


def test_a_viewer_may_not_upload(client: Client, vera: Any, project: Any) -> None:
    response = post_as(client, vera, project, image=png_file())

    assert response.status_code == 403
    assert response.json() == {"error": "Viewers can browse a project but not add images to it."}
    assert not InputImage.objects.exists()


def test_an_outsider_does_not_learn_the_project_exists(
    client: Client, charlie: Any, project: Any
) -> None:
    assert post_as(client, charlie, project, image=png_file()).status_code == 404
    assert not InputImage.objects.exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client: Client, project: Any) -> None:
    response = client.post(upload_url(project), {"image": png_file()})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not InputImage.objects.exists()


def test_the_upload_only_takes_posts(client: Client, bob: Any, project: Any) -> None:
    client.force_login(bob)

    assert client.get(upload_url(project)).status_code == 405


def test_the_upload_is_protected_against_cross_site_requests(bob: Any, project: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)

    assert client.post(upload_url(project), {"image": png_file()}).status_code == 403
    assert not InputImage.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (
            b"hello\n" * 50,
            "“ref.png” is not an image Studio can read (JPEG, PNG, GIF or WebP), or it is damaged.",
        ),
        (
            image_bytes("PNG", size=(200, 300)),
            "The image is 200 × 300 px; its width must be at least 256 px.",
        ),
        (
            image_bytes("BMP"),
            "BMP images are not accepted; use JPEG, PNG, GIF or WebP instead.",
        ),
    ],
    ids=["empty", "text", "too-small", "bmp"],
)
def test_a_refused_file_is_answered_with_the_reason(
    client: Client, bob: Any, project: Any, data: bytes, message: str
) -> None:
    response = post_as(client, bob, project, image=png_file(data))

    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert not InputImage.objects.exists()


def test_a_file_over_the_limit_is_answered_with_413(
    client: Client, bob: Any, project: Any, settings: Any
) -> None:
    settings.INPUT_IMAGE_MAX_BYTES = 1024

    response = post_as(client, bob, project, image=png_file())

    assert response.status_code == 413
    assert response.json()["error"].endswith("the limit is 1 KB.")


def test_neither_file_nor_link_is_answered_with_what_to_do(
    client: Client, bob: Any, project: Any
) -> None:
    response = post_as(client, bob, project)

    assert response.status_code == 400
    assert response.json() == {"error": "Choose an image file or paste a link to one."}


def test_both_file_and_link_is_refused(client: Client, bob: Any, project: Any) -> None:
    response = post_as(client, bob, project, image=png_file(), url="https://example.com/a.png")

    assert response.status_code == 400
    assert response.json() == {"error": "Send either an image file or a link, not both."}


def test_a_member_adds_an_image_by_link(
    client: Client, bob: Any, project: Any, images_site: Site
) -> None:
    url = f"{images_site.url}/refs/pier.png"

    response = post_as(client, bob, project, url=url)

    assert response.status_code == 201
    image = InputImage.objects.get()
    assert response.json()["id"] == image.pk
    assert image.source_url == url


def test_a_link_inside_the_network_is_answered_with_the_reason(
    client: Client, bob: Any, project: Any
) -> None:
    response = post_as(client, bob, project, url="http://169.254.169.254/latest/meta-data/")

    assert response.status_code == 400
    assert response.json() == {
        "error": "That address points inside a private network; "
        "Studio only fetches public http(s) URLs."
    }
