"""A socket shows a team's work only to its members, and only while they are: every
change of access ends the sockets it concerns at once, and every (re)connect checks
access afresh."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from studio.billing import live as billing_live
from studio.generation import live
from tests.factories import make_job, make_membership, make_project
from tests.realtime.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


async def opened(socket: Any) -> None:
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_from(timeout=5)  # the resync every (re)connect starts with


async def closed_with(socket: Any) -> int:
    message = await socket.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return int(message["code"])


async def joins(socket: Any) -> bool:
    connected, _ = await socket.connect()
    await socket.disconnect()
    return bool(connected)


def test_a_member_of_two_teams_gets_nothing_of_one_on_the_others_project(
    project: Any, globex: Any, alice: Any, bob: Any
) -> None:
    make_membership(team=globex, user=bob)
    theirs = make_project(team=globex, name="Theirs")
    on_globex, alices = communicator(theirs, user=bob), communicator(project, user=alice)

    async def scenario() -> bool:
        await opened(on_globex)
        await opened(alices)
        job = await sync_to_async(make_job)(project=project, user=bob, prompt="acme only")
        await sync_to_async(live.push_job)(job.pk, created=True)
        await sync_to_async(billing_live.push_meters)(team_id=project.team_id, user_id=bob.pk)
        assert "acme only" in await alices.receive_from(timeout=5)
        assert "meter-team" in await alices.receive_from(timeout=5)
        nothing = await on_globex.receive_nothing(timeout=0.5)
        await alices.disconnect()
        await on_globex.disconnect()
        return nothing

    assert async_to_sync(scenario)()


def test_a_member_sees_their_own_meter_for_the_team_of_the_project_they_watch(
    project: Any, globex: Any, bob: Any
) -> None:
    make_membership(team=globex, user=bob)
    socket = communicator(project, user=bob)

    async def scenario() -> str:
        await opened(socket)
        await sync_to_async(billing_live.push_meters)(team_id=project.team_id, user_id=bob.pk)
        mine = await socket.receive_from(timeout=5)
        await socket.disconnect()
        return mine

    assert f'id="meter-me-{project.team_id}"' in async_to_sync(scenario)()
