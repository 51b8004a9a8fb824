"""An input image's public URL (`/inputs/<token>/<name>`) answers only while the provider
may fetch it: while the member composes (uploaded less than a day ago, used by no job
yet), and while a job that uses it is unfinished or finished less than a day ago. After
that it is a 404; the image itself stays in Studio for the project's pages."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from studio.generation.models import Job, Status
from studio.inputs.models import InputImage
from studio.inputs.services import input_image_upload
from tests.factories import make_job
from tests.inputs.images import image_bytes

PNG = image_bytes("PNG", color="#e9c46a")


@pytest.fixture
def image(project: Any, bob: Any) -> InputImage:
    uploaded = SimpleUploadedFile("ref.png", PNG, content_type="image/png")
    return input_image_upload(project=project, user=bob, uploaded_file=uploaded)


def uploaded_ago(image: InputImage, **ago: float) -> None:
    InputImage.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(**ago))


def job_using(image: InputImage, *, status: str, finished_ago: timedelta | None = None) -> Job:
    finished_at = timezone.now() - finished_ago if finished_ago is not None else None
    job = make_job(
        project=image.project,
        user=image.uploaded_by,
        operation="describe",
        status=status,
        finished_at=finished_at,
    )
    job.inputs.add(image)
    return job


def answers(client: Client, image: InputImage) -> bool:
    response = client.get(image.public_path())
    assert response.status_code in (200, 404)
    return response.status_code == 200


def test_a_fresh_upload_answers_while_the_member_composes(
    client: Client, image: InputImage
) -> None:
    uploaded_ago(image, hours=23)

    assert answers(client, image)


def test_an_upload_no_job_used_within_a_day_is_gone(client: Client, image: InputImage) -> None:
    uploaded_ago(image, hours=25)

    assert not answers(client, image)


@pytest.mark.parametrize("status", [Status.QUEUED, Status.SUBMITTED, Status.PROCESSING])
def test_an_image_answers_while_a_job_that_uses_it_is_unfinished(
    client: Client, image: InputImage, status: str
) -> None:
    uploaded_ago(image, days=30)
    job_using(image, status=status)

    assert answers(client, image)


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.FAILED, Status.CANCELED])
def test_an_image_answers_for_a_day_after_its_job_finished(
    client: Client, image: InputImage, status: str
) -> None:
    uploaded_ago(image, days=3)
    job = job_using(image, status=status, finished_ago=timedelta(hours=23))

    assert answers(client, image)

    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(hours=25))

    assert not answers(client, image)


def test_a_used_image_is_gone_a_day_after_its_job_even_if_uploaded_recently(
    client: Client, image: InputImage
) -> None:
    # Composing time is over once a job used the image.
    uploaded_ago(image, hours=2)
    job_using(image, status=Status.FAILED, finished_ago=timedelta(hours=25))

    assert not answers(client, image)


def test_one_unfinished_job_among_old_ones_keeps_the_image_answering(
    client: Client, image: InputImage
) -> None:
    uploaded_ago(image, days=10)
    job_using(image, status=Status.COMPLETED, finished_ago=timedelta(days=9))
    job_using(image, status=Status.COMPLETED, finished_ago=timedelta(days=2))

    assert not answers(client, image)

    job_using(image, status=Status.PROCESSING)

    assert answers(client, image)


def test_a_job_with_an_end_status_but_no_finish_time_does_not_keep_it_forever(
    client: Client, image: InputImage
) -> None:
    uploaded_ago(image, days=3)
    job_using(image, status=Status.FAILED, finished_ago=None)

    assert not answers(client, image)


def test_a_status_studio_does_not_know_yet_counts_as_unfinished(
    client: Client, image: InputImage
) -> None:
    # New unfinished statuses may be added; they must not end the URL early.
    uploaded_ago(image, days=3)
    job = job_using(image, status=Status.PROCESSING)
    Job.objects.filter(pk=job.pk).update(status="paused")

    assert answers(client, image)


def test_the_public_url_costs_one_query(
    client: Client, image: InputImage, django_assert_num_queries: Any
) -> None:
    job_using(image, status=Status.COMPLETED, finished_ago=timedelta(hours=1))

    with django_assert_num_queries(1):
        assert answers(client, image)


def test_a_gone_image_stays_on_the_projects_pages(
    client: Client, image: InputImage, bob: Any
) -> None:
    uploaded_ago(image, days=3)
    job = job_using(image, status=Status.COMPLETED, finished_ago=timedelta(days=2))
    client.force_login(bob)

    assert not answers(client, image)
    card = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'src="{image.image_path()}"' in card
    assert client.get(image.image_path()).getvalue() == PNG
    assert client.get(image.thumbnail_path()).status_code == 200


def test_a_new_prompt_that_refers_to_a_gone_upload_brings_its_url_back_for_the_job(
    client: Client,
    image: InputImage,
    bob: Any,
    settings: Any,
) -> None:
    settings.STUDIO_PUBLIC_URL = "http://127.0.0.1:8000"
    uploaded_ago(image, days=3)
    job_using(image, status=Status.COMPLETED, finished_ago=timedelta(days=2))
    assert not answers(client, image)
    client.force_login(bob)

    response = client.post(
        f"/projects/{image.project_id}/jobs/",
        {"prompt": f"a cat --sref {image.public_url()}", "mode": "fast"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 201
    assert list(Job.objects.get(prompt__startswith="a cat").inputs.all()) == [image]
    assert answers(client, image)
