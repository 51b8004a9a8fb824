"""Channel-layer groups and pushing HTML fragments to them.

A pushed fragment goes to everyone in the group, so it must not depend on who looks.
"""

import asyncio
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

# The event loop the websocket consumers run on. The in-memory layer's queues belong to
# it, so a worker thread of the same process must push through it (asyncio queues are
# not thread-safe). With Redis this is not needed.
_consumer_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def remember_consumer_loop() -> None:
    """Called by consumers (on their loop) so that other threads can reach it."""
    global _consumer_loop
    with _lock:
        _consumer_loop = asyncio.get_running_loop()


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def team_group(team_id: int) -> str:
    return f"team-{team_id}"


def member_group(team_id: int, user_id: int) -> str:
    """One person in one team: their own budget meter there. Per team, so that nothing
    of one team reaches a socket open on another team's project."""
    return f"member-{team_id}-{user_id}"


def push_html(group: str, html: str) -> None:
    """Send an HTML fragment to every browser in `group` (swapped in by htmx's ws
    extension, by element id)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "html.push", "html": html}
    loop = _consumer_loop
    if isinstance(layer, InMemoryChannelLayer) and loop is not None and loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop).result(5)
            return
    async_to_sync(layer.group_send)(group, message)
