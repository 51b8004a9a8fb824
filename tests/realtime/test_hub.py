"""A process watches each project's group once, however many of its sockets watch it
(studio/realtime/hub.py): one message a push reaches them all, and the group is left
when the last socket closes."""

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from studio.generation import live
from studio.generation.models import Job, Status
from studio.realtime.groups import project_group
from studio.realtime.hub import hub_for
from tests.factories import make_job
from tests.realtime.sockets import communicator

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]


def test_every_socket_of_a_process_gets_a_push_sent_once_to_the_group(
    project: Any, bob: Any, alice: Any
) -> None:
    job = make_job(project=project, user=bob, status=Status.PROCESSING, progress=10)
    sockets = [communicator(project, user=user) for user in (bob, alice, bob)]
    layer = get_channel_layer()
    sent: list[str] = []
    group_send = layer.group_send  # type: ignore[union-attr]

    async def counted(group: str, message: dict[str, Any]) -> None:
        sent.append(group)
        await group_send(group, message)

    async def scenario() -> tuple[int, list[str]]:
        for socket in sockets:
            await socket.connect()
            await socket.receive_from(timeout=5)  # the page's state
        members = len(layer.groups[project_group(project.pk)])  # type: ignore[union-attr]
        layer.group_send = counted  # type: ignore[union-attr]
        try:
            await sync_to_async(Job.objects.filter(pk=job.pk).update)(status=Status.COMPLETED)
            await sync_to_async(live.push_job)(job.pk)
            cards = [await socket.receive_from(timeout=5) for socket in sockets]
        finally:
            del layer.group_send  # type: ignore[union-attr]
            for socket in sockets:
                await socket.disconnect()
        return members, cards

    members, cards = async_to_sync(scenario)()

    assert members == 1  # the process's hub, not one channel a socket
    assert sent.count(project_group(project.pk)) == 1
    assert all(f'<article id="job-{job.pk}"' in card for card in cards)


def test_a_socket_that_closes_leaves_the_others_watching_and_the_last_leaves_the_group(
    project: Any, bob: Any, alice: Any
) -> None:
    job = make_job(project=project, user=bob, status=Status.PROCESSING, progress=10)
    first, second = communicator(project, user=bob), communicator(project, user=alice)
    layer = get_channel_layer()
    group = project_group(project.pk)

    async def scenario() -> tuple[str, bool]:
        for socket in (first, second):
            await socket.connect()
            await socket.receive_from(timeout=5)
        await first.disconnect()
        await sync_to_async(Job.objects.filter(pk=job.pk).update)(progress=70)
        await sync_to_async(live.push_job)(job.pk)
        news = await second.receive_from(timeout=5)
        await second.disconnect()
        return news, bool(layer.groups.get(group))  # type: ignore[union-attr]

    news, still_in_group = async_to_sync(scenario)()

    assert f'id="status-pill-{job.pk}"' in news and "70%" in news
    assert not still_in_group  # nothing left to receive pushes nobody reads


def test_the_hub_renews_its_membership_before_the_layer_lets_it_expire(settings: Any) -> None:
    settings.WEBSOCKET_MAX_AGE_SECONDS = 1
    layer = get_channel_layer()
    layer.group_expiry = 2  # type: ignore[union-attr]
    received: list[str] = []

    class Page:
        async def html_push(self, event: dict[str, Any]) -> None:
            received.append(event["html"])

    async def scenario() -> None:
        hub, page = hub_for(layer), Page()  # type: ignore[arg-type]
        await hub.join("project-1", page)
        await asyncio.sleep(3.5)  # past the expiry: only a renewed membership is sent to
        await layer.group_send("project-1", {"type": "html.push", "html": "news"})  # type: ignore[union-attr]
        for _ in range(50):
            if received:
                break
            await asyncio.sleep(0.1)
        await hub.leave("project-1", page)

    async_to_sync(scenario)()

    assert received == ["news"]
