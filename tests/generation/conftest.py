from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from studio.inputs.models import InputImage
from studio.inputs.services import input_image_check_upload, input_images_saved
from studio.providers.piapi import PiAPI, task_from_data
from tests.factories import make_art, make_png
from tests.payloads import load
from tests.sandbox.helpers import png_bytes


@pytest.fixture
def provider() -> Any:
    """The provider client patched at its boundary: GET says completed, images download."""
    completed = task_from_data(load("task_completed")["data"])
    with (
        mock.patch.object(PiAPI, "get_task", autospec=True, return_value=completed) as get,
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=lambda *a, **k: make_png()),
    ):
        yield get


@pytest.fixture
def legnext_only(acme: Any) -> Any:
    """Acme's one key speaks LegNext."""
    acme.provider_keys.update(provider="legnext", label="LegNext")
    return acme


@pytest.fixture
def input_image(project: Any, bob: Any) -> InputImage:
    """An upload of the project, stored as the composer stores one."""
    art = make_art(("#1d3557", "#e63946", "#f1faee", "#a8dadc"), size=640)
    checked = input_image_check_upload(SimpleUploadedFile("art.png", png_bytes(art), "image/png"))
    with input_images_saved(project=project, user=bob, images=[checked]) as (image,):
        return image
