import json
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from studio.sandbox import behaviours, fetching, images, recipes, services, timeline, videos
from studio.sandbox.models import Protocol, Task
from studio.sandbox.payloads import envelope, error_envelope, task_object
from studio.sandbox.validation import InvalidRequest

ApiView = Callable[..., JsonResponse]


def api_error(status: int, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse(error_envelope(status, message), status=status, headers=headers)


def sandbox_api(*methods: str) -> Callable[[ApiView], Callable[..., JsonResponse]]:
    """Every API endpoint: CSRF-exempt, the envelope for every answer, and the caller's
    x-api-key checked and passed on as `api_key`."""

    def decorate(view: ApiView) -> Callable[..., JsonResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            if request.method not in methods:
                return api_error(
                    405, f"method {request.method} not allowed", {"Allow": ", ".join(methods)}
                )
            api_key = request.headers.get("x-api-key", "").strip()
            if not api_key:
                return api_error(401, "Unauthorized: missing x-api-key")
            if api_key.startswith("invalid"):
                return api_error(401, "Unauthorized: invalid x-api-key")
            try:
                return view(request, *args, api_key=api_key, **kwargs)
            except InvalidRequest as error:
                return api_error(400, str(error))
            except services.Refused as error:
                return api_error(error.status, error.message, error.headers)

        return wrapper

    return decorate


def get_task_for_key(task_id: str, api_key: str) -> Task | None:
    """The task, if it exists and was created through PiAPI's API with this key; another
    key (or LegNext's API) sees nothing."""
    try:
        parsed = uuid.UUID(task_id)
    except ValueError:
        return None
    tasks = Task.objects.for_api_key(api_key).for_protocol(Protocol.PIAPI)
    return tasks.filter(task_id=parsed).first()


def base_url_of(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@sandbox_api("POST")
def task_create(request: HttpRequest, *, api_key: str) -> JsonResponse:
    try:
        body = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidRequest("the request body is not valid JSON") from None
    if services.has_no_credits(api_key):
        return api_error(400, "insufficient credits: this account has no credits left")
    task = services.task_create(api_key=api_key, body=body, base_url=base_url_of(request))
    # The task exists (and runs) from here on; the answer may still be late or lost.
    delay = behaviours.create_answer_delay(task.behaviours, str(task.input.get("prompt", "")))
    if delay:
        time.sleep(delay)
    if behaviours.Behaviour.AMBIGUOUS_CREATE in task.behaviours:
        return api_error(500, "Internal server error: the sandbox made the task, then failed")
    # The creation answer is always the first step, however short the steps are.
    first_step = timeline.plan_for(task)[0]
    return JsonResponse(envelope(task_object(task, first_step)))


@sandbox_api("GET", "DELETE")
def task_detail(request: HttpRequest, task_id: str, *, api_key: str) -> JsonResponse:
    task = get_task_for_key(task_id, api_key)
    if task is None:
        return api_error(404, f"task {task_id} not found")
    if request.method == "DELETE":
        services.task_cancel(task=task)
        return JsonResponse(envelope({}, message=f"task {task.task_id} canceled"))
    fetching.resume_if_stalled(task)
    return JsonResponse(envelope(task_object(task, timeline.current_step(task))))


@sandbox_api("GET")
def account_info(request: HttpRequest, *, api_key: str) -> JsonResponse:
    return JsonResponse(envelope(services.account_info(api_key=api_key)))


@csrf_exempt
def not_found(request: HttpRequest, path: str) -> JsonResponse:
    return api_error(404, f"no sandbox endpoint at /{path}")


def signed_link_refusal(request: HttpRequest) -> JsonResponse | None:
    """Why a signed result link (an image's, a clip's) is refused, if it is: public like
    a CDN link, the signature, not an API key, grants access, until it expires."""
    expires = request.GET.get("expires", "")
    if not images.signature_is_valid(request.path, expires, request.GET.get("signature", "")):
        return api_error(403, "Forbidden: bad signature")
    if int(expires) <= timeline.now().timestamp():
        return api_error(403, "Forbidden: this link has expired")
    return None


@require_GET
def image(request: HttpRequest, task_id: uuid.UUID, name: str) -> HttpResponse:
    if refused := signed_link_refusal(request):
        return refused
    result = recipes.result_by_id(task_id)
    if result is None or name not in images.names_for(result):
        return api_error(404, "image not found")
    png = images.render_png(result, name)
    response = HttpResponse(png, content_type="image/png")
    # The bytes behind a URL never change, so a browser may keep them.
    response["Cache-Control"] = "public, max-age=86400, immutable"
    return response


@require_GET
def video(request: HttpRequest, task_id: str, name: str) -> FileResponse | JsonResponse:
    # Rendered on the first fetch (see videos.py).
    if refused := signed_link_refusal(request):
        return refused
    task = Task.objects.filter(task_id=task_id).first()
    clips = recipes.clips_for(task) if task is not None else None
    if clips is None or name not in videos.CLIP_NAMES[: len(clips)]:
        return api_error(404, "video not found")
    path = videos.rendered_file(task_id, name, clips[int(name)])
    response = FileResponse(path.open("rb"), content_type="video/mp4")
    response["Cache-Control"] = "public, max-age=86400, immutable"
    return response
