"""Talking to the sandbox the way a PiAPI client does, through Django's test client."""

import base64
import io
import time
from typing import Any
from urllib.parse import urlsplit

from django.test import Client
from PIL import Image, ImageChops, ImageStat

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


def follow_up_body(task_type: str, **input_fields: Any) -> dict[str, Any]:
    return {
        "model": "midjourney",
        "task_type": task_type,
        "input": input_fields,
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

    def follow(self, task_type: str, **input_fields: Any) -> dict:
        """Create a follow-up (or describe / blend) task; its creation answer."""
        response = self.post(follow_up_body(task_type, **input_fields))
        assert response.status_code == 200, response.json()
        return response.json()["data"]

    def refused(self, task_type: str, **input_fields: Any) -> str:
        """The message of the 400 a follow-up is refused with."""
        response = self.post(follow_up_body(task_type, **input_fields))
        assert response.status_code == 400, response.json()
        assert response.json()["code"] == 400
        message = response.json()["data"]["error"]["message"]
        assert message == response.json()["message"]
        return message

    def completed(self, task_id: str) -> dict:
        task = self.task(task_id)
        assert task["status"] == "completed", task["error"]
        return task

    def wait(self, task_id: str, timeout: float = 10.0) -> dict:
        """The task once it is completed or failed (describe and blend fetch first)."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.task(task_id)
            if task["status"] in ("completed", "failed") or time.monotonic() > deadline:
                return task
            time.sleep(0.02)

    def image(self, url: str) -> Image.Image:
        response = self.client.get(path_of(url))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        return Image.open(io.BytesIO(response.content)).convert("RGB")

    def grid_of(self, task: dict) -> list[Image.Image]:
        """The four quadrants of a completed grid task."""
        return [self.image(url) for url in task["output"]["temporary_image_urls"]]

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


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    """Mean absolute difference per channel, 0-255; images of another size are scaled
    to the first's."""
    if second.size != first.size:
        second = second.resize(first.size, Image.Resampling.LANCZOS)
    return sum(ImageStat.Stat(ImageChops.difference(first, second)).mean) / 3


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def base64_png(image: Image.Image) -> str:
    return base64.b64encode(png_bytes(image)).decode()


# --- LegNext ------------------------------------------------------------------------------

LEGNEXT = "/sandbox/legnext/api"


class LegNextApi:
    """Talking to the sandbox the way a LegNext client does: bare job objects, x-api-key,
    POST /v1/<endpoint>, GET /v1/job/<id>."""

    def __init__(self, client: Client, api_key: str = ALICE_KEY):
        self.client = client
        self.api_key = api_key

    def headers(self, api_key: str | None) -> dict[str, str]:
        return {"x-api-key": api_key if api_key is not None else self.api_key}

    def post(self, endpoint: str, body: object, *, api_key: str | None = None):
        return self.client.post(
            f"{LEGNEXT}/v1/{endpoint}",
            data=body,
            content_type="application/json",
            headers=self.headers(api_key),
        )

    def submit(self, endpoint: str, **fields: Any) -> dict:
        """The job a call makes, as the call answers it."""
        response = self.post(endpoint, fields)
        assert response.status_code == 200, response.json()
        return response.json()

    def refused(self, endpoint: str, status: int = 400, **fields: Any) -> dict:
        """The body of a call refused with `status`."""
        response = self.post(endpoint, fields)
        assert response.status_code == status, response.json()
        return response.json()

    def get(self, job_id: str, *, api_key: str | None = None):
        return self.client.get(f"{LEGNEXT}/v1/job/{job_id}", headers=self.headers(api_key))

    def job(self, job_id: str) -> dict:
        response = self.get(job_id)
        assert response.status_code == 200, response.json()
        return response.json()

    def completed(self, job_id: str) -> dict:
        job = self.job(job_id)
        assert job["status"] == "completed", job["error"]
        return job

    def wait(self, job_id: str, timeout: float = 10.0) -> dict:
        """The job once it is completed or failed (describe and blend fetch first)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in ("completed", "failed") or time.monotonic() > deadline:
                return job
            time.sleep(0.02)

    def diffusion(self, text: str = "a lighthouse in a storm", **fields: Any) -> dict:
        """A completed diffusion grid."""
        return self.completed(self.submit("diffusion", text=text, **fields)["job_id"])

    def follow(self, endpoint: str, **fields: Any) -> dict:
        """A completed follow-up (or describe, blend, shorten)."""
        return self.wait(self.submit(endpoint, **fields)["job_id"])

    def balance(self, *, api_key: str | None = None) -> dict:
        response = self.client.get(f"{LEGNEXT}/account/balance", headers=self.headers(api_key))
        assert response.status_code == 200, response.json()
        return response.json()

    def image(self, url: str) -> Image.Image:
        response = self.client.get(path_of(url))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        return Image.open(io.BytesIO(response.content)).convert("RGB")
