"""A page whose push was lost on its way finds out and converges: every push to a project
is numbered, a number skipped (or the check after a burst) shows the loss, and the page's
"resync" brings the project's current state with the latest number."""

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer

from studio.generation import live
from studio.generation.models import Job, Status
from studio.realtime import layer as layer_module
from studio.realtime import sequence
from studio.realtime.groups import project_group
from studio.realtime.layer import RedisChannelLayer as StudioRedisLayer
from studio.realtime.sequence import RESYNC
from tests.conftest import needs_redis, redis_url
from tests.factories import make_job
from tests.realtime.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def numbered(message: str) -> tuple[str, int]:
    found = sequence.parse(message)
    assert found is not None, f"a message without a number: {message[:120]!r}"
    return found


async def lose_a_push(project: Any, job: Job, progress: int) -> None:
    """The job moves on and its push is lost for the (only) socket watching: its channel
    is out of the group while the push goes, as when a full channel drops it."""
    layer = get_channel_layer()
    group = project_group(project.pk)
    (channel,) = layer.groups[group]  # type: ignore[union-attr]
    await layer.group_discard(group, channel)  # type: ignore[union-attr]
    await sync_to_async(Job.objects.filter(pk=job.pk).update)(progress=progress)
    await sync_to_async(live.push_job)(job.pk)
    await layer.group_add(group, channel)  # type: ignore[union-attr]


@pytest.mark.usefixtures("in_memory_layer")
def test_a_page_that_missed_a_push_sees_the_gap_and_gets_the_current_state(
    project: Any, bob: Any
) -> None:
    running = make_job(project=project, user=bob, status=Status.PROCESSING, progress=20)
    other = make_job(project=project, user=bob, status=Status.PROCESSING, progress=5)
    socket = communicator(project, user=bob)

    async def scenario() -> tuple[list[tuple[str, int]], str]:
        await socket.connect()
        first = numbered(await socket.receive_from(timeout=5))
        await lose_a_push(project, running, progress=60)
        await sync_to_async(Job.objects.filter(pk=other.pk).update)(progress=10)
        await sync_to_async(live.push_job)(other.pk)
        after_the_loss = numbered(await socket.receive_from(timeout=5))
        await socket.send_to(text_data=RESYNC)
        state = await socket.receive_from(timeout=5)
        await socket.disconnect()
        return [first, after_the_loss, numbered(state)], state

    (first, after_the_loss, again), state = async_to_sync(scenario)()

    assert first[0] == "snapshot"
    assert after_the_loss == ("push", first[1] + 2)  # one number skipped: the one lost
    assert again == ("snapshot", after_the_loss[1])  # it holds every push so far
    assert f'<article id="job-{running.pk}"' in state
    assert 'value="60"' in state  # the lost progress, now shown


@pytest.mark.usefixtures("in_memory_layer")
def test_a_push_lost_last_is_found_by_the_check_that_follows_it(project: Any, bob: Any) -> None:
    running = make_job(project=project, user=bob, status=Status.PROCESSING, progress=20)
    socket = communicator(project, user=bob)

    async def scenario() -> tuple[int, tuple[str, int], str]:
        await socket.connect()
        _, shown = numbered(await socket.receive_from(timeout=5))
        await lose_a_push(project, running, progress=90)  # and nothing after it
        check = numbered(await socket.receive_from(timeout=5))
        await socket.send_to(text_data=RESYNC)
        state = await socket.receive_from(timeout=5)
        await socket.disconnect()
        return shown, check, state

    shown, check, state = async_to_sync(scenario)()

    assert check == ("check", shown + 1)  # one more than the page holds: it asks again
    assert 'value="90"' in state


def test_the_gallery_gets_no_state_to_ask_for_again(project: Any, bob: Any) -> None:
    make_job(project=project, user=bob)
    socket = communicator(project, user=bob, query="view=gallery")

    async def scenario() -> bool:
        await socket.connect()
        await socket.send_to(text_data=RESYNC)
        nothing = await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        return nothing

    assert async_to_sync(scenario)() is True


@needs_redis
def test_the_number_is_shared_through_redis_and_a_lost_counter_restarts_above_it() -> None:
    layer = RedisChannelLayer(hosts=[redis_url()], prefix="studio-test-numbers")
    group = "project-424242"

    async def scenario() -> list[int]:
        first = await sequence.next_number(layer, group)
        second = await sequence.next_number(layer, group)
        current = await sequence.current_number(layer, group)
        await layer.connection(0).delete(f"{layer.prefix}:live-number:{group}")  # lost
        restarted = await sequence.next_number(layer, group)
        await layer.flush()
        return [first, second, current, restarted]

    first, second, current, restarted = async_to_sync(scenario)()

    assert second == first + 1 and current == second
    assert restarted > second


