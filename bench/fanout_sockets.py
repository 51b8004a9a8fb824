"""One push to 2,000 idle sockets on one daphne (through Redis), against the same push to
one socket measured in the same run; daphne's memory per socket; and what is left in
the groups after all the sockets closed at once (how long until they are empty) (issue 14, row 9).

Studio runs as one daphne (`runstudio --no-worker`) on the bench's database and Redis.
The script logs in once and opens SOCKETS websockets on one project as the gallery page
opens them (`?view=gallery`: joined to the project's groups, without the job list's
resync, so that opening 2,000 does not take minutes), 8 at a time, and one socket on a
second project of the same team. It reads daphne's resident memory (/proc) before and
after opening them. Each run then pushes with Studio's own `push_html` from this process
(as the worker does):

- baseline: a fragment to the second project's group (one socket), timed from the call
  to its receipt;
- Studio: a fragment to the first project's group, timed from the call until the last
  of the SOCKETS sockets has it (sockets that never get it within 30 s are counted).

Needs REDIS_URL: with the in-memory layer a push from this process reaches no socket.

Run: .venv/bin/python bench/fanout_sockets.py [--runs 5] [--sockets 2000] [--quick]
"""

import os
import selectors
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Bench, Table, arguments, counts, new_token, run_each


def main() -> None:
    options = arguments(__doc__, sockets=(int, 2000, "idle sockets on the project"))
    total = 200 if options.quick else options.sockets
    if not os.environ.get("REDIS_URL"):
        print("fanout_sockets.py: skipped, it needs REDIS_URL (a push from here reaches daphne)")
        return
    with Bench("fanout_sockets") as bench:
        import redis

        from studio.projects.models import Project
        from studio.realtime.groups import project_group, push_html

        team, project, _user = bench.provision()
        other = Project.objects.create(team=team, name="One socket")
        web = bench.start_web()
        session = bench.login()
        single = bench.socket(other.pk, session, "?view=gallery")
        time.sleep(1)
        before = bench.rss_kib(web)
        with ThreadPoolExecutor(8) as pool:
            sockets = list(
                pool.map(lambda _: bench.socket(project.pk, session, "?view=gallery"), range(total))
            )
        time.sleep(2)
        after = bench.rss_kib(web)
        selector = selectors.DefaultSelector()
        for index, live in enumerate(sockets):
            selector.register(live.connection, selectors.EVENT_READ, index)

        def receive_all(marker: str, timeout: float = 30) -> tuple[float, int]:
            """When the last socket got `marker`, and how many never did."""
            waiting = set(range(total))
            deadline = time.perf_counter() + timeout
            last = time.perf_counter()
            while waiting and time.perf_counter() < deadline:
                for key, _ in selector.select(timeout=0.2):
                    index = key.data
                    if index not in waiting:
                        continue
                    live = sockets[index]
                    try:
                        while marker not in live.receive(5):
                            pass
                    except TimeoutError:
                        continue
                    waiting.discard(index)
                    last = time.perf_counter()
            return last, len(waiting)

        def one_run(run: int) -> dict[str, float]:
            marker = f"bench-{new_token()}"
            started = time.perf_counter()
            push_html(project_group(other.pk), f'<div id="{marker}"></div>')
            single.receive_until(marker, timeout=30)
            baseline = time.perf_counter() - started
            marker = f"bench-{new_token()}"
            started = time.perf_counter()
            push_html(project_group(project.pk), f'<div id="{marker}"></div>')
            last, missed = receive_all(marker)
            return {"baseline": baseline, "studio": last - started, "missed": missed}

        one_run(0)  # warm up
        results = run_each(options.runs, one_run)
        for live in sockets:
            live.close()
        single.close()
        closed = time.perf_counter()
        client = redis.Redis.from_url(bench.redis_url)

        def names_left() -> tuple[int, int]:
            groups = list(client.scan_iter(match=f"{bench.redis_prefix}:group:*"))
            mine = client.zcard(f"{bench.redis_prefix}:group:{project_group(project.pk)}")
            return mine, sum(client.zcard(key) for key in groups)

        left, everywhere = names_left()
        while everywhere and time.perf_counter() - closed < 60:
            time.sleep(0.25)
            left, everywhere = names_left()
        emptied = time.perf_counter() - closed
        client.close()
        failures = bench.logged("Too many connections")
        describe = bench.describe()

    table = Table(f"one push to {total:,} idle sockets vs one socket; {describe}", options.runs)
    table.add(
        f"push_html → 1 socket vs → last of {total:,}",
        [r["baseline"] for r in results],
        [r["studio"] for r in results],
    )
    table.note(
        "sockets that never got the push, per run: " + counts([r["missed"] for r in results])
    )
    table.note(
        f"daphne's memory: {before / 1024:.0f} MiB before, {after / 1024:.0f} MiB with "
        f"{total:,} sockets: {(after - before) / total:.1f} KiB a socket"
    )
    table.note(
        f"after all closed at once: every group empty after {emptied:.1f} s"
        if not everywhere
        else f"60 s after all closed: {left:,} channel names left in the project's group, "
        f"{everywhere:,} in all groups (every socket closed: 0 is none)"
    )
    table.note(f"daphne's 'Too many connections' (Redis) errors: {failures}")
    table.print()


if __name__ == "__main__":
    main()
