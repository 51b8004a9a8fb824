import json
from typing import Any

from django.test import Client

from studio.generation.models import Job
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