@needs_redis
def test_numbered_pushes_through_redis_reach_the_group_in_order_and_no_expired_member() -> None:
    """Studio's layer takes the number and the group's members in one round trip and
    sends in a second: what a member gets is channels_redis's group_send, numbered."""
    layer = StudioRedisLayer(hosts=[redis_url()], prefix="studio-test-numbered", capacity=2)
    group = "project-434343"

    async def scenario() -> tuple[list[str], list[str], bool]:
        member, gone = await layer.new_channel(), await layer.new_channel()
        await layer.group_add(group, member)
        await layer.group_add(group, gone)
        key = layer._group_key(group)
        await layer.connection(0).zadd(key, {gone: 1})  # joined long ago: expired
        for html in ("<p>one</p>", "<p>two</p>", "<p>three</p>"):
            await sequence.send_numbered(layer, group, html)
        received = [(await layer.receive(member))["html"] for _ in range(2)]
        members = [name.decode() for name in await layer.connection(0).zrange(key, 0, -1)]
        try:
            await asyncio.wait_for(layer.receive(member), timeout=0.5)
            third = True
        except TimeoutError:
            third = False
        await layer.flush()
        return received, members, third

    received, members, third = async_to_sync(scenario)()

    (kind, first), (_, second) = (numbered(message) for message in received)
    assert kind == "push" and second == first + 1
    assert received[0].endswith("<p>one</p>") and received[1].endswith("<p>two</p>")
    assert not third  # the channel was full (capacity 2): dropped, as channels_redis does
    assert len(members) == 1  # the expired member was dropped, not sent to


@needs_redis
def test_pushes_from_two_processes_reach_a_member_in_the_order_of_their_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two web processes push to one project, the second's clock 5 s behind the first's.
    The member's channel gives the pushes in the order of their numbers: it gives the
    oldest first, by the time each message was sent, and a push sent later but stamped
    earlier would come first, a gap the page could only close by asking for everything."""
    first = StudioRedisLayer(hosts=[redis_url()], prefix="studio-test-two-senders")
    second = StudioRedisLayer(hosts=[redis_url()], prefix="studio-test-two-senders")
    group = "project-454545"
    behind = SimpleNamespace(time=lambda: time.time() - 5)

    async def scenario() -> list[str]:
        member = await first.new_channel()
        await first.group_add(group, member)
        await sequence.send_numbered(first, group, "<p>one</p>")
        with monkeypatch.context() as clock:
            clock.setattr(layer_module, "time", behind)
            await sequence.send_numbered(second, group, "<p>two</p>")
        await sequence.send_numbered(first, group, "<p>three</p>")
        received = [(await first.receive(member))["html"] for _ in range(3)]
        await first.flush()
        return received

    received = async_to_sync(scenario)()

    assert [html.split("-->", 1)[1] for html in received] == [
        "<p>one</p>",
        "<p>two</p>",
        "<p>three</p>",
    ]
    numbers = [numbered(html)[1] for html in received]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


@needs_redis
def test_the_check_after_pushes_from_a_process_whose_clock_is_ahead_comes_after_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check that follows a burst tells the last number pushed; come before the
    pushes it tells of, it would make the page ask for everything for nothing."""
    first = StudioRedisLayer(hosts=[redis_url()], prefix="studio-test-check-order")
    second = StudioRedisLayer(hosts=[redis_url()], prefix="studio-test-check-order")
    group = "project-464646"
    ahead = SimpleNamespace(time=lambda: time.time() + 5)

    async def scenario() -> list[str]:
        member = await first.new_channel()
        await first.group_add(group, member)
        with monkeypatch.context() as clock:
            clock.setattr(layer_module, "time", ahead)
            await sequence.send_numbered(second, group, "<p>one</p>")
        await sequence.send_numbered(first, group, "<p>two</p>")
        await asyncio.sleep(sequence.CHECK_AFTER_SECONDS + 0.5)  # the check follows
        received = [(await first.receive(member))["html"] for _ in range(3)]
        await first.flush()
        return received

    received = async_to_sync(scenario)()

    (_, one), (_, two), (kind, checked) = (numbered(html) for html in received)
    assert (two, kind, checked) == (one + 1, "check", one + 1)
