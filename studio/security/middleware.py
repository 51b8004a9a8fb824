from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_htmx.http import reswap, retarget

# Paths whose callers are programs (the sandbox's API clients, the provider's webhooks,
# the provider fetching input images): they get refusals as JSON.
API_PATH_PREFIXES = ("/sandbox/", "/webhooks/", "/inputs/", "/api/", "/account/info")


def megabytes(size: int) -> str:
    """A size as people read it: "126 MB", "1.5 MB", "98 KB"."""
    if size < 1024 * 1024:
        return f"{max(size // 1024, 1)} KB"
    amount = size / 1024 / 1024
    if amount >= 10:
        return f"{amount:.0f} MB"
    return f"{amount:.1f}".removesuffix(".0") + " MB"


def too_large_message(length: int | None) -> str:
    """What a refused request is told; `length` is None for a chunked body, refused
    once it passed the limit."""
    limit = settings.REQUEST_MAX_BYTES
    size = megabytes(length) if length is not None else f"over {megabytes(limit)}"
    return (
        f"The request is {size}; Studio accepts at most {megabytes(limit)} "
        f"(images up to {megabytes(settings.INPUT_IMAGE_MAX_BYTES)})."
    )


def wants_json(path: str, accept: str) -> bool:
    return "application/json" in accept or path.startswith(API_PATH_PREFIXES)


class RequestSizeLimitMiddleware:
    """Refuse bodies over the limit from their Content-Length, before Django (or Pillow)
    reads a byte of them: 413 with a sentence saying what the limit is.

    Studio's own server (studio/server.py) already refuses them before they arrive; this
    is the same rule for any other server that runs the application."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES:
            message = too_large_message(length)
            if wants_json(request.path, request.headers.get("Accept", "")):
                return JsonResponse({"error": message}, status=413)
            # The same plain sentence as the server's; pages show it as a notice.
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class RefusalsInPlaceMiddleware:
    """A refused HTMX request (PermissionDenied: a viewer's click on something only
    members may do, say) answers with its sentence in the page's notice area, like every
    other refusal, never with an error page swapped over the page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, PermissionDenied) or not getattr(request, "htmx", False):
            return None
        message = str(exception) or "You may not do that here."
        response = render(request, "notice.html", {"message": message}, status=403)
        return reswap(retarget(response, "#notice"), "innerHTML")
