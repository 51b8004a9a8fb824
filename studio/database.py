"""How a process's pooled PostgreSQL connections are checked before they are lent.

Django's CONN_HEALTH_CHECKS has psycopg's pool send an empty query on every connection
it lends, a round trip before each request's first query (22% of the webhook threads'
samples in a py-spy profile of daphne under bench/webhook_throughput.py). A connection that
sat idle in the pool has nothing to read unless the server spoke: it ended the session
(a restart, pg_terminate_backend, idle_session_timeout: PostgreSQL sends its FATAL
message, then closes) or a notification came. So the round trip is made only then, and
tells which: a dead connection raises, and the pool lends a new one instead.

A dead connection rarely dies alone (a restart, a failover): the pool's other idle ones
are then checked at once, not lent one by one with a growing wait between them.
"""

import select
from typing import Any

from psycopg_pool import ConnectionPool


def check_lent_connection(connection: Any) -> None:
    """The pool's `check`: raise if `connection` is no longer usable."""
    try:
        if connection.closed or connection.broken:
            raise ConnectionError("The pooled connection was closed.")
        waiting = select.poll()  # not select.select: a daphne's descriptors pass 1024
        waiting.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        if waiting.poll(0):
            ConnectionPool.check_connection(connection)
    except Exception:
        _replace_ended_idle_connections(connection)
        raise


def _replace_ended_idle_connections(connection: Any) -> None:
    """One session ended: after a restart or a failover, so did every other the pool
    keeps idle. The pool would lend those one after another, waiting 1, 2, 4 then 8 s
    between them (psycopg_pool's backoff after a failed check), so the first request
    after a restart failed at the pool's timeout (10 s) with five dead connections in
    the pool. Its `check()` tests the idle ones now (a round trip each), dropping the dead
    and opening new ones in their place, so the next connection lent is a live one."""
    pool = getattr(connection, "_pool", None)  # set by the pool on what it lends
    if isinstance(pool, ConnectionPool):
        pool.check()
