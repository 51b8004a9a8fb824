"""Ratios are stored reduced, as Midjourney writes them: the gallery's aspect filter lists
each shape once ("1:1", never "512:512")."""

import importlib
from typing import Any

from django.apps import apps

from studio.generation.models import Job
from studio.generation.services import job_describe, ratio_of
from studio.inputs.models import InputImage
from tests.factories import make_job, make_png

reduce_ratios = importlib.import_module(
    "studio.generation.migrations.0010_reduced_ratios"
).reduce_ratios


def test_a_pixel_size_is_stored_as_its_reduced_ratio() -> None:
    assert [ratio_of(512, 512), ratio_of(640, 400), ratio_of(1920, 1080), ratio_of(0, 5)] == [
        "1:1",
        "8:5",
        "16:9",
        "1:1",
    ]


def test_a_describe_job_stores_the_images_shape_not_its_size(project: Any, bob: Any) -> None:
    image = InputImage.objects.create(
        project=project,
        uploaded_by=bob,
        file="inputs/dune.png",
        thumbnail="inputs/thumbnails/dune.webp",
        width=640,
        height=400,
        format="png",
        size_bytes=len(make_png()),
        sha256="0" * 64,
    )

    job = job_describe(project=project, user=bob, image=image)

    assert job.aspect_ratio == "8:5"


def test_ratios_stored_before_are_reduced_and_others_left_alone(project: Any, bob: Any) -> None:
    old = make_job(project=project, user=bob, operation="describe", aspect_ratio="512:512")
    wide = make_job(project=project, user=bob, operation="describe", aspect_ratio="1920:1080")
    kept = make_job(project=project, user=bob, aspect_ratio="16:9")

    reduce_ratios(apps, None)

    ratios = dict(Job.objects.values_list("pk", "aspect_ratio"))
    assert (ratios[old.pk], ratios[wide.pk], ratios[kept.pk]) == ("1:1", "16:9", "16:9")
