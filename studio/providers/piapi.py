"""PiAPI's Midjourney task API, and every service speaking its protocol (GoAPI, …).

Protocol facts: ../shared/piapi-protocol.md, and https://piapi.ai/docs/midjourney-api/ .
Never log a task's `config`: the provider echoes the webhook secret in it. Each call is
sent once: this module never sleeps or retries; whoever calls decides when to try again,
through the task queue, so that one slow provider never holds a worker.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings

from studio.providers.base import (
    RETRYABLE_STATUSES,
    AccountFigures,
    Action,
    OutcomeUnknown,
    Provider,
    ProviderError,
    ProviderTask,
    TaskRequest,
    int_or,
    retry_after,
)


def task_from_data(data: dict[str, Any]) -> ProviderTask:
    """Read a PiAPI task object; hidden fields come back empty rather than missing."""
    output = data.get("output") or {}
    error = data.get("error") or {}
    meta = data.get("meta") or {}
    # Statuses are lowercase on the wire though the docs print them capitalised.
    status = str(data.get("status") or "").strip().lower()
    error_message = ""
    if error.get("code") or error.get("message"):
        error_message = str(error.get("message") or error.get("raw_message") or "failed")
    progress = int_or(output.get("progress"), 0)
    task_type = str(data.get("task_type") or "")
    actions = [str(a) for a in output.get("actions") or []]
    if task_type == "upscale" and status == "completed" and "inpaint" not in actions:
        # PiAPI's `actions` never lists inpaint, yet its inpaint task takes any upscaled
        # result (https://piapi.ai/docs/midjourney-api/inpaint): Studio offers it there.
        actions.append("inpaint")
    return ProviderTask(
        task_id=str(data.get("task_id") or ""),
        task_type=task_type,
        status=status,
        progress=max(0, min(progress, 100)),
        image_url=str(output.get("image_url") or ""),
        quadrant_urls=[str(u) for u in output.get("temporary_image_urls") or [] if u],
        intermediate_urls=[str(u) for u in output.get("intermediate_image_urls") or [] if u],
        actions=actions,
        error=error_message,
        error_code=int_or(error.get("code"), 0),
        description=str(output.get("description") or ""),
        seed=str(output.get("seed") or ""),
        usage=dict(meta.get("usage") or {}),
    )


@dataclass(frozen=True)
class AccountInfo(AccountFigures):
    available_credits: int
    used_credits: int
    equivalent_in_usd: float
    plan: str

    @property
    def summary(self) -> str:
        """E.g. "Plan creator · 9,300,000 credits ≈ $9.30"."""
        credits = f"{self.available_credits:,} credits ≈ ${self.equivalent_in_usd:,.2f}"
        return f"Plan {self.plan} · {credits}" if self.plan else credits


PAN_ARROWS = {"left": "←", "right": "→", "up": "↑", "down": "↓"}
NAMED_UPSCALES = {
    "subtle": ("Upscale (Subtle)", "Upscale, keeping the image as it is"),
    "creative": ("Upscale (Creative)", "Upscale, letting Midjourney add detail"),
    "2x": ("Upscale 2×", "Upscale to twice the size"),
    "4x": ("Upscale 4×", "Upscale to four times the size"),
    "light": ("Light upscale", "Upscale with a light touch"),
    "beta": ("Beta upscale", "Upscale with the beta upscaler"),
}


class PiAPI(Provider):
    name = "piapi"
    label = "PiAPI"
    default_base_url = "https://api.piapi.ai"
    modes = ("relax", "fast", "turbo")
    new_work = ("imagine", "describe", "blend")
    can_cancel = True
    # One price per mode, whatever the operation (Studio's prices before there were two
    # providers).
    default_prices = {
        ("relax", ""): Decimal("0.015"),
        ("fast", ""): Decimal("0.045"),
        ("turbo", ""): Decimal("0.10"),
    }
    priced_operations = (
        "imagine",
        "reroll",
        "variation",
        "upscale",
        "pan",
        "outpaint",
        "inpaint",
        "blend",
        "describe",
        "seed",
    )

    def create_task(self, request: TaskRequest) -> ProviderTask:
        """Create a task, sending the POST exactly once.

        Returns the task when the provider clearly made it. Raises ProviderError when it
        clearly did not: no connection could be made, or a 4xx answer (the request was
        refused as it stood; 408 and 429 may succeed later). Raises OutcomeUnknown for
        everything in between: PiAPI documents no 5xx as "nothing was created", so a 5xx,
        a timeout or a connection lost after sending may hide a task it will charge.
        """
        config: dict[str, Any] = {"service_mode": settings.PIAPI_SERVICE_MODE}
        if request.webhook_url:
            config["webhook_config"] = {
                "endpoint": request.webhook_url,
                "secret": request.webhook_secret,
            }
        body = {
            "model": "midjourney",
            "task_type": request.operation,
            "input": task_input(request),
            "config": config,
        }
        response = self.send_create(self.base_url + "/api/v1/task", body)
        try:
            data = self.read_answer(response)
        except ProviderError as exc:
            task_id = str(_data_in(response).get("task_id") or "").strip()
            if task_id:
                # Whatever went wrong, the provider names the task it made: keep it.
                return task_from_data({**_data_in(response), "task_id": task_id})
            if 400 <= exc.status_code < 500:
                raise  # refused as it stood: nothing was made
            # A 5xx, a 2xx without an envelope: the task may exist.
            raise OutcomeUnknown(f"HTTP {exc.status_code}", status_code=exc.status_code) from None
        finally:
            response.close()
        task = task_from_data(data)
        if not task.task_id:
            raise OutcomeUnknown("the answer named no task", status_code=response.status_code)
        return task

    def get_task(self, task_id: str) -> ProviderTask:
        return task_from_data(self.call("GET", f"/api/v1/task/{task_id}"))

    def cancel_task(self, task_id: str) -> None:
        """Cancel a task; the provider only allows it while the task is pending."""
        self.call("DELETE", f"/api/v1/task/{task_id}")

    def account_info(self) -> AccountInfo:
        data = self.call("GET", "/account/info")
        credits = data.get("credit_pack_info") or {}
        return AccountInfo(
            available_credits=int_or(credits.get("available_credits"), 0),
            used_credits=int_or(credits.get("used_credits"), 0),
            equivalent_in_usd=float(data.get("equivalent_in_usd") or 0),
            plan=str(data.get("plan") or ""),
        )

    # --- webhooks: a secret in the x-webhook-secret header, the unified body -----------

    @classmethod
    def webhook_secret_given(cls, *, headers: Mapping[str, str], token: str) -> str:
        return headers.get("x-webhook-secret", "")

    @classmethod
    def webhook_task(cls, body: Any) -> ProviderTask:
        """PiAPI posts `{timestamp, data}`, `data` being the task object."""
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ValueError("expected {timestamp, data}")
        return task_from_data(data)

    # --- what a result offers: its `output.actions` ------------------------------------

    @classmethod
    def action(cls, name: str) -> Action | None:
        return action_from_name(name)

    # --- transport ---------------------------------------------------------------------

    def read_answer(self, response: requests.Response) -> dict[str, Any]:
        """The envelope's `data`, or a ProviderError saying what went wrong."""
        hint = retry_after(response)
        try:
            envelope = response.json()
        except (ValueError, requests.RequestException):
            envelope = None
        if not isinstance(envelope, dict):
            raise ProviderError(
                f"The provider answered HTTP {response.status_code} without JSON.",
                status_code=response.status_code,
                retryable=response.status_code in RETRYABLE_STATUSES,
                retry_after=hint,
            )
        data = envelope.get("data")
        data = data if isinstance(data, dict) else {}
        code = envelope.get("code", 200)
        if response.status_code != 200 or code != 200:
            status = response.status_code if response.status_code != 200 else int_or(code, 500)
            raise ProviderError(
                _error_message(status, envelope, data),
                status_code=status,
                retryable=status in RETRYABLE_STATUSES,
                retry_after=hint,
            )
        return data


