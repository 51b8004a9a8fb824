from typing import Any
from unittest import mock

import pytest

from studio.piapi.client import PiAPIClient, ProviderTask
from tests.factories import make_png
from tests.payloads import load


@pytest.fixture
def provider() -> Any:
    """The provider client patched at its boundary: GET says completed, images download."""
    completed = ProviderTask.from_data(load("task_completed")["data"])
    with (
        mock.patch.object(PiAPIClient, "get_task", autospec=True, return_value=completed) as get,
        mock.patch.object(
            PiAPIClient, "download", autospec=True, side_effect=lambda *a, **k: make_png()
        ),
    ):
        yield get
