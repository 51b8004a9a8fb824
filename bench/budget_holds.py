"""Budget holds a second from 50 threads at once, against one thread alone, measured in
the same run, with the team's budget checked for overspend (issue 14, row 10).

In this process, on the bench's database (PostgreSQL when DATABASE_URL is set): each
hold is what a submit does, one transaction that makes the job and calls
`billing.job_hold` (which locks the team's and the member's usage rows, checks every
budget and records the hold). Each run and each case gets a new team whose monthly
budget allows exactly HOLDS fast imagine jobs; its threads hold until the budget
refuses. Threads share this process's connection pool (DATABASE_POOL_MAX_SIZE, 10 by
default, as in a deployed process). It prints holds a second for 1 thread (baseline)
and 50 threads, their ratio, and checks that exactly HOLDS holds went through and that
the team's held money equals them, never more than the budget.

Run: .venv/bin/python bench/budget_holds.py [--runs 5] [--holds 200] [--threads 50]
"""

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Bench, Table, arguments, counts, run_each


def main() -> None:
    options = arguments(
        __doc__,
        holds=(int, 200, "holds the budget allows, a case"),
        threads=(int, 50, "threads at once"),
    )
    holds = 50 if options.quick else options.holds
    with Bench("budget_holds") as bench:
        from django.db import connection, transaction
        from django.db.models import Sum

        from studio.billing.models import Budget, LedgerEntry, Usage
        from studio.billing.services import BudgetExceeded, job_hold, price_for
        from studio.generation.models import Job

        def case(name: str, threads: int) -> dict[str, float]:
            team, project, user = bench.provision(team=name, project="P", user=name)
            price = price_for(team=team, provider="piapi", mode="fast", operation="imagine")
            budget = price * holds
            Budget.objects.filter(team=team, user__isnull=True, mode="").update(amount=budget)
            done = [0] * threads
            refused = threading.Event()

            def hold_until_refused(thread: int) -> None:
                try:
                    while not refused.is_set():
                        try:
                            with transaction.atomic():
                                job = Job.objects.create(
                                    project=project,
                                    created_by=user,
                                    operation="imagine",
                                    prompt=f"hold {thread}",
                                    process_mode="fast",
                                )
                                job_hold(job=job)
                            done[thread] += 1
                        except BudgetExceeded:
                            refused.set()
                finally:
                    connection.close()

            workers = [
                threading.Thread(target=hold_until_refused, args=(t,)) for t in range(threads)
            ]
            started = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - started
            held = Usage.objects.get(team=team, user__isnull=True).held_fast
            ledger = LedgerEntry.objects.filter(team=team, kind="hold").aggregate(Sum("amount"))
            overspend = held > budget or ledger["amount__sum"] != held or sum(done) != holds
            return {"rate": sum(done) / elapsed, "overspend": float(overspend)}

        def one_run(run: int) -> tuple[dict[str, float], dict[str, float]]:
            return case(f"one-{run}", 1), case(f"many-{run}", options.threads)

        results = run_each(options.runs, one_run)
        describe = bench.describe()

    table = Table(f"budget holds a second, {holds} a case; {describe}", options.runs)
    table.add(
        f"1 thread vs {options.threads} threads",
        [one["rate"] for one, _ in results],
        [many["rate"] for _, many in results],
        unit="/s",
    )
    table.note(
        "overspend or a miscount (1 = yes), per run, 1 thread / many: "
        + counts([one["overspend"] for one, _ in results])
        + " / "
        + counts([many["overspend"] for _, many in results])
    )
    table.print()


if __name__ == "__main__":
    main()
