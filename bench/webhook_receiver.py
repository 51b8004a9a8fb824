"""How fast the webhook receiver answers, against a baseline measured in the same run.

The provider retries a webhook that is not answered quickly, so the receiver must only
check, dedupe and record, leaving the heavy work to the worker. This script sets up a
throw-away database (PostgreSQL when DATABASE_URL is set: see common.py), then times
(in-process, through Django's full request handling):

- baseline: GET of the login page (a plain template render);
- webhook, new: a progress delivery that moves a job forward;
- webhook, duplicate: the same delivery again (deduplicated);
- webhook, completed: a final delivery (records it and enqueues the worker's GET).

Run: .venv/bin/python bench/webhook_receiver.py [N]
"""

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import Bench

# A throw-away database (PostgreSQL when DATABASE_URL is set), migrated; see common.py.
BENCH = Bench("webhook_receiver")

import django
from django.test import Client

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300


def main() -> None:
    from studio.accounts.models import Membership, Team, User
    from studio.generation.models import Job, Status
    from studio.projects.models import Project

    team = Team.objects.create(name=f"Bench {time.time()}")
    user = User.objects.create_user(username=f"bench-{time.time()}", password="x")
    Membership.objects.create(team=team, user=user, role="admin")
    project = Project.objects.create(team=team, name="Bench")
    payload = json.loads((ROOT / "tests/payloads/piapi/task_processing.json").read_text())["data"]
    completed = json.loads((ROOT / "tests/payloads/piapi/task_completed.json").read_text())["data"]
    client = Client()

    def timed(label: str, make_request) -> float:
        started = time.perf_counter()
        for i in range(N):
            response = make_request(i)
            assert response.status_code in (200, 302), (label, response.status_code)
        per_request = (time.perf_counter() - started) / N
        return per_request

    jobs = [
        Job.objects.create(
            project=project,
            created_by=user,
            operation="imagine",
            prompt=f"p{i}",
            status=Status.SUBMITTED,
            provider_task_id=payload["task_id"],
        )
        for i in range(N)
    ]

    def post(job: Job, data: dict) -> object:
        return client.post(
            f"/webhooks/piapi/{job.pk}/",
            data=json.dumps({"timestamp": 1764410400, "data": data}),
            content_type="application/json",
            headers={"x-webhook-secret": job.webhook_secret},
        )

    baseline = timed("baseline", lambda i: client.get("/accounts/login/"))
    new = timed("new", lambda i: post(jobs[i], payload))
    duplicate = timed("duplicate", lambda i: post(jobs[i], payload))
    final = timed("completed", lambda i: post(jobs[i], completed))

    print(f"requests per case: {N}  database: {django.db.connection.vendor}")
    print(f"{'case':<28}{'ms/request':>12}{'× baseline':>12}")
    for label, value in [
        ("baseline: GET login page", baseline),
        ("webhook: progress (new)", new),
        ("webhook: duplicate", duplicate),
        ("webhook: completed", final),
    ]:
        print(f"{label:<28}{value * 1000:>12.2f}{value / baseline:>12.2f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        BENCH.close()
