"""Studio's PiAPI-compatible endpoints: a PiAPI client works unchanged when its base URL
is Studio's and its key a personal access token. Every answer is PiAPI's envelope."""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from studio.accounts.models import Membership
from studio.api import protocol, services
from studio.api.models import ApiToken
from studio.api.services import ApiRefusal
from studio.billing.services import member_standing
from studio.generation import files
from studio.generation.models import ResultImage
from studio.security.throttle import client_address

ApiView = Callable[..., dict[str, Any]]


def api_answer(
    status: int, body: dict[str, Any], *, retry_after: int | None = None
) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def api_endpoint(*methods: str) -> Callable[[ApiView], Callable[..., HttpResponse]]:
    """The method and the body's size checked, then the token (counted against its rate
    limit), before the view runs; an `ApiRefusal` anywhere becomes PiAPI's error envelope
    with its status."""

    def decorate(view: ApiView) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise ApiRefusal(
                        f"{request.method} is not allowed here; use {' or '.join(methods)}.",
                        status=405,
                    )
                _check_size(request)
                token, membership = services.token_authenticate(
                    secret=request.headers.get("x-api-key", ""), address=client_address(request)
                )
                return api_answer(200, view(request, token, membership, *args, **kwargs))
            except ApiRefusal as refused:
                body = protocol.error_envelope(refused.status, str(refused))
                response = api_answer(refused.status, body, retry_after=refused.retry_after)
                if refused.status == 405:
                    response["Allow"] = ", ".join(methods)
                return response

        return wrapped

    return decorate


def _check_size(request: HttpRequest) -> None:
    """From the declared length first, so that nothing over the limit is read."""
    limit = settings.API_REQUEST_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    try:
        size = declared if declared > limit else len(request.body)
    except RequestDataTooBig:
        size = declared
    if size > limit:
        raise ApiRefusal(
            f"The request is {size:,} bytes; the API takes at most {limit:,}.", status=413
        )


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiRefusal("The body is not valid JSON.", status=400) from None
    if not isinstance(body, dict):
        raise ApiRefusal("The body must be a JSON object.", status=400)
    return body


@api_endpoint("POST")
def task_create(request: HttpRequest, token: ApiToken, membership: Membership) -> dict[str, Any]:
    body = _json_body(request)
    model = str(body.get("model") or protocol.MODEL).strip().lower()
    if model != protocol.MODEL:
        raise ApiRefusal(f"model “{model}” is not served here; use “midjourney”.", status=400)
    fields = body.get("input") or {}
    config = body.get("config") or {}
    if not isinstance(fields, dict) or not isinstance(config, dict):
        raise ApiRefusal("input and config must be JSON objects.", status=400)
    api_task = services.api_task_create(
        token=token,
        membership=membership,
        task_type=str(body.get("task_type") or "").strip().lower(),
        fields=fields,
        config=config,
    )
    return protocol.envelope(protocol.task_object(api_task))


@api_endpoint("GET", "DELETE")
def task_detail(
    request: HttpRequest, token: ApiToken, membership: Membership, task_id: str
) -> dict[str, Any]:
    api_task = services.api_task_for(token, task_id)
    if request.method == "DELETE":
        services.api_task_cancel(api_task=api_task, membership=membership)
        return {"code": 200, "message": f"task {api_task.task_id} canceled"}
    return protocol.envelope(protocol.task_object(api_task))


@api_endpoint("GET")
def account_info(request: HttpRequest, token: ApiToken, membership: Membership) -> dict[str, Any]:
    """The token's member's month, as PiAPI's account: points are dollars × 1,000,000."""
    standing = member_standing(membership=membership)
    points = protocol.points
    return protocol.envelope(
        {
            "account_id": membership.pk,
            "account_name": f"{membership.user.display_name} in {membership.team.name}",
            "credit_pack_info": {
                "available_credits": points(standing.left),
                "used_credits": points(standing.spent),
                "total_credits": points(standing.total),
                "frozen_credits": points(standing.held),
            },
            "equivalent_in_usd": float(standing.left),
            "plan": f"Studio · {membership.get_role_display()}",
        }
    )


@require_GET
def result_file(request: HttpRequest, signed: str) -> HttpResponseBase:
    """A result image behind a signed, expiring link from a task object."""
    image_id = protocol.file_from(signed)
    image = None
    if image_id is not None:
        image = ResultImage.objects.select_related("job").filter(pk=image_id).first()
    if image is None:
        body = protocol.error_envelope(404, "This link has expired or is not valid.")
        return api_answer(404, body)
    return files.full_response(image)
