"""A PiAPI client as a third party writes one: plain `requests`, from the protocol as
documented (shared/piapi-protocol.md), knowing nothing of Studio's code. Studio's API
must serve it unchanged when its base URL is Studio's and its key a Studio token."""

import time
from typing import Any

import requests

FINAL = ("completed", "failed")


class PiAPIError(Exception):
    def __init__(self, status: int, code: int, message: str, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class PiAPI:
    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["x-api-key"] = api_key

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, self.base_url + path, timeout=15, **kwargs)
        body = response.json()
        if response.status_code != 200 or body.get("code") != 200:
            error = ((body.get("data") or {}).get("error") or {}) if body.get("data") else {}
            raise PiAPIError(
                response.status_code,
                body.get("code", 0),
                error.get("message") or body.get("message", ""),
                response.headers.get("Retry-After"),
            )
        return body

    def create(
        self, task_type: str, *, webhook: dict[str, str] | None = None, **fields: Any
    ) -> dict[str, Any]:
        config: dict[str, Any] = {"service_mode": "public"}
        if webhook:
            config["webhook_config"] = webhook
        body = {"model": "midjourney", "task_type": task_type, "input": fields, "config": config}
        task: dict[str, Any] = self._call("POST", "/api/v1/task", json=body)["data"]
        return task

    def get(self, task_id: str) -> dict[str, Any]:
        task: dict[str, Any] = self._call("GET", f"/api/v1/task/{task_id}")["data"]
        return task

    def cancel(self, task_id: str) -> str:
        message: str = self._call("DELETE", f"/api/v1/task/{task_id}")["message"]
        return message

    def account(self) -> dict[str, Any]:
        info: dict[str, Any] = self._call("GET", "/account/info")["data"]
        return info

    def wait(self, task_id: str, *, until: tuple[str, ...] = FINAL, timeout: float = 60) -> Any:
        """Poll as a client does, until the task's status (compared case-insensitively,
        as the docs print them capitalised) is one of `until`."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.get(task_id)
            if task["status"].lower() in until:
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} still {task['status']} after {timeout} s")
            time.sleep(0.2)
