import asyncio
import logging
import random
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from studio.generation.live import project_snapshot_html
from studio.projects.models import Project
from studio.realtime.groups import (
    ACCESS_ENDED,
    RECONNECT,
    account_group,
    member_group,
    project_group,
    remember_consumer_loop,
    session_group,
    team_group,
)
from studio.realtime.hub import hub_for
from studio.realtime.sequence import RESYNC, current_number, mark

logger = logging.getLogger(__name__)


@database_sync_to_async
def _team_of_project(project_id: int) -> int | None:
    return Project.objects.filter(pk=project_id).values_list("team_id", flat=True).first()


@database_sync_to_async
def _may_watch(user: Any, project_id: int) -> bool:
    # Read afresh on every (re)connect: nothing about access is remembered between sockets.
    return user.is_active and Project.objects.visible_to(user).filter(pk=project_id).exists()


class ProjectConsumer(AsyncWebsocketConsumer):
    """Live updates of one project's jobs, for members of its team only, and only for
    as long as they are: a change of their access closes the socket (see groups.py)."""

    joined: list[str]
    watching: list[str]
    ended = False
    resyncs = False
    project_id: int
    focus: int | None = None
    renewal: "asyncio.Task[None] | None" = None

    async def connect(self) -> None:
        remember_consumer_loop()
        self.joined = []
        self.watching = []
        user = self.scope["user"]
        project_id = int(self.scope["url_route"]["kwargs"]["project_id"])
        team_id = await _team_of_project(project_id) if user.is_authenticated else None
        if team_id is None:
            await self.close(code=ACCESS_ENDED)
            return
        # Join the groups that end this socket before checking access: a change of
        # access committed after the check then reaches it, and one committed before
        # refuses it here.
        await self._join(account_group(user.pk), member_group(team_id, user.pk))
        if self.scope["session"].session_key:
            await self._join(session_group(self.scope["session"].session_key))
        if not await _may_watch(user, project_id):
            await self._end(ACCESS_ENDED)
            return
        await self._watch(project_group(project_id), team_group(team_id))
        await self.accept()
        self.renewal = asyncio.create_task(self._renew_later())
        # A browser that (re)connects may have missed pushes: send the current state.
        query = parse_qs(self.scope.get("query_string", b"").decode())
        # The gallery only takes new tiles; it has no job list to resync.
        self.resyncs = query.get("view", [""])[0] != "gallery"
        focus = query.get("job", [""])[0]
        self.focus = int(focus) if focus.isdigit() else None
        self.project_id = project_id
        await self._send_state()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The page found a numbered push missing (studio.js): it asks for the state again.
        if text_data == RESYNC and not self.ended:
            await self._send_state()

    async def disconnect(self, code: int) -> None:
        if self.renewal is not None:
            self.renewal.cancel()
        await self._leave()

    async def html_push(self, event: dict[str, Any]) -> None:
        if not self.ended:
            await self.send(text_data=event["html"])

    async def sockets_close(self, event: dict[str, Any]) -> None:
        await self._end(event["code"])

    async def _send_state(self) -> None:
        """The project's current state as this page shows it, with the number of the last
        push it holds (sequence.py); the number is read first."""
        if not self.resyncs:
            return
        number = await current_number(self.channel_layer, project_group(self.project_id))
        state = await database_sync_to_async(project_snapshot_html)(
            self.project_id, self.focus, self.scope["user"].pk
        )
        await self.send(text_data=mark("snapshot", number) + state)

    async def _join(self, *groups: str) -> None:
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)

    async def _watch(self, *groups: str) -> None:
        """Watch broadcast groups through the process's hub (hub.py): one membership a
        process, however many sockets watch."""
        hub = hub_for(self.channel_layer)
        for group in groups:
            await hub.join(group, self)
            self.watching.append(group)

    async def _leave(self) -> None:
        """Leave every group joined, each tried even if another fails (Redis refusing a
        connection when thousands of sockets close at once): a channel left in a group
        would get every push to it until the membership expires."""
        watching, self.watching = getattr(self, "watching", []), []
        for group in watching:
            try:
                await hub_for(self.channel_layer).leave(group, self)
            except Exception:
                logger.exception("a socket did not stop watching %s", group)
        joined, self.joined = getattr(self, "joined", []), []
        for group in joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                logger.exception("%s was not taken out of %s", self.channel_name, group)

    async def _end(self, code: int) -> None:
        """Close at once; nothing more is sent, whatever is still on its way."""
        if self.ended:
            return
        self.ended = True
        await self.close(code=code)
        await self._leave()

    async def _renew_later(self) -> None:
        """End the socket before its group memberships expire (settings.py); the page
        reconnects at once. Spread over the last fifth of the age, so that sockets
        opened together (after a deploy) are not all renewed together."""
        await asyncio.sleep(settings.WEBSOCKET_MAX_AGE_SECONDS * random.uniform(0.8, 1.0))
        self.renewal = None  # not to be cancelled by the disconnect while it leaves its groups
        await self._end(RECONNECT)
