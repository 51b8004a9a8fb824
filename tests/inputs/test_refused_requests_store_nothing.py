"""A describe or blend that is refused, for whatever reason, leaves nothing behind: no
input image row, no file in storage, no job, no ledger row. Images the project already
had (uploads are deduplicated per project) are never deleted by someone else's refusal."""

from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tasks_db.models import DBTaskResult

from studio.billing.models import LedgerEntry
from studio.generation.models import Job, ResultImage, Status
from studio.inputs.models import InputImage
from studio.inputs.services import input_image_upload
from tests.billing.helpers import set_budget
from tests.factories import make_job, make_png, make_project
from tests.inputs.conftest import Site
from tests.inputs.images import image_bytes

RED = image_bytes("PNG", color="#e63946")
GREEN = image_bytes("PNG", color="#2a9d8f")
BLUE = image_bytes("PNG", color="#264653")


def png(data: bytes, name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def make_result(*, project: Any, user: Any, color: str) -> ResultImage:
    job = make_job(project=project, user=user, status=Status.COMPLETED)
    result = ResultImage(job=job, index=ResultImage.GRID, width=512, height=512)
    result.file.save(f"grid-{job.pk}.png", ContentFile(make_png(color=color)), save=False)
    result.thumbnail.save(f"grid-{job.pk}.webp", ContentFile(make_png(color=color)), save=False)
    result.save()
    return result


def snapshot(settings: Any) -> dict[str, Any]:
    """Everything a refused request could leave behind."""
    root = Path(settings.MEDIA_ROOT)
    return {
        "input images": InputImage.objects.count(),
        "jobs": Job.objects.count(),
        "ledger rows": LedgerEntry.objects.count(),
        "queued tasks": DBTaskResult.objects.count(),
        "files": sorted(str(path) for path in root.rglob("*") if path.is_file()),
    }


@pytest.fixture
def member(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


@pytest.fixture
def own_result(project: Any, bob: Any) -> ResultImage:
    return make_result(project=project, user=bob, color="#f4a261")


@pytest.fixture
def foreign_result(globex: Any, charlie: Any) -> ResultImage:
    return make_result(project=make_project(team=globex), user=charlie, color="#8338ec")


def describe(client: Client, project: Any, **data: Any) -> Any:
    return client.post(f"/projects/{project.pk}/describe/", {"mode": "fast", **data})


def blend(client: Client, project: Any, **data: Any) -> Any:
    return client.post(
        f"/projects/{project.pk}/blend/", {"dimension": "square", "mode": "fast", **data}
    )


# --- describe --------------------------------------------------------------------------


def test_a_describe_over_budget_stores_no_image(
    member: Client, project: Any, acme: Any, bob: Any, settings: Any
) -> None:
    set_budget(acme, "0", user=bob)
    before = snapshot(settings)

    response = describe(member, project, image=png(RED))

    assert response.status_code == 422
    assert "$0.00 left of your $0.00 budget" in response.content.decode()
    assert snapshot(settings) == before


def test_a_describe_of_a_link_over_budget_stores_no_image(
    member: Client, project: Any, acme: Any, bob: Any, settings: Any, images_site: Site
) -> None:
    set_budget(acme, "0", user=bob)
    before = snapshot(settings)

    response = describe(member, project, url=f"{images_site.url}/refs/pier.png")

    assert response.status_code == 422
    assert images_site.paths() == ["/refs/pier.png"]  # fetched, checked, then refused
    assert snapshot(settings) == before


def test_a_describe_over_budget_keeps_the_projects_copy_of_the_same_image(
    member: Client, project: Any, acme: Any, alice: Any, bob: Any, settings: Any
) -> None:
    existing = input_image_upload(project=project, user=alice, uploaded_file=png(RED))
    set_budget(acme, "0", user=bob)
    before = snapshot(settings)

    response = describe(member, project, image=png(RED, "again.png"))

    assert response.status_code == 422
    assert snapshot(settings) == before
    existing.refresh_from_db()
    with existing.file.open("rb") as stored:
        assert stored.read() == RED


def test_a_describe_of_a_file_that_is_not_an_image_stores_nothing(
    member: Client, project: Any, settings: Any
) -> None:
    before = snapshot(settings)

    response = describe(member, project, image=png(b"not a picture\n" * 40, "notes.png"))

    assert response.status_code == 422
    assert "“notes.png” is not an image Studio can read" in response.content.decode()
    assert snapshot(settings) == before


def test_a_describe_of_a_link_inside_the_network_stores_nothing(
    member: Client, project: Any, settings: Any
) -> None:
    before = snapshot(settings)

    response = describe(member, project, url="http://169.254.169.254/latest/meta-data/")

    assert response.status_code == 422
    assert "points inside a private network" in response.content.decode()
    assert snapshot(settings) == before


def test_a_describe_that_is_accepted_stores_its_image_with_its_job(
    member: Client, project: Any, settings: Any
) -> None:
    response = describe(member, project, image=png(RED))

    assert response.status_code == 201
    job = Job.objects.get(operation="describe")
    image = InputImage.objects.get()
    assert list(job.inputs.all()) == [image]
    assert Path(image.file.path).read_bytes() == RED
    assert LedgerEntry.objects.filter(job=job).count() == 1


# --- blend -----------------------------------------------------------------------------


def test_a_blend_with_a_result_of_another_team_stores_nothing(
    member: Client, project: Any, settings: Any, foreign_result: ResultImage
) -> None:
    before = snapshot(settings)

    response = blend(member, project, images=[png(RED)], results=[foreign_result.pk])

    assert response.status_code == 422
    assert "One of the chosen results is not in this project." in response.content.decode()
    assert snapshot(settings) == before


def test_a_blend_with_an_unknown_result_stores_nothing(
    member: Client, project: Any, settings: Any, own_result: ResultImage
) -> None:
    before = snapshot(settings)

    response = blend(
        member, project, images=[png(RED)], results=[own_result.pk, own_result.pk + 1000]
    )

    assert response.status_code == 422
    assert "One of the chosen results is not in this project." in response.content.decode()
    assert snapshot(settings) == before


@pytest.mark.parametrize("result_id", ["abc", "²", "-1", ""])
def test_a_blend_with_a_result_id_that_is_not_one_stores_nothing(
    member: Client, project: Any, settings: Any, result_id: str
) -> None:
    before = snapshot(settings)

    response = blend(member, project, images=[png(RED)], results=[result_id])

    assert response.status_code == 422
    assert "One of the chosen results is not in this project." in response.content.decode()
    assert snapshot(settings) == before


@pytest.mark.parametrize("count", [1, 6])
def test_a_blend_of_too_few_or_too_many_images_stores_nothing(
    member: Client, project: Any, settings: Any, count: int
) -> None:
    colors = ["#000000", "#111111", "#222222", "#333333", "#444444", "#555555"]
    files = [png(image_bytes("PNG", color=color)) for color in colors[:count]]
    before = snapshot(settings)

    response = blend(member, project, images=files)

    assert response.status_code == 422
    assert f"Blend takes 2 to 5 images; you picked {count}." in response.content.decode()
    assert snapshot(settings) == before


def test_a_blend_with_one_bad_upload_stores_none_of_the_good_ones(
    member: Client, project: Any, settings: Any
) -> None:
    before = snapshot(settings)

    response = blend(
        member,
        project,
        images=[png(RED), png(GREEN), png(image_bytes("PNG", size=(100, 100)), "tiny.png")],
    )

    assert response.status_code == 422
    assert "its width and height must be at least 256 px" in response.content.decode()
    assert snapshot(settings) == before


def test_a_blend_over_budget_stores_no_image(
    member: Client,
    project: Any,
    acme: Any,
    bob: Any,
    settings: Any,
    own_result: ResultImage,
) -> None:
    set_budget(acme, "0", user=bob)
    before = snapshot(settings)

    response = blend(member, project, images=[png(RED), png(GREEN)], results=[own_result.pk])

    assert response.status_code == 422
    assert "$0.00 left of your $0.00 budget" in response.content.decode()
    assert snapshot(settings) == before


def test_a_blend_over_budget_keeps_the_images_the_project_already_had(
    member: Client, project: Any, acme: Any, alice: Any, bob: Any, settings: Any
) -> None:
    existing = input_image_upload(project=project, user=alice, uploaded_file=png(RED))
    set_budget(acme, "0", user=bob)
    before = snapshot(settings)

    response = blend(member, project, images=[png(RED, "same.png"), png(BLUE)])

    assert response.status_code == 422
    assert snapshot(settings) == before
    assert InputImage.objects.get() == existing
    assert Path(existing.file.path).read_bytes() == RED
    assert Path(existing.thumbnail.path).is_file()


def test_a_blend_that_is_accepted_stores_its_images_with_its_job_in_order(
    member: Client, project: Any, bob: Any, own_result: ResultImage
) -> None:
    existing = input_image_upload(project=project, user=bob, uploaded_file=png(RED))

    response = blend(member, project, images=[png(GREEN), png(RED)], results=[own_result.pk])

    assert response.status_code == 201
    job = Job.objects.get(operation="blend")
    input_ids = job.parameters["input_ids"]
    assert len(input_ids) == 3 and input_ids[1] == existing.pk
    assert set(job.inputs.values_list("pk", flat=True)) == set(input_ids)
    assert InputImage.objects.count() == 3
    from_result = InputImage.objects.get(pk=input_ids[2])
    assert Path(from_result.file.path).read_bytes() == Path(own_result.file.path).read_bytes()
