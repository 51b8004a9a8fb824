"""The channel layer at scale: channels-redis, with a pool of Redis connections that
makes a caller wait for a free connection instead of failing.

redis-py's default pool refuses ("Too many connections") once its 100 connections are
in use. Thousands of sockets closing at once (a deploy, a network blip) each leave their
groups together, and most of those leaves failed: their channel names stayed in the
groups until the memberships expired, and every later push went to them too. Waiting
for a connection costs those leaves a few milliseconds instead (issue 14).

And a receive cancelled while it waits for its channel's lock (a page closing its socket)
gives its place in the line back.

And a numbered push (sequence.py) goes out in two round trips to Redis: its number and
the group's members in one, the message to the members in the other, where channels_redis
took four for the send and a fifth for the number.

And a process takes the messages waiting for its channels all at once: channels_redis took
them one at a time, four round trips to Redis each. A daphne busy with requests (webhooks
at 100 a second) then took its pushes off Redis more slowly than it sent them, and its
channel overflowed: pushes dropped, pages asking for the whole state again."""

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from channels_redis.core import ChannelLock
from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer
from django.conf import settings
from redis.asyncio import BlockingConnectionPool

logger = logging.getLogger(__name__)

# channels_redis's script for a group send on one shard, with the expired messages of
# each channel dropped first (there, a round trip of its own before the script).
SEND_TO_CHANNELS = """
local now = ARGV[#ARGV - 2]
local expiry = ARGV[#ARGV - 1]
local expired_before = ARGV[#ARGV]
local over_capacity = 0
for i = 1, #KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, expired_before)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


# At most this many messages taken off a channel at once (its capacity, in Studio).
RECEIVE_BATCH = 100

# channels_redis's receive, for every message waiting at once: the messages of a receive
# whose answer was lost (cancelled) are put back first; those taken now are kept in the
# backup until they are in hand. KEYS: the channel, its backup; ARGV: how many at most.
TAKE_WAITING = """
local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = #backed_up, 1, -2 do
    redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
end
redis.call('DEL', KEYS[2])
local taken = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
for i = 1, #taken, 2 do
    redis.call('ZADD', KEYS[2], taken[i + 1], taken[i])
end
return taken
"""


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
        # Messages taken off a process's channel key, not yet handed out, oldest first.
        self.taken: defaultdict[str, deque[bytes]] = defaultdict(deque)

    def create_pool(self, index: int) -> BlockingConnectionPool:
        host: dict[str, Any] = dict(self.hosts[index])
        return BlockingConnectionPool.from_url(
            host.pop("address"),
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            timeout=settings.REDIS_POOL_WAIT_SECONDS,
            **host,
        )

    async def receive_single(self, channel: str) -> tuple[Any, Any]:
        """The next message of this process's channels (`channel` ends with "!"): from
        those taken already, else every one waiting now, in one round trip; when none is
        waiting, channels_redis's blocking receive of the next. Other channels, which
        other processes may receive from too, are channels_redis's."""
        if not channel.endswith("!"):
            return await super().receive_single(channel)
        taken = self.taken[channel]
        if not taken:
            key = self.prefix + channel
            index = self.consistent_hash(channel)
            backup = self._backup_channel_name(key)
            await self.receive_clean_locks.acquire(key)
            try:
                waiting = await self.connection(index).eval(
                    TAKE_WAITING, 2, key, backup, RECEIVE_BATCH
                )
            except BaseException:
                self.receive_clean_locks.release(key)
                raise
            if not waiting:
                self.receive_clean_locks.release(key)
                return await super().receive_single(channel)
            taken.extend(waiting[::2])  # member, score, member, score…
            # In hand: the backup goes (channels_redis's cleaning, for all of them).
            cleaner = asyncio.ensure_future(self.connection(index).delete(backup))
            self.receive_cleaners.append(cleaner)

            def cleaned(done: "asyncio.Future[Any]") -> None:
                self.receive_cleaners.remove(done)
                self.receive_clean_locks.release(key)

            cleaner.add_done_callback(cleaned)
        message = self.deserialize(taken.popleft())
        return message.pop("__asgi_channel__", channel), message

    async def group_send_numbered(
        self,
        group: str,
        counter: str,
        *,
        start: int,
        seconds: int,
        message_for: Callable[[int], dict[str, Any]],
    ) -> int:
        """channels_redis's group_send of `message_for(number)`, where `number` is the
        next value of the Redis key `counter` (made at `start`, to last `seconds`), taken
        with the group's members: the counter is on the group's shard. Returns the
        number."""
        assert self.require_valid_group_name(group), "Group name not valid"
        group_key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        now = time.time()
        async with connection.pipeline(transaction=False) as pipe:
            pipe.set(counter, start, nx=True, ex=seconds)
            pipe.incrby(counter, 1)
            # The members whose membership expired are dropped, as channels_redis does.
            pipe.zremrangebyscore(group_key, min=0, max=int(now) - self.group_expiry)
            pipe.zrange(group_key, 0, -1)
            _, number, _, members = await pipe.execute()
        number = int(number)
        names = [member.decode("utf8") for member in members]
        by_shard, messages, capacities = self._map_channel_keys_to_connection(
            names, message_for(number)
        )
        for shard, keys in by_shard.items():
            arguments = [messages[key] for key in keys] + [capacities[key] for key in keys]
            arguments += [now, self.expiry, int(now) - int(self.expiry)]
            over = await self.connection(shard).eval(SEND_TO_CHANNELS, len(keys), *keys, *arguments)
            if over:
                logger.info("%s of %s channels over capacity in group %s", over, len(names), group)
        return number
