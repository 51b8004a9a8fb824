"""The one module that speaks HTTP to the provider (PiAPI's Midjourney task API).

Everything else gets typed results (`ProviderTask`, `AccountInfo`) and one error class
(`ProviderError`). Protocol facts: ../shared/piapi-protocol.md, and
https://piapi.ai/docs/midjourney-api/ . Never log a task's `config`: the provider echoes
the webhook secret in it.
"""

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = {429, 500, 502, 503, 504}
MAX_IMAGE_BYTES = 50 * 1024 * 1024


class ProviderError(Exception):
    """The provider refused or could not be reached.

    `retryable` says whether the same call may succeed later (rate limits, 5xx,
    network trouble); `status_code` is the HTTP status, 0 when there was no answer.
    """

    def __init__(self, message: str, *, status_code: int = 0, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retryable = retryable


@dataclass(frozen=True)
class ProviderTask:
    task_id: str
    task_type: str
    status: str  # pending, staged, processing, completed, failed (always lowercase)
    progress: int = 0
    image_url: str = ""
    quadrant_urls: list[str] = field(default_factory=list)
    intermediate_urls: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    error: str = ""
    description: str = ""
    seed: str = ""
    usage: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "ProviderTask":
        """Read a task object; hidden fields come back empty rather than missing."""
        output = data.get("output") or {}
        error = data.get("error") or {}
        meta = data.get("meta") or {}
        # Statuses are lowercase on the wire though the docs print them capitalised.
        status = str(data.get("status") or "").strip().lower()
        error_message = ""
        if error.get("code") or error.get("message"):
            error_message = str(error.get("message") or error.get("raw_message") or "failed")
        try:
            progress = int(output.get("progress") or 0)
        except (TypeError, ValueError):
            progress = 0
        return cls(
            task_id=str(data.get("task_id") or ""),
            task_type=str(data.get("task_type") or ""),
            status=status,
            progress=max(0, min(progress, 100)),
            image_url=str(output.get("image_url") or ""),
            quadrant_urls=[str(u) for u in output.get("temporary_image_urls") or [] if u],
            intermediate_urls=[str(u) for u in output.get("intermediate_image_urls") or [] if u],
            actions=[str(a) for a in output.get("actions") or []],
            error=error_message,
            description=str(output.get("description") or ""),
            seed=str(output.get("seed") or ""),
            usage=dict(meta.get("usage") or {}),
        )


@dataclass(frozen=True)
class AccountInfo:
    available_credits: int
    used_credits: int
    equivalent_in_usd: float
    plan: str


class PiAPIClient:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
    ) -> None:
        self.api_key = api_key
        self.base_url = (base_url or settings.PIAPI_BASE_URL).rstrip("/")
        self.timeout = timeout if timeout is not None else settings.PIAPI_TIMEOUT_SECONDS
        self.retries = retries if retries is not None else settings.PIAPI_RETRIES
        self.backoff = backoff if backoff is not None else settings.PIAPI_BACKOFF_SECONDS
        self.session = requests.Session()

    def __repr__(self) -> str:
        return f"<PiAPIClient {self.base_url}>"

    # --- tasks ---------------------------------------------------------------------

    def create_task(
        self,
        *,
        task_type: str,
        input: dict[str, Any],
        webhook_url: str = "",
        webhook_secret: str = "",
    ) -> ProviderTask:
        config: dict[str, Any] = {"service_mode": settings.PIAPI_SERVICE_MODE}
        if webhook_url:
            config["webhook_config"] = {"endpoint": webhook_url, "secret": webhook_secret}
        body = {"model": "midjourney", "task_type": task_type, "input": input, "config": config}
        return ProviderTask.from_data(self._call("POST", "/api/v1/task", json=body))

    def get_task(self, task_id: str) -> ProviderTask:
        return ProviderTask.from_data(self._call("GET", f"/api/v1/task/{task_id}"))

    def cancel_task(self, task_id: str) -> None:
        """Cancel a task; the provider only allows it while the task is pending."""
        self._call("DELETE", f"/api/v1/task/{task_id}")

    def account_info(self) -> AccountInfo:
        data = self._call("GET", "/account/info")
        credits = data.get("credit_pack_info") or {}
        return AccountInfo(
            available_credits=int(credits.get("available_credits") or 0),
            used_credits=int(credits.get("used_credits") or 0),
            equivalent_in_usd=float(data.get("equivalent_in_usd") or 0),
            plan=str(data.get("plan") or ""),
        )

    def download(self, url: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
        """Fetch a result image (the provider's temporary URLs need no key)."""
        response = self._send("GET", url, stream=True, with_key=False)
        try:
            if response.status_code != 200:
                raise ProviderError(
                    f"Downloading an image failed with HTTP {response.status_code}",
                    status_code=response.status_code,
                    retryable=response.status_code in RETRYABLE_STATUSES,
                )
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise ProviderError("The image is larger than Studio accepts.")
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            response.close()

    # --- transport -----------------------------------------------------------------

    def _call(self, method: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._send(method, self.base_url + path, json=json)
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            raise ProviderError(
                f"The provider answered HTTP {response.status_code} without JSON.",
                status_code=response.status_code,
                retryable=response.status_code in RETRYABLE_STATUSES,
            )
        data = envelope.get("data")
        data = data if isinstance(data, dict) else {}
        if response.status_code != 200 or envelope.get("code", 200) != 200:
            raise ProviderError(
                _error_message(response.status_code, envelope, data),
                status_code=response.status_code,
                retryable=response.status_code in RETRYABLE_STATUSES,
            )
        return data

    def _send(
        self,
        method: str,
        url: str,
        *,
        json: dict[str, Any] | None = None,
        stream: bool = False,
        with_key: bool = True,
    ) -> requests.Response:
        """Send with retries and backoff on 429, 5xx and network errors."""
        headers = {"x-api-key": self.api_key} if with_key else {}
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(
                    method, url, json=json, headers=headers, timeout=self.timeout, stream=stream
                )
            except requests.RequestException as exc:
                if attempt > self.retries:
                    raise ProviderError(
                        f"The provider could not be reached: {type(exc).__name__}",
                        retryable=True,
                    ) from None
                self._sleep(attempt, None)
                continue
            if response.status_code in RETRYABLE_STATUSES and attempt <= self.retries:
                logger.info("provider answered %s to %s; retrying", response.status_code, method)
                retry_after = response.headers.get("Retry-After")
                response.close()
                self._sleep(attempt, retry_after)
                continue
            return response

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2 ** (attempt - 1))
        if retry_after and retry_after.isdigit():
            # Honour the provider's own hint, within reason.
            delay = max(delay, min(float(retry_after), 30.0))
        time.sleep(delay)


def _error_message(status_code: int, envelope: dict[str, Any], data: dict[str, Any]) -> str:
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    reason = (error or {}).get("message") or envelope.get("message") or ""
    if status_code == 401:
        return f"The provider rejected the API key ({reason or 'unauthorized'})."
    if status_code == 429:
        return "The provider is rate-limiting Studio; try again in a moment."
    if status_code >= 500:
        return f"The provider had an internal error (HTTP {status_code}). {reason}".strip()
    return str(reason or f"The provider refused the request (HTTP {status_code}).")
