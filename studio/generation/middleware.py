"""Provider webhooks go from here straight to their view.

A provider's webhook is the request Studio takes most of (a progress step of every
running job), and the pages' middleware does nothing for it: a provider has no session,
no login, no CSRF token (the view is exempt), no messages, no HTMX and no page to frame
or to guard with a content security policy. Skipping it took daphne's CPU per progress
webhook from 9.0-10.8 ms to 7.9-8.9 ms (issue 14, row 5). The middleware above
this one in settings.MIDDLEWARE still runs: the security headers and the request size
limit. The host is checked against ALLOWED_HOSTS here, as CommonMiddleware does for
every other request.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from studio.generation import views

WEBHOOK_PATH_PREFIX = "/webhooks/"


class WebhooksDirectMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(WEBHOOK_PATH_PREFIX):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)  # not a webhook's address: the usual 404
        if match.func is not views.webhook:
            return self.get_response(request)
        request.get_host()  # DisallowedHost (a 400) for a host Studio does not serve
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        return response
