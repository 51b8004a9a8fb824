"""A result of the project used as a reference ("use as" in the lightbox): copied into
the project's input images, whose public URL the provider may fetch. Another project's
result, a viewer and an outsider are refused with a sentence."""

from typing import Any

import pytest
from django.test import Client

from studio.inputs.models import InputImage
from tests.factories import make_project, make_result_image


def from_result(client: Client, project: Any, image_id: int) -> Any:
    return client.post(f"/inputs/projects/{project.pk}/from-result/{image_id}/")


def test_a_member_gets_a_public_link_to_a_copy_of_the_result(
    client: Client, bob: Any, project: Any
) -> None:
    result = make_result_image(project=project, user=bob)
    client.force_login(bob)

    response = from_result(client, project, result.pk)

    assert response.status_code == 201
    image = InputImage.objects.get(project=project)
    assert response.json()["url"] == image.public_url()
    assert response.json()["thumb"] == image.thumbnail_path()
    public = Client().get(image.public_path())  # the provider, without a login
    assert public.status_code == 200
    with result.file.open("rb") as stored:
        assert b"".join(public.streaming_content) == stored.read()


def test_the_same_result_used_twice_is_one_input_image(
    client: Client, bob: Any, project: Any
) -> None:
    result = make_result_image(project=project, user=bob)
    client.force_login(bob)

    first = from_result(client, project, result.pk).json()
    second = from_result(client, project, result.pk).json()

    assert first["url"] == second["url"]
    assert InputImage.objects.count() == 1


def test_another_projects_result_is_refused_with_a_sentence(
    client: Client, bob: Any, project: Any, acme: Any
) -> None:
    elsewhere = make_result_image(project=make_project(team=acme, name="Other"), user=bob)
    client.force_login(bob)

    response = from_result(client, project, elsewhere.pk)

    assert response.status_code == 404
    assert response.json()["error"] == (
        "That image is not a result of this project; only its own can be used."
    )
    assert not InputImage.objects.exists()


def test_a_viewer_may_not_add_a_result_as_a_reference(
    client: Client, vera: Any, bob: Any, project: Any
) -> None:
    result = make_result_image(project=project, user=bob)
    client.force_login(vera)

    response = from_result(client, project, result.pk)

    assert response.status_code == 403
    assert response.json()["error"] == "Viewers can browse a project but not add images to it."
    assert not InputImage.objects.exists()


def test_an_outsider_gets_not_found(client: Client, charlie: Any, bob: Any, project: Any) -> None:
    result = make_result_image(project=project, user=bob)
    client.force_login(charlie)

    response = from_result(client, project, result.pk)

    assert response.status_code == 404
    assert not InputImage.objects.exists()


@pytest.mark.parametrize("method", ["get", "put"])
def test_only_a_post_copies(client: Client, bob: Any, project: Any, method: str) -> None:
    result = make_result_image(project=project, user=bob)
    client.force_login(bob)

    response = getattr(client, method)(f"/inputs/projects/{project.pk}/from-result/{result.pk}/")

    assert response.status_code == 405
    assert not InputImage.objects.exists()
