import json
from typing import Any

import requests
from django.test import Client

from studio.generation.models import Job, Status
from tests.conftest import StudioServer, wait_for
from tests.payloads import load

TASK_ID = "0f1c9a7e-3b2d-4c55-9a11-7d2f8e6b4c01"


def webhook_body(payload: str, **changes: Any) -> dict[str, Any]:
    """A webhook as the provider sends it: {timestamp, data} (no envelope)."""
    data = load(payload)["data"]
    data.update(changes)
    return {"timestamp": 1764410400, "data": data}


def post_webhook(
    client: Client, job: Job, body: dict[str, Any], *, secret: str | None = None
) -> Any:
    return client.post(
        f"/webhooks/piapi/{job.pk}/",
        data=json.dumps(body),
        content_type="application/json",
        headers={"x-webhook-secret": job.webhook_secret if secret is None else secret},
    )


def submit(server: StudioServer, session: requests.Session, project: Any, prompt: str) -> Job:
    response = session.post(
        f"{server.url}/projects/{project.pk}/jobs/",
        data={"prompt": prompt, "aspect_ratio": "16:9", "mode": "fast"},
        headers={"HX-Request": "true"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return Job.objects.get(prompt=prompt)


def finished(job: Job, *, images: int = 5) -> Job:
    def done() -> Job | None:
        job.refresh_from_db()
        if job.status == Status.COMPLETED and job.images.count() == images:
            return job
        if job.status in (Status.FAILED, Status.CANCELED):
            return job
        return None

    return wait_for(done, timeout=30, what=f"job {job.pk} to finish")
