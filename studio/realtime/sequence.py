"""Numbered pushes to a project's group, so that a page that misses one finds out.

A channel layer drops a push without a word when a socket's channel is full (its capacity,
settings.py), and then a card would stay wrong until its job changes again. So every push
to a project's group carries a number one above the push before it, from whichever
process sent it, and the state a socket gets on (re)connecting carries the latest number.
A page that sees a number skipped asks for that state again (studio.js, the consumer's
RESYNC). A push lost last, with nothing after it to show the gap, is found by the check
that follows each burst of pushes a moment later, carrying the last number sent.

The number leads the pushed HTML as a comment (`<!--live-push 17-->`): htmx and the
page's extensions ignore comments, and the fragment stays the same for everyone.

The counter is shared where the sockets are: in Redis with the Redis layer, in the process
with the in-memory one (which reaches only this process's sockets). A counter that is
lost (Redis restarted, or its key expired after a day without pushes) starts again from
the clock in microseconds, above every number it gave before as long as fewer than a
million pushes a second went to one project.
"""

import asyncio
import logging
import re
import threading
import time

from channels.layers import BaseChannelLayer
from channels_redis.core import RedisChannelLayer

from studio.realtime.layer import RedisChannelLayer as NumberingLayer

logger = logging.getLogger(__name__)

# What the page sends to ask for the current state again.
RESYNC = "resync"
# How long after a push the check with the last number follows (one per burst).
CHECK_AFTER_SECONDS = 1.0
# An idle counter goes after this long in Redis; it restarts from the clock.
COUNTER_SECONDS = 24 * 60 * 60

MARK = re.compile(r"^<!--live-(push|snapshot|check) (\d+)-->")

_counters: dict[str, int] = {}  # the in-memory layer's, by group
_counters_lock = threading.Lock()
# Groups with a check pending, by loop (the pushes of one process may go out on two: see
# groups._run_for_layer): the last number pushed.
_last_sent: dict[tuple[asyncio.AbstractEventLoop, str], int] = {}
_checks: set["asyncio.Task[None]"] = set()  # held until done (the loop keeps weak ones)


def mark(kind: str, number: int | str) -> str:
    """The comment that leads a numbered message: kind is push, snapshot or check."""
    return f"<!--live-{kind} {number}-->"


def _clock() -> int:
    return time.time_ns() // 1000


def _redis_key(layer: RedisChannelLayer, group: str) -> str:
    return f"{layer.prefix}:live-number:{group}"


async def _counter(layer: BaseChannelLayer, group: str, *, step: int) -> int:
    if isinstance(layer, RedisChannelLayer):
        key = _redis_key(layer, group)
        # On the shard that holds the group; the connection is the layer's, kept per loop.
        connection = layer.connection(layer.consistent_hash(group))
        async with connection.pipeline(transaction=False) as pipe:
            pipe.set(key, _clock(), nx=True, ex=COUNTER_SECONDS)
            if step:
                pipe.incrby(key, step)
            else:
                pipe.get(key)
            _, number = await pipe.execute()
        return int(number)
    with _counters_lock:
        number = _counters.setdefault(group, _clock()) + step
        _counters[group] = number
    return number


async def next_number(layer: BaseChannelLayer, group: str) -> int:
    """The number of the next push to `group`."""
    return await _counter(layer, group, step=1)


async def current_number(layer: BaseChannelLayer, group: str) -> int:
    """The number of the last push to `group`: a state read after this call holds
    everything pushed up to it."""
    return await _counter(layer, group, step=0)


# A push that takes the pushes waiting behind it along stops at this size; the rest go next.
GATHER_UP_TO_CHARACTERS = 256 * 1024

# This process's pushes waiting to go, by layer and group, while one of the group's goes.
_waiting: dict[
    tuple[asyncio.AbstractEventLoop, BaseChannelLayer, str],
    list[tuple[str, "asyncio.Future[None]"]],
] = {}
_senders: set["asyncio.Task[None]"] = set()  # held until done (the loop keeps weak ones)


