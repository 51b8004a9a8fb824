"""The channel layer's configuration, read as a deployment starts (in a fresh process,
since settings are read once)."""

import asyncio
import json
import os
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

from django.conf import settings

from studio.realtime import groups
from studio.realtime.layer import RedisChannelLayer

ROOT = Path(__file__).resolve().parents[2]
REDIS = "redis://127.0.0.1:6379/0"


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "studio.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_redis_layer_reads_longer_than_it_blocks_waiting_for_a_message() -> None:
    result = python(
        "import json; from django.conf import settings; "
        "from channels_redis.core import RedisChannelLayer as Layer; "
        "config = settings.CHANNEL_LAYERS['default']['CONFIG']; "
        "print(json.dumps([config['hosts'][0]['socket_timeout'], Layer.brpop_timeout]))",
        REDIS_URL=REDIS,
    )
    assert result.returncode == 0, result.stderr

    socket_timeout, blocking_wait = json.loads(result.stdout)

    # Else every idle socket dies with 1011 (redis-py 8 reads with a 5 s timeout by default).
    assert socket_timeout > blocking_wait + 5


def test_a_redis_url_that_sets_its_own_socket_timeout_stops_start_up() -> None:
    result = python("import django; django.setup()", REDIS_URL=f"{REDIS}?socket_timeout=5")

    assert result.returncode != 0
    assert "REDIS_URL must leave socket_timeout to Studio" in result.stderr


def test_sockets_are_renewed_before_their_group_memberships_expire() -> None:
    result = python("import django; django.setup()", WEBSOCKET_MAX_AGE_SECONDS="86400")

    assert result.returncode != 0
    assert "WEBSOCKET_MAX_AGE_SECONDS must be between" in result.stderr


# Sockets closing together (a deploy, a network blip) all leave their groups at once, in
# one daphne process, on one event loop: far more leaves at a time than connections in a
# pool. Each must wait its turn, not fail and leave its name behind to get every push.
MASS_LEAVE = """
import asyncio, json, uuid
import django; django.setup()
from channels.layers import get_channel_layer

async def main():
    layer = get_channel_layer()
    group = "mass-" + uuid.uuid4().hex
    names = [await layer.new_channel() for _ in range(600)]
    async def all_at_once(step):
        return await asyncio.gather(*(step(group, n) for n in names), return_exceptions=True)

    joins = await all_at_once(layer.group_add)
    leaves = await all_at_once(layer.group_discard)
    connection = layer.connection(layer.consistent_hash(group))
    left = await connection.zcard(layer._group_key(group))
    failures = [repr(each) for each in joins + leaves if isinstance(each, BaseException)]
    print(json.dumps({"failures": len(failures), "first": failures[:1], "left": left}))

asyncio.run(main())
"""


def test_hundreds_of_sockets_leaving_at_once_all_leave_their_group() -> None:
    result = python(MASS_LEAVE, REDIS_URL="redis://127.0.0.1:6379/9")
    assert result.returncode == 0, result.stderr

    outcome = json.loads(result.stdout.strip().splitlines()[-1])

    assert outcome["failures"] == 0, outcome["first"]
    assert outcome["left"] == 0  # no channel name stays to receive every later push


def test_a_receive_cancelled_in_line_for_its_channel_does_not_break_a_later_event_loop() -> None:
    # A test's scenarios (and any caller of async_to_sync) each run on a new event loop.
    locks = RedisChannelLayer(hosts=[REDIS]).receive_clean_locks

    async def cancelled_in_line() -> None:  # a socket closed while its pump waited
        await locks.acquire("specific.studio!")
        waiting = asyncio.ensure_future(locks.acquire("specific.studio!"))
        await asyncio.sleep(0)
        waiting.cancel()
        with suppress(asyncio.CancelledError):
            await waiting
        locks.release("specific.studio!")

    async def two_in_line() -> str:
        await locks.acquire("specific.studio!")
        second = asyncio.ensure_future(locks.acquire("specific.studio!"))
        await asyncio.sleep(0)
        locks.release("specific.studio!")
        await second
        locks.release("specific.studio!")
        return "received"

    asyncio.run(cancelled_in_line())

    # channels_redis's own lock fails here: "bound to a different event loop".
    assert asyncio.run(two_in_line()) == "received"


# A push from sync code (a view's thread) in daphne: on the loop its sockets run on.
PUSH_FROM_A_THREAD = """
import asyncio, json, threading, uuid
import django; django.setup()
from channels.layers import get_channel_layer
from studio.realtime import groups

layer = get_channel_layer()
server = asyncio.new_event_loop()  # daphne's, in a thread of its own here
running = threading.Thread(target=server.run_forever, daemon=True)
running.start()
project = uuid.uuid4().int % 10**9

async def connect():
    groups.remember_consumer_loop()  # as each socket's consumer does
    channel = await layer.new_channel()
    await layer.group_add(groups.project_group(project), channel)
    return channel

channel = asyncio.run_coroutine_threadsafe(connect(), server).result(10)
sent_on_server_loop = []
send = layer.group_send_in_order
async def recorded(*args, **kwargs):
    sent_on_server_loop.append(asyncio.get_running_loop() is server)
    return await send(*args, **kwargs)
layer.group_send_in_order = recorded

groups.push_project_html(project, "<p id=news>50%</p>")
message = asyncio.run_coroutine_threadsafe(layer.receive(channel), server).result(10)
threads = sorted(thread.name for thread in threading.enumerate())

# Its loop stopped (daphne shutting down), a thread's push still goes: on a loop of its own.
server.call_soon_threadsafe(server.stop)
running.join(10)
groups.push_project_html(project, "<p id=news>60%</p>")
later = server.run_until_complete(layer.receive(channel))  # the socket, as it was
server.run_until_complete(layer.group_discard(groups.project_group(project), channel))
print(json.dumps({
    "sent_on_server_loop": sent_on_server_loop,
    "html": [message["html"], later["html"]],
    "threads": threads,
}))
"""


def test_a_push_from_a_thread_goes_out_on_the_loop_of_the_processs_sockets() -> None:
    result = python(PUSH_FROM_A_THREAD, REDIS_URL="redis://127.0.0.1:6379/9")
    assert result.returncode == 0, result.stderr

    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["sent_on_server_loop"] == [True, False]
    first, after_stop = outcome["html"]
    assert first.startswith("<!--live-push ") and first.endswith("<p id=news>50%</p>")
    assert after_stop.startswith("<!--live-push ") and after_stop.endswith("60%</p>")
    assert "studio-push-loop" not in outcome["threads"]  # no second loop while it ran


def test_a_push_waits_longer_than_redis_may_take_to_fail_it() -> None:
    # A connection of the loop's pool, then Redis's answer: their own errors come first.
    waits = settings.REDIS_POOL_WAIT_SECONDS + settings.REDIS_SOCKET_TIMEOUT_SECONDS
    assert groups.PUSH_TIMEOUT_SECONDS > waits
