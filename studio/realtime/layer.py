"""The channel layer at scale: channels-redis, with a pool of Redis connections that
makes a caller wait for a free connection instead of failing.

redis-py's default pool refuses ("Too many connections") once its 100 connections are
in use. Thousands of sockets closing at once (a deploy, a network blip) each leave their
groups together, and most of those leaves failed: their channel names stayed in the
groups until the memberships expired, and every later push went to them too. Waiting
for a connection costs those leaves a few milliseconds instead (issue 14)."""

from typing import Any

from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer
from django.conf import settings
from redis.asyncio import BlockingConnectionPool


class RedisChannelLayer(ChannelsRedisLayer):
    def create_pool(self, index: int) -> BlockingConnectionPool:
        host: dict[str, Any] = dict(self.hosts[index])
        return BlockingConnectionPool.from_url(
            host.pop("address"),
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            timeout=settings.REDIS_POOL_WAIT_SECONDS,
            **host,
        )
