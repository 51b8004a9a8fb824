"""An expected refusal (a viewer asking to generate) is logged in one line, with its
reason, not as a traceback that looks like a fault."""

import logging
import sys
from typing import Any

from django.test import Client


def console_line(record: logging.LogRecord) -> str:
    """The record as Studio's console handler writes it (its filters applied)."""
    handler = logging.getHandlerByName("console")
    assert handler is not None
    assert handler.filter(record)
    return handler.format(record)


def test_a_refused_request_is_one_line_with_its_reason(
    client: Client, vera: Any, project: Any, caplog: Any
) -> None:
    client.force_login(vera)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(f"/projects/{project.pk}/jobs/", {"prompt": "a fox"})

    assert response.status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    line = console_line(record)
    assert "Forbidden (Permission denied)" in line
    assert "Viewers can browse a project but not generate images." in line
    assert "Traceback" not in line and "\n" not in line


def test_a_real_fault_keeps_its_traceback() -> None:
    try:
        raise ValueError("a real bug")
    except ValueError:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error", None, None
        )
        record.exc_info = sys.exc_info()

    assert "Traceback" in console_line(record)
