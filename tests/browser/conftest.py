import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Jobs finish in seconds, but a loaded CI machine (or three Studio processes) is slower
# than Playwright's default 5 s for expectations: a job that waits behind busy cores
# (CI with a CPU hog, the whole suite on two cores) can take half a minute.
expect.set_options(timeout=45_000)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread while it is open (so it
    # is closed after each module: other tests use async_to_sync here); the tests still
    # need the ORM for their fixtures.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(45_000)
    problems = console_problems(page)
    yield page
    context.close()
    assert not problems, "the browser console reported:\n" + "\n".join(problems)


def console_problems(page: Page) -> list[str]:
    """Errors the page's console shows (CSP violations among them), collected while the
    test runs: a page that works but logs errors is not done."""
    problems: list[str] = []

    def heard(message: Any) -> None:
        # Chrome logs every 4xx answer as a failed load, though a refusal the page shows
        # (a 422 with its sentence, a 403 in the notice area) is the app working.
        refused = re.match(r"Failed to load resource: .* status of 4\d\d", message.text)
        if message.type == "error" and not refused:
            where = message.location or {}
            source = f" ({where.get('url', '')}:{where.get('lineNumber', '')})" if where else ""
            problems.append(f"{page.url}: {message.text}{source}")

    page.on("console", heard)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    return problems


def screenshot(page: Page, name: str, **kwargs: Any) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), **kwargs)
    return path


def wait_until(page: Page, script: str, timeout: float = 45.0) -> None:
    """Poll a script until it is true (`wait_for_function` would need eval, which the
    page's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {script}")
        time.sleep(0.05)


def loaded_size(image: Locator, timeout: float = 45.0) -> tuple[int, int]:
    """The image's natural size once it has loaded, as a person waits to see it (a
    visible <img> with width and height attributes may still be loading)."""
    deadline = time.monotonic() + timeout
    while True:
        width, height = image.evaluate(
            "image => image.complete ? [image.naturalWidth, image.naturalHeight] : [0, 0]"
        )
        if width and height:
            return int(width), int(height)
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the image to load")
        time.sleep(0.05)


def region_canvas_ready(page: Page) -> None:
    """Wait, as a person would, until the region editor's image shows and its drawing
    surface lies over it."""
    loaded_size(page.locator("#region-image"))
    wait_until(
        page,
        "(() => { const c = document.getElementById('region-canvas').getBoundingClientRect(),"
        " i = document.getElementById('region-image').getBoundingClientRect();"
        " return i.width > 0 && Math.abs(c.width - i.width) < 1"
        " && Math.abs(c.height - i.height) < 1; })()",
    )