async def send_numbered(layer: BaseChannelLayer, group: str, html: str) -> None:
    """Push `html` to `group` with the group's next number, and a check to follow.

    A process's pushes to a group go one at a time, in the order they came; those that
    come while one is on its way go together in the next message, under one number: under
    load (many webhooks a second), fewer, larger messages to send and to take in. (With
    Redis, the number is taken and the message sent in one script, so that the pushes of
    several processes also reach each socket in the order of their numbers.)"""
    loop = asyncio.get_running_loop()
    key = (loop, layer, group)  # a loop's own: a future of one is not for another
    sent = loop.create_future()
    waiting = _waiting.get(key)
    if waiting is not None:
        waiting.append((html, sent))
    else:
        _waiting[key] = [(html, sent)]
        sender = asyncio.ensure_future(_send_waiting(layer, group, key))
        _senders.add(sender)
        sender.add_done_callback(_senders.discard)
    await sent


async def _send_waiting(
    layer: BaseChannelLayer,
    group: str,
    key: tuple[asyncio.AbstractEventLoop, BaseChannelLayer, str],
) -> None:
    waiting = _waiting[key]
    batch: list[tuple[str, asyncio.Future[None]]] = []
    try:
        while waiting:
            batch = _gathered(waiting)
            error: Exception | None = None
            try:
                await _send(layer, group, "".join(html for html, _ in batch))
            except Exception as failed:
                error = failed
            for _, sent in batch:
                if sent.done():
                    continue  # its caller stopped waiting
                if error is None:
                    sent.set_result(None)
                else:
                    sent.set_exception(error)
    finally:
        del _waiting[key]
        for _, sent in batch + waiting:  # cancelled itself (the loop is closing)
            sent.cancel()


def _gathered(
    waiting: list[tuple[str, "asyncio.Future[None]"]],
) -> list[tuple[str, "asyncio.Future[None]"]]:
    """The first push waiting and those behind it, up to GATHER_UP_TO_CHARACTERS."""
    size = count = 0
    for html, _ in waiting:
        size += len(html)
        if count and size > GATHER_UP_TO_CHARACTERS:
            break
        count += 1
    batch = waiting[:count]
    del waiting[:count]
    return batch


async def _send(layer: BaseChannelLayer, group: str, html: str) -> None:
    """The HTML is rendered before the number is taken, so that a state read after
    current_number() is never older than a push numbered up to it."""
    number = await _send_marked(layer, group, "push", html)
    loop = asyncio.get_running_loop()
    key = (loop, group)
    pending = key in _last_sent
    _last_sent[key] = number
    if not pending:
        loop.call_later(CHECK_AFTER_SECONDS, _start_check, loop, layer, group)


async def _send_marked(
    layer: BaseChannelLayer, group: str, kind: str, html: str = "", number: int | None = None
) -> int:
    """Send `html` to `group` led by its mark, after what the group was sent before; with
    no `number`, the group's next, taken with the send. Returns the number."""
    if isinstance(layer, NumberingLayer):
        # The number the script takes goes between the two parts.
        before, after = mark(kind, "#").split("#") if number is None else (mark(kind, number), "")
        taken = await layer.group_send_in_order(
            group,
            _redis_key(layer, group),
            start=_clock(),
            seconds=COUNTER_SECONDS,
            message_type="html.push",
            before=before,
            after=after + html,
            numbered=number is None,
        )
        return taken if number is None else number
    if number is None:
        number = await next_number(layer, group)
    await layer.group_send(group, {"type": "html.push", "html": mark(kind, number) + html})
    return number


def _start_check(loop: asyncio.AbstractEventLoop, layer: BaseChannelLayer, group: str) -> None:
    task = loop.create_task(_send_check(layer, group))
    _checks.add(task)
    task.add_done_callback(_checks.discard)


async def _send_check(layer: BaseChannelLayer, group: str) -> None:
    number = _last_sent.pop((asyncio.get_running_loop(), group), None)
    if number is None:
        return
    try:
        await _send_marked(layer, group, "check", number=number)  # after the pushes it tells of
    except Exception:  # a check is a second chance; the next push brings another
        logger.exception("the check after pushes to %s was not sent", group)


def parse(message: str) -> tuple[str, int] | None:
    """A message's kind and number (for tests and tools), or None if it has none."""
    found = MARK.match(message)
    return (found.group(1), int(found.group(2))) if found else None
