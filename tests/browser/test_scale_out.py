"""Scale-out: two web processes and a separate worker on one database and one Redis.

A member watches the project on web A; another submits through web B; the worker
process runs the job. The card and then the grid must appear on A without a reload,
which only works when every process pushes through the shared channel layer.
"""

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import (
    StudioServer,
    free_port,
    server_env,
    start_server,
    start_worker,
    stop_server,
)

LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def redis_url() -> str | None:
    """REDIS_URL, or a Redis answering on this machine's default port."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            if connection.recv(16).startswith(b"+PONG"):
                return LOCAL_REDIS
    except OSError:
        pass
    return None


pytestmark = pytest.mark.skipif(
    redis_url() is None,
    reason="several processes share live updates only through Redis, and none answers here",
)


@pytest.fixture
def cluster(
    alone: None, tmp_path: Path, settings: Any
) -> Iterator[tuple[StudioServer, StudioServer]]:
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    port_a, port_b = free_port(), free_port()
    # The sandbox answers on A; the provider's webhooks come back to B.
    shared = {
        "STUDIO_PUBLIC_URL": f"http://127.0.0.1:{port_b}",
        "PIAPI_BASE_URL": f"http://127.0.0.1:{port_a}/sandbox",
        "REDIS_URL": redis_url() or "",
        "REDIS_PREFIX": f"studio-test-{port_a}",
    }
    web_a, url_a = start_server(media_root=media, port=port_a, worker=False, extra_env=shared)
    web_b, url_b = start_server(media_root=media, port=port_b, worker=False, extra_env=shared)
    worker = start_worker(env=server_env(port=port_a, media_root=media, **shared))
    try:
        yield StudioServer(url_a, media), StudioServer(url_b, media)
    finally:
        for process in (worker, web_a, web_b):
            stop_server(process)


def test_a_job_sent_through_one_web_process_shows_live_on_another(
    cluster: tuple[StudioServer, StudioServer], page: Page, project: Any, alice: Any, bob: Any
) -> None:
    web_a, web_b = cluster
    log_in(page, web_a, "alice")
    page.wait_for_url(f"**/projects/{project.pk}/")
    expect(page.locator(".project.ws-open")).to_be_attached()

    session = web_b.login("bob")
    response = session.post(
        f"{web_b.url}/projects/{project.pk}/jobs/",
        data={"prompt": "two harbours, one sea", "aspect_ratio": "3:2", "mode": "fast"},
        headers={"HX-Request": "true"},
        timeout=10,
    )
    assert response.status_code == 201

    card = page.locator(".job-card").first
    expect(card).to_contain_text("two harbours, one sea")
    expect(card.locator("img.job-image")).to_be_visible()
    screenshot(page, "scale-out-web-a")
