"""The one module that speaks HTTP to the provider (PiAPI's Midjourney task API).

Everything else gets typed results (`ProviderTask`, `AccountInfo`) and two errors:
`ProviderError` (the call did nothing: refused, or the provider could not be reached)
and `OutcomeUnknown` (a create was sent but its answer is unclear). Protocol facts:
../shared/piapi-protocol.md, and https://piapi.ai/docs/midjourney-api/ . Never log a
task's `config`: the provider echoes the webhook secret in it.

Each call is sent once: the client never sleeps or retries. Whoever calls decides when
to try again, through the task queue, so that one slow provider never holds a worker.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

logger = logging.getLogger(__name__)

# Answers after which the same call may well succeed later.
RETRYABLE_STATUSES = {408, 429, 500, 502, 503, 504}
MAX_IMAGE_BYTES = 50 * 1024 * 1024
# Retry-After hints are honoured up to this many seconds.
MAX_RETRY_AFTER_SECONDS = 300


class ProviderError(Exception):
    """The provider refused the call, or could not be reached: for a create, nothing was
    made, so it may be sent again.

    `retryable` says whether the same call may succeed later (rate limits, 5xx on reads,
    no connection); `status_code` is the HTTP status, 0 when there was no answer;
    `retry_after` is the provider's own hint in seconds, when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 0,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after


class OutcomeUnknown(Exception):
    """A create was sent, but no clear answer came back (a 5xx, a timeout, a connection
    lost after sending, an answer without a task id): the provider may have made the
    task, and may charge for it. Such a create must never be sent again blindly; the
    task's webhook (signed with the job's own secret) is how Studio learns its id.

    Deliberately not a ProviderError, so that no `except ProviderError` retries it.
    `message` says in a few words what came back instead ("HTTP 500").
    """

    def __init__(self, message: str, *, status_code: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


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
    ) -> None:
        self.api_key = api_key
        self.base_url = (base_url or settings.PIAPI_BASE_URL).rstrip("/")
        self.timeout = timeout if timeout is not None else settings.PIAPI_TIMEOUT_SECONDS
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
        """Create a task, sending the POST exactly once.

        Returns the task when the provider clearly made it. Raises ProviderError when it
        clearly did not: no connection could be made, or a 4xx answer (the request was
        refused as it stood; 408 and 429 may succeed later). Raises OutcomeUnknown for
        everything in between: PiAPI documents no 5xx as "nothing was created", so a 5xx,
        a timeout or a connection lost after sending may hide a task it will charge.
        """
        config: dict[str, Any] = {"service_mode": settings.PIAPI_SERVICE_MODE}
        if webhook_url:
            config["webhook_config"] = {"endpoint": webhook_url, "secret": webhook_secret}
        body = {"model": "midjourney", "task_type": task_type, "input": input, "config": config}
        try:
            response = self._send("POST", self.base_url + "/api/v1/task", json=body)
        except ProviderError:
            raise  # not sent at all
        except requests.Timeout:
            raise OutcomeUnknown(f"no answer within {self.timeout:g} s") from None
        except requests.RequestException:
            raise OutcomeUnknown("the connection dropped") from None
        try:
            data = self._read(response)
        except ProviderError as exc:
            task_id = _task_id_in(response)
            if task_id:
                # Whatever went wrong, the provider names the task it made: keep it.
                return ProviderTask.from_data({**_data_in(response), "task_id": task_id})
            if 400 <= exc.status_code < 500:
                raise  # refused as it stood: nothing was made
            # A 5xx, a 2xx without an envelope: the task may exist.
            raise OutcomeUnknown(f"HTTP {exc.status_code}", status_code=exc.status_code) from None
        finally:
            response.close()
        task = ProviderTask.from_data(data)
        if not task.task_id:
            raise OutcomeUnknown("the answer named no task", status_code=response.status_code)
        return task

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
        """A read or a cancel: any failure is a ProviderError (nothing is made by it)."""
        try:
            response = self._send(method, self.base_url + path, json=json)
        except requests.RequestException as exc:
            raise ProviderError(
                f"The provider did not answer in time ({type(exc).__name__}).", retryable=True
            ) from None
        try:
            return self._read(response)
        finally:
            response.close()

    def _read(self, response: requests.Response) -> dict[str, Any]:
        """The envelope's `data`, or a ProviderError saying what went wrong."""
        retry_after = _retry_after(response)
        try:
            envelope = response.json()
        except (ValueError, requests.RequestException):
            envelope = None
        if not isinstance(envelope, dict):
            raise ProviderError(
                f"The provider answered HTTP {response.status_code} without JSON.",
                status_code=response.status_code,
                retryable=response.status_code in RETRYABLE_STATUSES,
                retry_after=retry_after,
            )
        data = envelope.get("data")
        data = data if isinstance(data, dict) else {}
        code = envelope.get("code", 200)
        if response.status_code != 200 or code != 200:
            status = response.status_code if response.status_code != 200 else _int_or(code, 500)
            raise ProviderError(
                _error_message(status, envelope, data),
                status_code=status,
                retryable=status in RETRYABLE_STATUSES,
                retry_after=retry_after,
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
        """Send once. A connection that could not even be opened is a retryable
        ProviderError (the request never left); any other network failure is raised as
        the requests exception, for the caller to judge (a lost answer to a create is
        not the same as a lost answer to a read)."""
        headers = {"x-api-key": self.api_key} if with_key else {}
        try:
            return self.session.request(
                method, url, json=json, headers=headers, timeout=self.timeout, stream=stream
            )
        except requests.ConnectionError as exc:
            if _never_connected(exc):
                raise ProviderError(
                    f"The provider could not be reached ({type(exc).__name__}).",
                    retryable=True,
                ) from None
            raise


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Whether the connection failed before a byte of the request was sent: refused,
    unresolvable, or timed out while connecting."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason: BaseException | None = exc
    seen = 0
    while reason is not None and seen < 6:
        if isinstance(reason, (NewConnectionError, NameResolutionError, ConnectTimeoutError)):
            return True
        if isinstance(reason, ConnectionRefusedError):
            return True
        reason = (
            getattr(reason, "reason", None)
            or reason.__context__
            or (
                reason.args[0]
                if reason.args and isinstance(reason.args[0], BaseException)
                else None
            )
        )
        seen += 1
    return False


def _retry_after(response: requests.Response) -> float | None:
    hint = response.headers.get("Retry-After", "")
    if hint.strip().isdigit():
        return min(float(hint), MAX_RETRY_AFTER_SECONDS)
    return None


def _int_or(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _data_in(response: requests.Response) -> dict[str, Any]:
    try:
        envelope = response.json()
    except (ValueError, requests.RequestException):
        return {}
    data = envelope.get("data") if isinstance(envelope, dict) else None
    return data if isinstance(data, dict) else {}


def _task_id_in(response: requests.Response) -> str:
    return str(_data_in(response).get("task_id") or "").strip()


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
