"""The channel layer at scale: channels-redis, with a pool of Redis connections that
makes a caller wait for a free connection instead of failing.

redis-py's default pool refuses ("Too many connections") once its 100 connections are
in use. Thousands of sockets closing at once (a deploy, a network blip) each leave their
groups together, and most of those leaves failed: their channel names stayed in the
groups until the memberships expired, and every later push went to them too. Waiting
for a connection costs those leaves a few milliseconds instead (issue 14).

And a receive cancelled while it waits for its channel's lock (a page closing its socket)
gives its place in the line back.

And a numbered push (sequence.py) goes out in one round trip to Redis, a script that
takes the number and sends with it, after every message already sent, where channels_redis
took four for the send and a fifth for the number: two processes pushing at once could
otherwise each take a number and send in the other order, a gap to the pages that get
them (each then asks for the whole state again).

And a process takes the messages waiting for its channels all at once: channels_redis took
them one at a time, four round trips to Redis each. A daphne busy with requests (webhooks
at 100 a second) then took its pushes off Redis more slowly than it sent them, and its
channel overflowed: pushes dropped, pages asking for the whole state again."""

import asyncio
import logging
import time
from collections import defaultdict, deque
from typing import Any

from channels_redis.core import ChannelLock
from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio import BlockingConnectionPool

logger = logging.getLogger(__name__)

# A group send in the order of the group's numbers (sequence.py): with `number` set, the
# group's next number is taken and goes between the two parts of the HTML; its members
# are read (those whose membership expired dropped, as channels_redis does), and the
# message goes to each member's channel (once per channel key, naming its channels,
# serialized as channels_redis does: its prefix's bytes, then msgpack), with what
# channels_redis's send checks: expired messages dropped, the capacity. A message goes
# after every one already on its channel, or taken off it and not yet in hand (its
# backup), so that the receiver, who takes the lowest score first, gets the group's
# messages in the order they were sent, whatever the clocks of the processes that sent
# them. (No random prefix is needed to tell messages apart: the number does, or the
# time.)
# KEYS: the counter, the group. ARGV: the counter's start and seconds, when memberships
# expire, now, a channel's expiry, when its messages expire, its capacity, the layer's
# prefix, the message's type, the HTML before the number and after it, the serialized
# message's prefix, the backup's suffix, "1" to take a number.
SEND_IN_ORDER = """
local number = 0
local html = ARGV[10] .. ARGV[11]
if ARGV[14] == '1' then
    redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
    number = redis.call('INCRBY', KEYS[1], 1)
    html = ARGV[10] .. string.format('%d', number) .. ARGV[11]
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], 0, ARGV[3])
local keys, channels = {}, {}
for _, name in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local bang = string.find(name, '!', 1, true)
    local key = ARGV[8] .. (bang and string.sub(name, 1, bang) or name)
    if channels[key] == nil then
        channels[key] = {}
        table.insert(keys, key)
    end
    table.insert(channels[key], name)
end
local now = tonumber(ARGV[4])
local over_capacity = 0
for _, key in ipairs(keys) do
    redis.call('ZREMRANGEBYSCORE', key, 0, ARGV[6])
    if redis.call('ZCARD', key) < tonumber(ARGV[7]) then
        local score = now
        for _, queue in ipairs({key, key .. ARGV[13]}) do
            local last = redis.call('ZRANGE', queue, -1, -1, 'WITHSCORES')
            if last[2] ~= nil and tonumber(last[2]) >= score then
                score = tonumber(last[2]) + 0.000001
            end
        end
        local message = {type = ARGV[9], html = html, __asgi_channel__ = channels[key]}
        redis.call('ZADD', key, score, ARGV[12] .. cmsgpack.pack(message))
        redis.call('EXPIRE', key, ARGV[5])
    else
        over_capacity = over_capacity + 1
    end
end
return {number, over_capacity}
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
        # A numbered send is one script on one Redis, serialized as the layer's default
        # (the settings configure no other).
        if len(self.hosts) != 1 or self.channel_capacity or self._serializer.crypter:
            raise ImproperlyConfigured(
                "Studio's channel layer runs on one Redis, without per-channel capacities "
                "or encryption."
            )
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

    async def group_send_in_order(
        self,
        group: str,
        counter: str,
        *,
        start: int,
        seconds: int,
        message_type: str,
        before: str,
        after: str,
        numbered: bool,
    ) -> int:
        """channels_redis's group_send of {type: message_type, html: before + after},
        after every message already on the members' channels; `numbered`, with the next
        value of the Redis key `counter` (made at `start`, to last `seconds`) between the
        two, taken in the same script. Returns the number (0 when not `numbered`)."""
        assert self.require_valid_group_name(group), "Group name not valid"
        now = time.time()
        number, over = await self.connection(0).eval(
            SEND_IN_ORDER,
            2,
            counter,
            self._group_key(group),
            start,
            seconds,
            int(now) - self.group_expiry,
            now,
            self.expiry,
            int(now) - int(self.expiry),
            self.capacity,
            self.prefix,
            message_type,
            before,
            after,
            "0" * self._serializer.random_prefix_length,
            self._backup_channel_name(""),
            "1" if numbered else "0",
        )
        if over:
            logger.info("%s channels over capacity in group %s", over, group)
        return int(number)

    async def flush(self) -> None:
        await super().flush()
        self.taken.clear()
