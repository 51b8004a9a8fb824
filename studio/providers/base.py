"""What every provider module offers the workflow, and what it gets back.

A provider module (`piapi.py`, `legnext.py`) is the only code that speaks HTTP to its
service. The workflow (jobs, holds, queue, webhook receiver, sweeper) asks it through
this small interface and never names a provider:

- `create_task(request)` → the task made (`ProviderTask`), or `ProviderError` (clearly
  refused: nothing was made, the request may be sent again), or `OutcomeUnknown` (sent,
  answer unclear: never send it again blindly);
- `get_task(id)`, `cancel_task(id)` (where the provider can), `account_info()`,
  `download(url)`;
- how its webhooks are addressed and authenticated, and what their body holds;
- what a finished result offers (`offers`): the follow-ups, modes and options the UI shows;
- what its jobs cost by default (`default_prices`, `price_key`), which teams may override.
"""

import hmac
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import requests
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

# Answers after which the same call may well succeed later.
RETRYABLE_STATUSES = {408, 429, 500, 502, 503, 504}
MAX_IMAGE_BYTES = 50 * 1024 * 1024
# Reads (a task's GET, a result's download, the account) go over connections kept open
# and shared by every client in the process: each read otherwise opened a connection of
# its own, a TLS handshake (round trips) before a byte of a result came. Up to this many
# are kept per host, for the worker's threads downloading grids at once (WORKER_CONCURRENCY
# tasks, five images each). A create or a cancel is sent on a connection of its own, as
# before: one that a server closed while it sat idle could fail a POST after it was sent
# (an answer lost), where a read is simply asked again later.
KEPT_CONNECTIONS_PER_HOST = 32
KEPT_CONNECTIONS = HTTPAdapter(pool_connections=8, pool_maxsize=KEPT_CONNECTIONS_PER_HOST)
# Retry-After hints are honoured up to this many seconds.
MAX_RETRY_AFTER_SECONDS = 300
# A custom Zoom Out factor, as Midjourney takes it.
ZOOM_MIN, ZOOM_MAX = 1.1, 2.0


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

    @property
    def key_refused(self) -> bool:
        """The provider refused the key itself (unknown key, no credits left): another
        key may work."""
        return self.status_code in (401, 402, 403) or "credit" in self.message.lower()


