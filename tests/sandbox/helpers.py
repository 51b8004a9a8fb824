"""Talking to the sandbox the way a PiAPI client does, through Django's test client."""

from typing import Any
from urllib.parse import urlsplit

from django.test import Client

ALICE_KEY = "sk-sandbox-alice"
CHARLIE_KEY = "sk-sandbox-charlie"
API = "/sandbox/api/v1/task"


def create_body(prompt: str = "a lighthouse in a storm", **input_fields: Any) -> dict[str, Any]:
    return {
        "model": "midjourney",
        "task_type": "imagine",
        "input": {"prompt": prompt, **input_fields},
        "config": {"service_mode": "public"},
    }


class SandboxApi:
    def __init__(self, client: Client, api_key: str = ALICE_KEY):
        self.client = client
        self.api_key = api_key

    def post(self, body: object, *, api_key: str | None = None):
        return self.client.post(
            API,
            data=body,
            content_type="application/json",
            headers={"x-api-key": api_key if api_key is not None else self.api_key},
        )

    def create(self, prompt: str = "a lighthouse in a storm", **input_fields: Any) -> dict:
        response = self.post(create_body(prompt, **input_fields))
        assert response.status_code == 200, response.json()
        return response.json()["data"]

    def get(self, task_id: str, *, api_key: str | None = None):
        return self.client.get(
            f"{API}/{task_id}",
            headers={"x-api-key": api_key if api_key is not None else self.api_key},
        )

    def task(self, task_id: str) -> dict:
        response = self.get(task_id)
        assert response.status_code == 200, response.json()
        return response.json()["data"]

    def delete(self, task_id: str, *, api_key: str | None = None):
        return self.client.delete(
            f"{API}/{task_id}",
            headers={"x-api-key": api_key if api_key is not None else self.api_key},
        )


def path_of(url: str) -> str:
    """The path and query of an absolute URL, for Django's test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
