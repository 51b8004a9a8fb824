import json
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from studio.sandbox import behaviours, fetching, services, timeline
from studio.sandbox.legnext import services as legnext_services
from studio.sandbox.legnext import translation
from studio.sandbox.legnext.payloads import error_body, failed_job_body, job_object
from studio.sandbox.legnext.translation import ActionRefused, Body, InvalidParameters
from studio.sandbox.views import base_url_of

ApiView = Callable[..., JsonResponse]
# LegNext's words for a key it does not know (legnext-protocol.md §3, shape A).
BAD_KEY_MESSAGE = "Failed to verify api key"
INVALID_PARAMETERS = "Invalid request parameters"
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def api_error(
    status: int, message: str, headers: dict[str, str] | None = None, raw_message: str = ""
) -> JsonResponse:
    return JsonResponse(error_body(status, message, raw_message), status=status, headers=headers)


def legnext_api(*methods: str) -> Callable[[ApiView], Callable[..., JsonResponse]]:
    """Every LegNext endpoint: CSRF-exempt, the caller's x-api-key checked and passed on
    as `api_key`, and every refusal in the shape LegNext answers it with."""

    def decorate(view: ApiView) -> Callable[..., JsonResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            if request.method not in methods:
                return api_error(
                    405, f"method {request.method} not allowed", {"Allow": ", ".join(methods)}
                )
            # Header names are case-insensitive: x-api-key and X-API-KEY alike.
            api_key = request.headers.get("x-api-key", "").strip()
            if not api_key or api_key.startswith("invalid"):
                return api_error(401, BAD_KEY_MESSAGE)
            try:
                return view(request, *args, api_key=api_key, **kwargs)
            except InvalidParameters as error:
                return api_error(400, f"{INVALID_PARAMETERS}: {error}", raw_message=str(error))
            except ActionRefused as error:
                return JsonResponse(
                    failed_job_body(error.status, error.message), status=error.status
                )
            except services.Refused as error:
                return api_error(error.status, error.message, error.headers)

        return wrapper

    return decorate


def request_body(request: HttpRequest) -> Body:
    """The call's fields: a JSON object, or a form (the SDK posts inpaint as multipart,
    with the mask as a file)."""
    if request.content_type in FORM_TYPES:
        mask = request.FILES.get("mask")
        return Body(
            fields={name: request.POST.get(name) for name in request.POST},
            form=True,
            mask_file=mask.read() if mask is not None else None,
        )
    try:
        fields = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidParameters("the body is not valid JSON") from None
    if not isinstance(fields, dict):
        raise InvalidParameters("the body must be a JSON object")
    return Body(fields=fields)


@legnext_api("POST")
def job_create(request: HttpRequest, endpoint: str, *, api_key: str) -> JsonResponse:
    if endpoint in translation.NOT_EMULATED:
        return api_error(404, f"/v1/{endpoint} is not available in the sandbox")
    if endpoint not in translation.ENDPOINTS:
        return api_error(404, f"no LegNext endpoint at /v1/{endpoint}")
    task = legnext_services.job_create(
        api_key=api_key,
        endpoint=endpoint,
        body=request_body(request),
        base_url=base_url_of(request),
    )
    # The job exists (and runs) from here on; the answer may still be late or lost.
    delay = behaviours.create_answer_delay(task.behaviours, str(task.input.get("prompt", "")))
    if delay:
        time.sleep(delay)
    if behaviours.Behaviour.AMBIGUOUS_CREATE in task.behaviours:
        return api_error(500, "Internal server error: the sandbox made the job, then failed")
    # The creation answer is always the first step, however short the steps are.
    return JsonResponse(job_object(task, timeline.plan_for(task)[0]))


@legnext_api("GET")
def job_detail(request: HttpRequest, job_id: str, *, api_key: str) -> JsonResponse:
    task = legnext_services.job_for_key(job_id, api_key=api_key)
    if task is None:
        raise ActionRefused(404, f"job {job_id} not found")
    fetching.resume_if_stalled(task)
    return JsonResponse(job_object(task, timeline.current_step(task)))


@legnext_api("GET")
def account_balance(request: HttpRequest, *, api_key: str) -> JsonResponse:
    return JsonResponse(legnext_services.account_balance(api_key=api_key))


@csrf_exempt
def not_found(request: HttpRequest, path: str) -> JsonResponse:
    return api_error(404, f"no LegNext endpoint at /{path}")
