"""The API's description for people and tools: the OpenAPI document, served to anyone
(it is documentation), its server being this Studio."""

import functools
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

OPENAPI_FILE = Path(__file__).with_name("openapi.json")


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document as written, with a placeholder server (read once)."""
    document: dict[str, Any] = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    return document


def public_url(request: HttpRequest) -> str:
    """Studio's base URL as its API clients reach it: STUDIO_PUBLIC_URL, else the
    address this request came to."""
    return (settings.STUDIO_PUBLIC_URL or request.build_absolute_uri("/")).rstrip("/")


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    document = {
        **openapi_document(),
        "servers": [{"url": public_url(request), "description": "This Studio"}],
    }
    return JsonResponse(document, json_dumps_params={"ensure_ascii": False})
