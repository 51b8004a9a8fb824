"""Channel-layer groups, pushing HTML fragments to them, and ending the sockets in them.

A pushed fragment goes to everyone in the group, so it must not depend on who looks.
"""

import asyncio
import hashlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer
from django.db import transaction

from studio.realtime import sequence

# How a socket is ended, as the page's script (static/studio/studio.js) tells them apart.
# A server may only close with 1000 or 3000-4999 (daphne's autobahn refuses 1012, "service
# restart"), and the htmx ws extension reconnects by itself after 1006, 1011, 1012 and
# 1013 only, so the page's script handles these.
ACCESS_ENDED = 4403  # no longer a member: not reconnected; the page says so
SESSION_ENDED = 4401  # the session ended (logged out, a new password): the page says so
RECONNECT = 4012  # reconnect at once, and let connect() decide afresh (a new role, renewal)

# The event loop the websocket consumers run on (daphne's), where pushes from sync code
# (request and worker threads) of the same process go. The in-memory layer's queues
# belong to it (asyncio queues are not thread-safe). With Redis, a push sent on the
# loop that also takes the sockets' messages in and answers the requests spares two
# threads handing Python's lock (the GIL) back and forth: a progress webhook → its card
# took 2.16-2.38× the raw push instead of 2.65-3.00× (issue 14, row 1, three alternating
# benches); webhooks a second, row 5, moved within the noise (0.53-0.62× of a no-op
# view, against 0.56-0.58×).
_consumer_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()

# Pushes from sync code otherwise (a worker process, a daphne before its first socket)
# run on one event loop per process, in a thread of its own. async_to_sync made a new
# loop for every push, and as channels_redis keeps its connections per loop, a new Redis
# connection too (~4 ms a push).
_push_loop: asyncio.AbstractEventLoop | None = None
_push_thread: threading.Thread | None = None
# Longer than a push may wait for a connection of the loop's pool and then for Redis to
# answer (settings.REDIS_POOL_WAIT_SECONDS + REDIS_SOCKET_TIMEOUT_SECONDS), which fail
# the push with Redis's own error first.
PUSH_TIMEOUT_SECONDS = 40


def remember_consumer_loop() -> None:
    """Called by consumers (on their loop) so that other threads can reach it."""
    global _consumer_loop
    with _lock:
        _consumer_loop = asyncio.get_running_loop()


def _loop_for_pushes() -> asyncio.AbstractEventLoop:
    """This process's push loop, started on first use (and again in a forked child,
    where the thread that ran it does not exist)."""
    global _push_loop, _push_thread
    with _lock:
        if _push_loop is None or _push_thread is None or not _push_thread.is_alive():
            _push_loop = asyncio.new_event_loop()
            _push_thread = threading.Thread(
                target=_push_loop.run_forever, name="studio-push-loop", daemon=True
            )
            _push_thread.start()
        return _push_loop


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def team_group(team_id: int) -> str:
    return f"team-{team_id}"


def member_group(team_id: int, user_id: int) -> str:
    """One person in one team: their own budget meter there, and the end of their access
    to the team's projects. Per team, so that nothing of one team reaches a socket open
    on another team's project."""
    return f"member-{team_id}-{user_id}"


def account_group(user_id: int) -> str:
    """Every socket a person has open, in any team: for changes to their account."""
    return f"account-{user_id}"


def session_group(session_key: str) -> str:
    """The sockets opened with one login session: for its end (logging out). Hashed, as
    a session key opens the account to whoever reads it (in Redis, say)."""
    return f"session-{hashlib.sha256(session_key.encode()).hexdigest()[:32]}"


def _run_for_layer(send: Callable[[BaseChannelLayer], Coroutine[Any, Any, None]]) -> None:
    """Run `send(layer)` to its end from sync code, on the loop that may use the layer."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("pushes are made from sync code (a thread without a running loop)")
    loop = _consumer_loop
    if loop is None or not loop.is_running():
        loop = _loop_for_pushes()
    future = asyncio.run_coroutine_threadsafe(send(layer), loop)
    try:
        future.result(PUSH_TIMEOUT_SECONDS)
    except TimeoutError:
        future.cancel()
        raise


def _group_send(group: str, message: dict[str, Any]) -> None:
    _run_for_layer(lambda layer: layer.group_send(group, message))


def push_html(group: str, html: str) -> None:
    """Send an HTML fragment to every browser in `group` (swapped in by htmx's ws
    extension, by element id)."""
    _group_send(group, {"type": "html.push", "html": html})


def push_project_html(project_id: int, html: str) -> None:
    """push_html to the project's group, numbered (sequence.py): a page that misses
    one of these asks for the project's current state."""
    group = project_group(project_id)
    _run_for_layer(lambda layer: sequence.send_numbered(layer, group, html))


def close_sockets(group: str, *, code: int) -> None:
    """Close every socket in `group` with `code`, once the current transaction commits:
    a browser that reconnects then finds the change made."""
    transaction.on_commit(lambda: _group_send(group, {"type": "sockets.close", "code": code}))
