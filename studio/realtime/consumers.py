from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from studio.generation.live import project_snapshot_html
from studio.projects.models import Project
from studio.realtime.groups import (
    member_group,
    project_group,
    remember_consumer_loop,
    team_group,
)


@database_sync_to_async
def _team_of_visible_project(user: Any, project_id: int) -> int | None:
    project = Project.objects.visible_to(user).filter(pk=project_id).first()
    return project.team_id if project else None


class ProjectConsumer(AsyncWebsocketConsumer):
    """Live updates of one project's jobs, for members of its team only."""

    joined: list[str]

    async def connect(self) -> None:
        remember_consumer_loop()
        user = self.scope["user"]
        project_id = int(self.scope["url_route"]["kwargs"]["project_id"])
        self.joined = []
        team_id = (
            await _team_of_visible_project(user, project_id) if user.is_authenticated else None
        )
        if team_id is None:
            await self.close(code=4403)
            return
        self.joined = [
            project_group(project_id),
            team_group(team_id),
            member_group(team_id, user.pk),
        ]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        # A browser that (re)connects may have missed pushes: send the current state.
        query = parse_qs(self.scope.get("query_string", b"").decode())
        if query.get("view", [""])[0] == "gallery":
            return  # the gallery only takes new tiles; it has no job list to resync
        focus = query.get("job", [""])[0]
        snapshot = await database_sync_to_async(project_snapshot_html)(
            project_id, int(focus) if focus.isdigit() else None, user.pk
        )
        if snapshot:
            await self.send(text_data=snapshot)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def html_push(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])
