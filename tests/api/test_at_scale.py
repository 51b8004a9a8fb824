"""Studio's API at scale: two web processes (daphne) and a worker process on one
database and one Redis. A caller's task made on one web process is run by the worker,
read on the other, and appears on a socket held by either; a token's rate is counted
once across processes."""

from typing import Any

import pytest
import requests

from studio.api.models import ApiToken
from tests.api.piapi_client import PiAPI
from tests.conftest import StudioServer, needs_redis
from tests.websocket import LiveSocket

pytestmark = [needs_redis, pytest.mark.django_db(transaction=True)]


def test_a_task_made_on_one_process_is_run_by_the_worker_and_pushed_to_the_other(
    cluster: tuple[StudioServer, StudioServer], project: Any, alice: Any, bobs_token: Any
) -> None:
    web_a, web_b = cluster
    socket = LiveSocket.open(web_b.url, f"/ws/projects/{project.pk}/", web_b.login("alice"))
    try:
        socket.receive_until('id="meter-me-', timeout=20)  # the page's resync

        created = PiAPI(web_a.url, bobs_token.secret).create("imagine", prompt="a salt marsh")

        pushed = socket.receive_until("API · render farm", timeout=30)
        assert "a salt marsh" in pushed
        task = PiAPI(web_b.url, bobs_token.secret).wait(created["task_id"], timeout=60)
        assert task["status"] == "completed", task["error"]
        assert requests.get(task["output"]["image_url"], timeout=10).status_code == 200
    finally:
        socket.close()


def test_a_tokens_rate_is_counted_once_across_web_processes(
    web_pair: tuple[StudioServer, StudioServer], bobs_token: Any
) -> None:
    ApiToken.objects.filter(pk=bobs_token.token.pk).update(requests_per_minute=5)
    headers = {"x-api-key": bobs_token.secret}

    codes = [
        requests.get(f"{server.url}/account/info", headers=headers, timeout=10).status_code
        for server in web_pair * 5
    ]

    assert codes.count(200) == 5 and codes.count(429) == 5
