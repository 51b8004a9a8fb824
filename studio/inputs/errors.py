"""The one error class of the inputs app: its message is a sentence for the user."""

import math

MEBIBYTE = 1024 * 1024


class InputImageError(Exception):
    """An input image (an upload or a link) was refused; `message` says why, for the user.

    `status_code` is the HTTP status a view answers with.
    """

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputImageTooLarge(InputImageError):
    """The image is over Studio's byte limit (HTTP 413)."""

    status_code = 413


class NotThisProjects(InputImageError):
    """The image asked for is not the project's (HTTP 404, as for an outsider)."""

    status_code = 404


def describe_size(size: int, *, round_up: bool = False) -> str:
    """A byte count as people read it ("31.2 MB", "900 KB"); MB are mebibytes.

    `round_up` is for sizes compared with a limit, so that a file one byte over
    "25 MB" does not read as "25 MB" too.
    """
    if size >= MEBIBYTE:
        value, unit = size / MEBIBYTE, "MB"
    elif size >= 1024:
        value, unit = size / 1024, "KB"
    else:
        return f"{size} bytes"
    tenths = math.ceil(value * 10) if round_up else math.floor(value * 10)
    return f"{tenths / 10:.1f}".removesuffix(".0") + f" {unit}"
