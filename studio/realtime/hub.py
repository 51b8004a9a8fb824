"""Broadcast groups (a project's, a team's) joined once per process, not once per socket.

The channel layer delivers a group message to each member channel: a push to a project
watched by 2,000 sockets on one daphne was 2,000 messages through Redis, which that
daphne then took back one at a time (a Redis round trip each): 1.5 s until the last
socket had it. Here the event loop of a daphne joins each broadcast group once, with a
channel of its own, and hands each message it receives to its sockets watching that
group: one message through Redis per process, however many sockets (issue 14, row 9).

What a socket must receive even when it cannot be trusted with more (closing it when
access ends) still goes to the socket's own channel, through the groups the consumer
joins itself (consumers.py)."""

import asyncio
import logging
import weakref
from typing import Any, Protocol

from channels.layers import BaseChannelLayer
from django.conf import settings

logger = logging.getLogger(__name__)

# After a failed receive (Redis gone), the pump tries again this long after; the pushes
# missed meanwhile are found by the pages from their numbers (sequence.py).
RETRY_SECONDS = 1.0


class Watcher(Protocol):
    async def html_push(self, event: dict[str, Any]) -> None: ...


class Hub:
    """The broadcast groups watched on one event loop, through one channel layer."""

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.watchers: dict[str, set[Watcher]] = {}
        self.channels: dict[str, str] = {}
        self.pumps: dict[str, asyncio.Task[None]] = {}
        self.lock = asyncio.Lock()
        self.renewal: asyncio.Task[None] | None = None

    async def join(self, group: str, watcher: Watcher) -> None:
        async with self.lock:
            if self.renewal is None:
                self.renewal = asyncio.create_task(self._renew())
            if group not in self.watchers:
                # The default prefix: channels_redis takes every channel of a process from
                # one Redis key, named by the part before "!".
                channel = await self.layer.new_channel()
                await self.layer.group_add(group, channel)
                self.channels[group] = channel
                self.watchers[group] = set()
                self.pumps[group] = asyncio.create_task(self._pump(group, channel))
            self.watchers[group].add(watcher)

    async def leave(self, group: str, watcher: Watcher) -> None:
        async with self.lock:
            watchers = self.watchers.get(group)
            if watchers is None:
                return
            watchers.discard(watcher)
            if watchers:
                return
            del self.watchers[group]
            self.pumps.pop(group).cancel()
            if not self.watchers and self.renewal is not None:
                self.renewal.cancel()
                self.renewal = None
            await self.layer.group_discard(group, self.channels.pop(group))

    async def _pump(self, group: str, channel: str) -> None:
        """Hand each message to the group's watchers, in order."""
        while True:
            try:
                message = await self.layer.receive(channel)
            except Exception:
                logger.exception("the pushes to %s were not received", group)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if message.get("type") != "html.push":
                continue
            for watcher in list(self.watchers.get(group, ())):
                try:
                    await watcher.html_push(message)
                except Exception:  # one closed socket must not keep it from the others
                    logger.exception("a push to %s was not sent to a socket", group)

    async def _renew(self) -> None:
        """Join the groups again before the layer lets the memberships expire (a socket
        renews its own by reconnecting, settings.WEBSOCKET_MAX_AGE_SECONDS)."""
        while True:
            await asyncio.sleep(settings.WEBSOCKET_MAX_AGE_SECONDS)
            for group, channel in list(self.channels.items()):
                try:
                    await self.layer.group_add(group, channel)
                except Exception:
                    logger.exception("the membership of %s was not renewed", group)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub_for(layer: BaseChannelLayer) -> Hub:
    """The running loop's hub for `layer` (a new one if the layer was replaced)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        hub = _hubs[loop] = Hub(layer)
    return hub
