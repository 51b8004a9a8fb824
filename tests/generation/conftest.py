from typing import Any
from unittest import mock

import pytest

from studio.providers.piapi import PiAPI, task_from_data
from tests.factories import make_png
from tests.payloads import load


@pytest.fixture
def provider() -> Any:
    """The provider client patched at its boundary: GET says completed, images download."""
    completed = task_from_data(load("task_completed")["data"])
    with (
        mock.patch.object(PiAPI, "get_task", autospec=True, return_value=completed) as get,
        mock.patch.object(PiAPI, "download", autospec=True, side_effect=lambda *a, **k: make_png()),
    ):
        yield get
