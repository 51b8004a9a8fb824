from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB"


class RequestSizeLimitMiddleware:
    """Refuse bodies over the limit from their Content-Length, before Django (or Pillow)
    reads a byte of them: 413 with a sentence saying what the limit is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.REQUEST_MAX_BYTES
        if length > limit:
            message = (
                f"The request is {megabytes(length)}; Studio accepts at most {megabytes(limit)} "
                f"(images up to {megabytes(settings.INPUT_IMAGE_MAX_BYTES)})."
            )
            if "application/json" in request.headers.get("Accept", "") or request.path.startswith(
                ("/sandbox/", "/webhooks/", "/inputs/")
            ):
                return JsonResponse({"error": message}, status=413)
            html = render_to_string("generation/notice.html", {"message": message})
            response = HttpResponse(html, status=413)
            response["HX-Retarget"] = "#notice"
            response["HX-Reswap"] = "innerHTML"
            return response
        return self.get_response(request)
