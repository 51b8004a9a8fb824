"""Live updates at scale: web processes on one Redis, each holding real browsers' sockets
(daphne through `manage.py runstudio`), talked to over TCP as a browser does. No worker
runs: each push tested here comes from the web process where the change was made."""

import os
from pathlib import Path
from typing import Any

import pytest

from studio.accounts.models import Membership, Role
from studio.realtime.groups import ACCESS_ENDED, RECONNECT
from tests.conftest import StudioServer, needs_redis, redis_url, start_server, stop_server
from tests.websocket import LiveSocket, Refused

pytestmark = needs_redis

# Longer than every timeout between a socket and Redis that could end an idle socket:
# redis-py 8's 5 s read timeout against channels_redis's 5 s blocking receive, daphne's
# 20 s ping interval.
IDLE_SECONDS = 30


def test_an_idle_socket_stays_open_and_still_gets_the_next_push(
    web_pair: tuple[StudioServer, StudioServer], project: Any, alice: Any, bob: Any
) -> None:
    web_a, web_b = web_pair
    socket = LiveSocket.open(web_a.url, f"/ws/projects/{project.pk}/", web_a.login("alice"))
    try:
        socket.receive_until('id="meter-me-', timeout=20)  # the page's resync

        socket.stay_quiet(IDLE_SECONDS)

        response = web_b.login("bob").post(
            f"{web_b.url}/projects/{project.pk}/jobs/",
            data={"prompt": "a lighthouse after a long wait", "mode": "fast"},
            headers={"HX-Request": "true"},
            timeout=10,
        )
        assert response.status_code == 201, response.text[:500]
        card = socket.receive_until("a lighthouse after a long wait", timeout=20)
    finally:
        socket.close()

    assert 'hx-swap-oob="afterbegin:#job-list"' in card


def test_a_removal_made_through_one_web_process_closes_the_socket_held_by_another(
    web_pair: tuple[StudioServer, StudioServer], project: Any, alice: Any, bob: Any
) -> None:
    web_a, web_b = web_pair
    bobs_session = web_a.login("bob")
    socket = LiveSocket.open(web_a.url, f"/ws/projects/{project.pk}/", bobs_session)
    membership = Membership.objects.get(user=bob)
    try:
        socket.receive_until('id="meter-me-', timeout=20)

        response = web_b.login("alice").post(
            f"{web_b.url}/accounts/teams/{project.team_id}/members/{membership.pk}/remove/",
            headers={"HX-Request": "true"},
            timeout=10,
        )
        assert response.status_code == 200
        code = socket.wait_closed(timeout=20)
    finally:
        socket.close()

    assert code == ACCESS_ENDED
    with pytest.raises(Refused) as refused:  # and the page cannot come back
        LiveSocket.open(web_a.url, f"/ws/projects/{project.pk}/", bobs_session).close()
    assert refused.value.status == 403


def test_a_role_change_made_through_one_web_process_reconnects_a_socket_on_another(
    web_pair: tuple[StudioServer, StudioServer], project: Any, alice: Any, bob: Any
) -> None:
    web_a, web_b = web_pair
    bobs_session = web_a.login("bob")
    socket = LiveSocket.open(web_a.url, f"/ws/projects/{project.pk}/", bobs_session)
    membership = Membership.objects.get(user=bob)
    try:
        socket.receive_until('id="meter-me-', timeout=20)
        response = web_b.login("alice").post(
            f"{web_b.url}/accounts/teams/{project.team_id}/members/{membership.pk}/role/",
            data={"role": Role.VIEWER},
            headers={"HX-Request": "true"},
            timeout=10,
        )
        assert response.status_code == 200
        code = socket.wait_closed(timeout=20)
    finally:
        socket.close()
    assert code == RECONNECT

    again = LiveSocket.open(web_a.url, f"/ws/projects/{project.pk}/", bobs_session)
    try:
        snapshot = again.receive_until('id="meter-me-', timeout=20)
    finally:
        again.close()
    assert snapshot


def test_a_socket_is_renewed_through_daphne_when_it_reaches_its_age(
    transactional_db: None, tmp_path: Path, project: Any, bob: Any
) -> None:
    process, url = start_server(
        media_root=tmp_path / "media",
        worker=False,
        extra_env={
            "REDIS_URL": redis_url() or "",
            "REDIS_PREFIX": f"studio-test-renewal-{os.getpid()}",
            "WEBSOCKET_MAX_AGE_SECONDS": "2",
        },
    )
    server = StudioServer(url, tmp_path / "media")
    try:
        session = server.login("bob")
        socket = LiveSocket.open(url, f"/ws/projects/{project.pk}/", session)
        try:
            code = socket.wait_closed(timeout=20)
        finally:
            socket.close()
        again = LiveSocket.open(url, f"/ws/projects/{project.pk}/", session)
        again.receive_until('id="meter-me-', timeout=20)
        again.close()
    finally:
        stop_server(process)

    # Not 1012, which daphne cannot send: the page's script reconnects on this code.
    assert code == RECONNECT
