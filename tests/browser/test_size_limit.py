"""An upload over the request limit, in the browser: the server's sentence shows."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer, start_server, stop_server


@pytest.fixture
def small_limit_server(alone: None, tmp_path: Path) -> Iterator[StudioServer]:
    # Images up to 100 kB make the request limit 1.5 MB: a small file is enough to pass it.
    process, url = start_server(
        media_root=tmp_path / "media", worker=False, extra_env={"INPUT_IMAGE_MAX_BYTES": "100000"}
    )
    yield StudioServer(url, tmp_path / "media")
    stop_server(process)


def test_a_describe_upload_over_the_limit_says_so(
    small_limit_server: StudioServer, page: Page, project: Any, bob: Any, tmp_path: Path
) -> None:
    picture = tmp_path / "huge.png"
    picture.write_bytes(b"\x89PNG" + bytes(2 * 1024 * 1024))
    log_in(page, small_limit_server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    page.click("label[for=tab-describe]")
    page.set_input_files("#describe-form input[name=image]", str(picture))
    page.click("#describe-form button[type=submit]")

    expect(page.locator("#notice .toast")).to_contain_text(
        "The request is 2 MB; Studio accepts at most 1.5 MB (images up to 97 KB)."
    )
    screenshot(page, "upload-over-the-limit")
