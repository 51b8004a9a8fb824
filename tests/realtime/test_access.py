"""A socket shows a team's work only to its members, and only while they are: every
change of access ends the sockets it concerns at once, and every (re)connect checks
access afresh."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client

from studio.accounts import services
from studio.accounts.models import Membership, Role
from studio.billing import live as billing_live
from studio.generation import live
from studio.realtime.groups import ACCESS_ENDED, RECONNECT, SESSION_ENDED
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


def test_a_removed_member_is_closed_at_once_and_gets_nothing_more(
    project: Any, alice: Any, bob: Any
) -> None:
    bobs, alices = communicator(project, user=bob), communicator(project, user=alice)
    membership = Membership.objects.get(user=bob)

    async def scenario() -> tuple[int, bool]:
        await opened(bobs)
        await opened(alices)
        await sync_to_async(services.member_remove)(membership=membership, actor=alice)
        code = await closed_with(bobs)
        job = await sync_to_async(make_job)(project=project, user=alice, prompt="after bob")
        await sync_to_async(live.push_job)(job.pk, created=True)
        await sync_to_async(billing_live.push_meters)(team_id=project.team_id, user_id=bob.pk)
        assert "after bob" in await alices.receive_from(timeout=5)  # the push went out
        nothing = await bobs.receive_nothing(timeout=0.5)
        await alices.disconnect()
        await bobs.disconnect()
        return code, nothing

    code, nothing = async_to_sync(scenario)()

    assert code == ACCESS_ENDED  # the page says so, and does not reconnect
    assert nothing


def test_a_removed_member_cannot_reconnect(project: Any, alice: Any, bob: Any) -> None:
    services.member_remove(membership=Membership.objects.get(user=bob), actor=alice)

    assert async_to_sync(joins)(communicator(project, user=bob)) is False


def test_a_member_whose_role_is_lowered_reconnects_with_the_new_role(
    project: Any, alice: Any, bob: Any
) -> None:
    before = communicator(project, user=bob)
    membership = Membership.objects.get(user=bob)

    async def first() -> int:
        await opened(before)
        await sync_to_async(services.member_role_change)(
            membership=membership, actor=alice, role=Role.VIEWER
        )
        code = await closed_with(before)
        await before.disconnect()
        return code

    assert async_to_sync(first)() == RECONNECT  # the page reconnects at once
    after = communicator(project, user=bob)

    async def second() -> str:
        await opened(after)
        job = await sync_to_async(make_job)(project=project, user=alice, prompt="for a viewer")
        await sync_to_async(live.push_job)(job.pk, created=True)
        message = await after.receive_from(timeout=5)
        await after.disconnect()
        return message

    assert "for a viewer" in async_to_sync(second)()
    assert Membership.objects.get(user=bob).role == Role.VIEWER


def test_a_role_change_refused_for_the_last_admin_leaves_their_socket_open(
    project: Any, alice: Any
) -> None:
    socket = communicator(project, user=alice)
    membership = Membership.objects.get(user=alice)

    async def scenario() -> bool:
        await opened(socket)
        with pytest.raises(services.LastAdminError):
            await sync_to_async(services.member_role_change)(
                membership=membership, actor=alice, role=Role.MEMBER
            )
        job = await sync_to_async(make_job)(project=project, user=alice, prompt="still here")
        await sync_to_async(live.push_job)(job.pk, created=True)
        message = await socket.receive_from(timeout=5)
        await socket.disconnect()
        return "still here" in message

    assert async_to_sync(scenario)()


def test_a_deactivated_account_cannot_connect(project: Any, bob: Any) -> None:
    socket = communicator(project, user=bob)  # logged in while active
    bob.is_active = False
    bob.save(update_fields=["is_active"])

    assert async_to_sync(joins)(socket) is False


def test_logging_out_ends_that_sessions_sockets_and_no_other(project: Any, bob: Any) -> None:
    browser = Client()
    browser.force_login(bob)
    this_session = communicator(project, client=browser)
    other_session = communicator(project, user=bob)  # bob on another computer

    async def scenario() -> tuple[int, str]:
        await opened(this_session)
        await opened(other_session)
        response = await sync_to_async(browser.post)("/accounts/logout/")
        assert response.status_code == 302
        code = await closed_with(this_session)
        job = await sync_to_async(make_job)(project=project, user=bob, prompt="elsewhere")
        await sync_to_async(live.push_job)(job.pk, created=True)
        message = await other_session.receive_from(timeout=5)
        await this_session.disconnect()
        await other_session.disconnect()
        return code, message

    code, message = async_to_sync(scenario)()

    assert code == SESSION_ENDED
    assert "elsewhere" in message


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
        # Their own meter and the team's, in either order (the team's goes to every
        # socket of the team through the process's hub, hub.py).
        both = await socket.receive_from(timeout=5) + await socket.receive_from(timeout=5)
        await socket.disconnect()
        return both

    both = async_to_sync(scenario)()
    assert f'id="meter-me-{project.team_id}"' in both
    assert f'id="meter-team-{project.team_id}"' in both
    assert f'id="meter-me-{globex.pk}"' not in both


def test_a_socket_is_renewed_before_its_group_memberships_can_expire(
    project: Any, bob: Any, settings: Any
) -> None:
    settings.WEBSOCKET_MAX_AGE_SECONDS = 1
    socket = communicator(project, user=bob)

    async def scenario() -> int:
        await opened(socket)
        code = await closed_with(socket)
        await socket.disconnect()
        return code

    # The page reconnects (and resyncs) instead of going quiet a day later.
    assert async_to_sync(scenario)() == RECONNECT
