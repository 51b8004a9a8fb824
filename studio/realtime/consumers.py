from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from studio.generation.live import project_snapshot_html
from studio.projects.models import Project
from studio.realtime.groups import project_group, remember_consumer_loop


@database_sync_to_async
def _can_view(user: Any, project_id: int) -> bool:
    return Project.objects.visible_to(user).filter(pk=project_id).exists()


class ProjectConsumer(AsyncWebsocketConsumer):
    """Live updates of one project's jobs, for members of its team only."""

    group_name = ""

    async def connect(self) -> None:
        remember_consumer_loop()
        user = self.scope["user"]
        project_id = int(self.scope["url_route"]["kwargs"]["project_id"])
        if not user.is_authenticated or not await _can_view(user, project_id):
            await self.close(code=4403)
            return
        self.group_name = project_group(project_id)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        # A browser that (re)connects may have missed pushes: send the current state.
        query = parse_qs(self.scope.get("query_string", b"").decode())
        focus = query.get("job", [""])[0]
        snapshot = await database_sync_to_async(project_snapshot_html)(
            project_id, int(focus) if focus.isdigit() else None
        )
        if snapshot:
            await self.send(text_data=snapshot)

    async def disconnect(self, code: int) -> None:
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def html_push(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])
