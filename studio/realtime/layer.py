"""The channel layer at scale: channels-redis, with a pool of Redis connections that
makes a caller wait for a free connection instead of failing.

redis-py's default pool refuses ("Too many connections") once its 100 connections are
in use. Thousands of sockets closing at once (a deploy, a network blip) each leave their
groups together, and most of those leaves failed: their channel names stayed in the
groups until the memberships expired, and every later push went to them too. Waiting
for a connection costs those leaves a few milliseconds instead (issue 14).

And a receive cancelled while it waits for its channel's lock (a page closing its socket)
gives its place in the line back."""

from typing import Any

from channels_redis.core import ChannelLock
from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer
from django.conf import settings
from redis.asyncio import BlockingConnectionPool


class CancellableChannelLock(ChannelLock):
    """channels_redis counts a waiter before it waits and never uncounts one that was
    cancelled, so the channel's lock is never dropped again: it stays bound to the event
    loop it first waited on, and a receive on any later loop fails ("bound to a different
    event loop"), and the next socket's pushes with it."""

    async def acquire(self, channel: str) -> bool:
        try:
            return await super().acquire(channel)
        except BaseException:
            self.wait_counts[channel] -= 1
            if self.wait_counts[channel] < 1:
                del self.locks[channel]
                del self.wait_counts[channel]
            raise


class RedisChannelLayer(ChannelsRedisLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.receive_clean_locks = CancellableChannelLock()

    def create_pool(self, index: int) -> BlockingConnectionPool:
        host: dict[str, Any] = dict(self.hosts[index])
        return BlockingConnectionPool.from_url(
            host.pop("address"),
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            timeout=settings.REDIS_POOL_WAIT_SECONDS,
            **host,
        )
