"""Live updates at scale: web processes on one Redis, each holding real browsers' sockets
(daphne through `manage.py runstudio`), talked to over TCP as a browser does. No worker
runs: each push tested here comes from the web process where the change was made."""

import json
import os
import re
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import requests

from studio.accounts.models import Membership, Role
from studio.generation.models import Status
from studio.realtime import sequence
from studio.realtime.groups import ACCESS_ENDED, RECONNECT
from tests.conftest import StudioServer, needs_redis, redis_url, start_server, stop_server
from tests.factories import make_job
from tests.generation.helpers import webhook_body
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


PROGRESS_PILL = re.compile(r'id="status-pill-(\d+)"[^>]*>(\d+)%<')


def test_webhooks_as_fast_as_a_web_process_takes_them_all_reach_a_page_in_order(
    web_pair: tuple[StudioServer, StudioServer], project: Any, bob: Any
) -> None:
    """Eight connections post progress webhooks, each as soon as the last was answered:
    the web process is as busy as it gets. Every job's last progress reaches the page,
    and the pushes' numbers go up one at a time: a number skipped (a push dropped by a
    channel that overflowed) or going back (two sent at once) is a page asking for the
    whole state again."""
    web, _ = web_pair
    jobs = [
        make_job(project=project, user=bob, status=Status.PROCESSING, provider_task_id=f"t-{n}")
        for n in range(16)
    ]
    socket = LiveSocket.open(web.url, f"/ws/projects/{project.pk}/", web.login("bob"))
    messages: list[str] = []
    answers: list[int] = []
    try:
        messages.append(socket.receive_until('id="meter-me-', timeout=20))

        def post_each_step(mine: list[Any]) -> None:
            connection = requests.Session()
            for progress in range(1, 31):
                for job in mine:
                    body = webhook_body("task_processing", task_id=job.provider_task_id)
                    body["data"]["output"].update(progress=progress, intermediate_image_urls=None)
                    response = connection.post(
                        f"{web.url}/webhooks/piapi/{job.pk}/",
                        data=json.dumps(body),
                        headers={
                            "Content-Type": "application/json",
                            "x-webhook-secret": job.webhook_secret,
                        },
                        timeout=30,
                    )
                    answers.append(response.status_code)

        posters = [threading.Thread(target=post_each_step, args=(jobs[n::8],)) for n in range(8)]
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join(timeout=120)
        shown: dict[int, int] = {}
        with suppress(TimeoutError):  # what never comes is told below
            while any(shown.get(job.pk) != 30 for job in jobs):
                message = socket.receive(timeout=20)
                messages.append(message)
                shown.update((int(job), int(step)) for job, step in PROGRESS_PILL.findall(message))
    finally:
        socket.close()

    assert answers == [200] * 16 * 30
    assert {job.pk: shown.get(job.pk) for job in jobs} == {job.pk: 30 for job in jobs}
    marks = [sequence.parse(message) for message in messages]
    assert marks[0] is not None and marks[0][0] == "snapshot"
    pushed = [mark[1] for mark in marks if mark is not None and mark[0] == "push"]
    assert pushed == list(range(marks[0][1] + 1, marks[0][1] + 1 + len(pushed)))
