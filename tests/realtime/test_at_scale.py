"""Live updates at scale: web processes on one Redis, each holding real browsers' sockets
(daphne through `manage.py runstudio`), talked to over TCP as a browser does."""

from typing import Any

from tests.conftest import StudioServer, needs_redis
from tests.websocket import LiveSocket

pytestmark = needs_redis

# Longer than every timeout between a socket and Redis that could end an idle socket:
# redis-py 8's 5 s read timeout against channels_redis's 5 s blocking receive, daphne's
# 20 s ping interval.
IDLE_SECONDS = 30


def test_an_idle_socket_stays_open_and_still_gets_the_next_push(
    cluster: tuple[StudioServer, StudioServer], project: Any, alice: Any, bob: Any
) -> None:
    web_a, web_b = cluster
    socket = LiveSocket.open(web_a.url, f"/ws/projects/{project.pk}/", web_a.login("alice"))
    try:
        socket.receive_until('id="job-list"', timeout=20)  # the page's resync

        socket.stay_quiet(IDLE_SECONDS)

        response = web_b.login("bob").post(
            f"{web_b.url}/projects/{project.pk}/jobs/",
            data={"prompt": "a lighthouse after a long wait", "mode": "fast"},
            headers={"HX-Request": "true"},
            timeout=10,
        )
        assert response.status_code == 201
        card = socket.receive_until("a lighthouse after a long wait", timeout=20)
    finally:
        socket.close()

    assert 'hx-swap-oob="afterbegin:#job-list"' in card