def task_input(request: TaskRequest) -> dict[str, Any]:
    """PiAPI's `input` for a request (Midjourney's flags live inside the prompt)."""
    parameters = dict(request.parameters)
    if request.operation == "imagine":
        return {
            "prompt": request.prompt,
            "aspect_ratio": request.aspect_ratio,
            "process_mode": request.mode,
        }
    if request.operation == "describe":
        url = request.image_urls[0] if request.image_urls else ""
        return {"image_url": url, "process_mode": request.mode}
    if request.operation == "blend":
        return {
            "dimension": parameters.get("dimension", "square"),
            "image_urls": request.image_urls,
            "process_mode": request.mode,
        }
    if request.operation == "variation":
        # PiAPI's docs mark the (remix) prompt as required for variations: without a new
        # one, the parent's (https://piapi.ai/docs/midjourney-api/variation).
        parameters.setdefault("prompt", request.prompt)
    return {"origin_task_id": request.origin_task_id, **parameters}


def action_from_name(name: str) -> Action | None:
    """The action behind a PiAPI action name, or None if Studio does not offer it."""
    if match := re.fullmatch(r"upscale([1-4])", name):
        n = int(match[1])
        return Action(
            name,
            "upscale",
            f"U{n}",
            f"Upscale image {n}",
            "upscale",
            {"index": str(n)},
            n,
            label_names_image=True,
        )
    if match := re.fullmatch(r"variation([1-4])", name):
        n = int(match[1])
        return Action(
            name,
            "variation",
            f"V{n}",
            f"Variations of image {n}",
            "vary",
            {"index": str(n)},
            n,
            label_names_image=True,
        )
    if name == "reroll":
        return Action(name, "reroll", "Reroll", "Run the prompt again", "reroll")
    if match := re.fullmatch(r"upscale_(subtle|creative|2x|4x|light|beta)", name):
        label, title = NAMED_UPSCALES[match[1]]
        return Action(name, "upscale", label, title, "upscale", {"index": match[1]})
    if name in ("high_variation", "low_variation"):
        strong = name == "high_variation"
        return Action(
            name,
            "variation",
            "Vary (Strong)" if strong else "Vary (Subtle)",
            "Variations with bigger changes" if strong else "Variations with small changes",
            "vary",
            {"index": name},
        )
    if match := re.fullmatch(r"outpaint_(1\.5|2)x", name):
        ratio = match[1]
        return Action(
            name,
            "outpaint",
            f"Zoom Out {ratio}×",
            f"Zoom out {ratio}×: Midjourney fills in the new border",
            "zoom",
            {"zoom_ratio": ratio},
        )
    if match := re.fullmatch(r"pan_(left|right|up|down)", name):
        direction = match[1]
        return Action(
            name,
            "pan",
            PAN_ARROWS[direction],
            f"Pan {direction}: extend the image {direction}wards",
            "pan",
            {"direction": direction},
            lineage=f"Pan {PAN_ARROWS[direction]}",
        )
    if name == "inpaint":
        return Action(
            name, "inpaint", "Vary (Region)", "Repaint a region you draw", "region", needs="mask"
        )
    return None


def _data_in(response: requests.Response) -> dict[str, Any]:
    try:
        envelope = response.json()
    except (ValueError, requests.RequestException):
        return {}
    data = envelope.get("data") if isinstance(envelope, dict) else None
    return data if isinstance(data, dict) else {}


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