class OutcomeUnknown(Exception):
    """A create was sent, but no clear answer came back (a 5xx, a timeout, a connection
    lost after sending, an answer without a task id): the provider may have made the
    task, and may charge for it. Such a create must never be sent again blindly; the
    task's webhook (addressed to the job alone) is how Studio learns its id.

    Deliberately not a ProviderError, so that no `except ProviderError` retries it.
    `message` says in a few words what came back instead ("HTTP 500").
    """

    def __init__(self, message: str, *, status_code: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class ProviderTask:
    """A task as Studio reads it, whatever the provider's shape."""

    task_id: str
    task_type: str
    status: str  # pending, staged, processing, completed, failed (always lowercase)
    progress: int = 0
    image_url: str = ""  # the grid, or the single image
    quadrant_urls: list[str] = field(default_factory=list)  # a grid's four images
    intermediate_urls: list[str] = field(default_factory=list)
    video_urls: list[str] = field(default_factory=list)  # a video job's clips (mp4)
    # The follow-ups the result offers, as Studio names them (see `Provider.action`).
    actions: list[str] = field(default_factory=list)
    error: str = ""
    error_code: int = 0
    description: str = ""  # describe's four prompts in one string; shorten's answer
    prompts: list[str] = field(default_factory=list)  # shorten: the words that matter
    seed: str = ""
    usage: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """A follow-up a result offers: one button, or one entry of an image's menu."""

    name: str  # Studio's name for it, stored in the job's output, e.g. "upscale2"
    operation: str
    label: str  # short, for the button
    title: str  # long, for the tooltip
    group: str  # how buttons are laid out: upscale, vary, reroll, zoom, pan, region, remix…
    parameters: dict[str, Any] = field(default_factory=dict)
    image: int | None = None  # the image of the grid it acts on (1–4), if one
    # "mask": drawn in the region editor; "prompt": a remix prompt is required;
    # "zoom": a custom zoom factor is asked for; "animate": motion, resolution, loop and
    # an end frame are chosen first; "canvas": placed and painted in the canvas editor.
    needs: str = ""
    # Why it cannot be used now ("" = it can), shown in its tooltip.
    unavailable: str = ""
    # How the step reads in a lineage, when the label alone would not say ("Pan ←").
    lineage: str = ""
    # Whether the label says which image it acts on already ("U2").
    label_names_image: bool = False

    @property
    def needs_editor(self) -> bool:
        """Vary Region needs a mask drawn in the browser before it can run."""
        return self.needs == "mask"

    @property
    def step(self) -> str:
        """How the step reads in a lineage."""
        label = self.lineage or self.label
        if self.image is None or self.label_names_image:
            return label
        return f"{label} · image {self.image}"


@dataclass(frozen=True)
class TaskRequest:
    """What a job asks the provider to do, in Studio's terms; each module translates it.

    `operation` is Studio's (imagine, upscale, variation, …); `parameters` what the
    action chose (index, direction, zoom, image, …); `origin_task_id` the parent's task;
    `image_urls` public links to the job's input images (an animation's end frame is
    the last, when `parameters["end_frame"]`); `mask_url` a public link to the drawn
    mask, `mask` the same mask as base64 PNG.
    """

    operation: str
    prompt: str = ""
    aspect_ratio: str = "1:1"
    mode: str = "fast"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    origin_task_id: str = ""
    image_urls: list[str] = field(default_factory=list)
    webhook_url: str = ""
    webhook_secret: str = ""


class AccountFigures(ABC):
    @property
    @abstractmethod
    def summary(self) -> str:
        """One line for the keys page: plan, credits, dollars."""


class Provider(ABC):
    """One provider's API, as the workflow uses it."""

    name: ClassVar[str]  # stored on keys and jobs
    label: ClassVar[str]  # shown to people
    default_base_url: ClassVar[str]
    # Speed modes it runs, in the order the picker shows them.
    modes: ClassVar[tuple[str, ...]]
    # Work a job can start with (follow-ups come from `offers`).
    new_work: ClassVar[tuple[str, ...]]
    # Whether a task at the provider can be canceled while it waits.
    can_cancel: ClassVar[bool]
    # Follow-ups are possible for this long after the result (None: always).
    follow_up_window: ClassVar[timedelta | None] = None
    # Whether a grid's seed comes with the result (else it takes a provider call).
    seed_in_result: ClassVar[bool] = False
    # Whether a drawn mask goes as a link the provider fetches (else inline, base64).
    takes_mask_as_link: ClassVar[bool] = False
    # What Studio charges for one of its jobs until a team sets prices of its own, in
    # dollars by (mode, operation price key); operation "" is the mode's price for every
    # operation without one of its own here.
    default_prices: ClassVar[Mapping[tuple[str, str], Decimal]]
    # The price keys of the operations its jobs can run, in the order a prices page
    # lists them.
    priced_operations: ClassVar[tuple[str, ...]]

    def __init__(self, *, api_key: str, base_url: str = "", timeout: float | None = None) -> None:
        self.api_key = api_key
        self.base_url = (base_url or self.configured_base_url()).rstrip("/")
        self.timeout = timeout if timeout is not None else settings.PROVIDER_TIMEOUT_SECONDS
        # Creates and cancels: a connection of this client's own (a client is made for each).
        self.session = requests.Session()
        self.reads = requests.Session()
        self.reads.mount("http://", KEPT_CONNECTIONS)
        self.reads.mount("https://", KEPT_CONNECTIONS)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    @classmethod
    def configured_base_url(cls) -> str:
        return str(getattr(settings, f"{cls.name.upper()}_BASE_URL", "") or cls.default_base_url)

    @classmethod
    def price_key(cls, operation: str, parameters: Mapping[str, Any]) -> str:
        """What a job of `operation` with `parameters` (a follow-up's action parameters)
        is priced as: its operation, or a variant the provider charges differently."""
        return operation

    # --- calls -------------------------------------------------------------------------

    @abstractmethod
    def create_task(self, request: TaskRequest) -> ProviderTask:
        """Send the create once: the task made, ProviderError (nothing was made), or
        OutcomeUnknown (the task may exist)."""

    @abstractmethod
    def get_task(self, task_id: str) -> ProviderTask: ...

    def cancel_task(self, task_id: str) -> None:
        raise ProviderError(f"{self.label} cannot cancel a job once it has it.")

    @abstractmethod
    def account_info(self) -> AccountFigures: ...

    def download(self, url: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
        """Fetch a result file (the provider's result URLs need no key)."""
        response = self.send("GET", url, stream=True, with_key=False)
        try:
            if response.status_code != 200:
                raise ProviderError(
                    f"Downloading a result failed with HTTP {response.status_code}",
                    status_code=response.status_code,
                    retryable=response.status_code in RETRYABLE_STATUSES,
                )
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise ProviderError("The result is larger than Studio accepts.")
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            response.close()

    # --- webhooks ----------------------------------------------------------------------

    @classmethod
    def webhook_path_token(cls, secret: str) -> str:
        """What the webhook's URL carries beyond the job's id ("" = nothing)."""
        return ""

    @classmethod
    @abstractmethod
    def webhook_secret_given(cls, *, headers: Mapping[str, str], token: str) -> str:
        """The secret a webhook carries, which is its job's if it comes from the provider
        (`token` is what its URL carried)."""

    @classmethod
    def webhook_is_authentic(cls, *, headers: Mapping[str, str], token: str, secret: str) -> bool:
        """Whether a webhook comes from the provider, for the job whose secret is
        `secret`."""
        return secrets_match(cls.webhook_secret_given(headers=headers, token=token), secret)

    @classmethod
    @abstractmethod
    def webhook_task(cls, body: Any) -> ProviderTask:
        """The task a webhook body describes; ValueError when it describes none."""

    # --- what a result offers ----------------------------------------------------------

    @classmethod
    @abstractmethod
    def action(cls, name: str) -> Action | None:
        """The follow-up behind one of Studio's action names, or None if not offered."""

    @classmethod
    def offers(cls, output: Mapping[str, Any], *, made_at: datetime | None) -> list[Action]:
        """What a finished result offers, in the order the UI shows them; those the
        provider no longer allows say why."""
        actions = [a for name in output.get("actions") or [] if (a := cls.action(str(name)))]
        if cls.follow_up_window is not None and made_at is not None:
            if timezone.now() > made_at + cls.follow_up_window:
                why = (
                    f"{cls.label} allows follow-ups for {cls.follow_up_window.days} days "
                    "after a job; this one is older."
                )
                actions = [replace(action, unavailable=why) for action in actions]
        return actions

    # --- transport ---------------------------------------------------------------------

    def call(self, method: str, path: str) -> dict[str, Any]:
        """A read or a cancel: any failure is a ProviderError (nothing is made by it)."""
        try:
            response = self.send(method, self.base_url + path)
        except requests.RequestException as exc:
            raise ProviderError(
                f"{self.label} did not answer in time ({type(exc).__name__}).", retryable=True
            ) from None
        try:
            return self.read_answer(response)
        finally:
            response.close()

    @abstractmethod
    def read_answer(self, response: requests.Response) -> dict[str, Any]:
        """The answer's payload, or a ProviderError saying what went wrong."""

    def send_create(self, url: str, body: dict[str, Any]) -> requests.Response:
        """POST a create once. Not sent at all: ProviderError. Sent, but no answer (a
        timeout, a connection lost after sending): OutcomeUnknown."""
        try:
            return self.send("POST", url, json=body)
        except ProviderError:
            raise  # not sent at all
        except requests.Timeout:
            raise OutcomeUnknown(f"no answer within {self.timeout:g} s") from None
        except requests.RequestException:
            raise OutcomeUnknown("the connection dropped") from None

    def send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        stream: bool = False,
        with_key: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        """Send once. A connection that could not even be opened is a retryable
        ProviderError (the request never left); any other network failure is raised as
        the requests exception, for the caller to judge (a lost answer to a create is
        not the same as a lost answer to a read)."""
        headers = {"x-api-key": self.api_key} if with_key else {}
        session = self.reads if method == "GET" else self.session
        try:
            return session.request(
                method,
                url,
                json=json,
                headers=headers,
                timeout=self.timeout,
                stream=stream,
                **kwargs,
            )
        except requests.ConnectionError as exc:
            if never_connected(exc):
                raise ProviderError(
                    f"{self.label} could not be reached ({type(exc).__name__}).",
                    retryable=True,
                ) from None
            raise


def secrets_match(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def never_connected(exc: requests.ConnectionError) -> bool:
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


def retry_after(response: requests.Response) -> float | None:
    hint = response.headers.get("Retry-After", "")
    if hint.strip().isdigit():
        return min(float(hint), MAX_RETRY_AFTER_SECONDS)
    return None


def int_or(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
