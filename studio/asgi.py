import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, ASGIRequest, get_script_prefix
from django.http import HttpRequest, HttpResponseBase
from django.urls import set_script_prefix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")


Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]

# Threads kept for the next requests when fewer are busy than in a burst.
IDLE_REQUEST_THREADS = 32


class PagesHandler(ASGIHandler):
    """Django's ASGI handler, with two costs of each request taken out.

    - A new thread. Django runs a request's sync code in a thread of the request's own
      (so that its database connection is its own), and started a new one for each
      request, while the event loop waited for it to start. Here a request takes an
      idle thread, and a thread is made only when all are busy (as a WSGI server's
      threads serve request after request).
    - Handovers between the loop and that thread. Django builds an ASGI request's
      middleware chain in async mode; with a middleware that can only run sync in the
      list (WhiteNoise's, two of Studio's), each request went from the event loop to the
      thread for the middleware, back to the loop to resolve the URL, and to the thread
      again for the view (every view of Studio is sync). Built in sync mode, as under
      WSGI, the chain and the view run in one go. And request_started, whose receivers
      (the database's) are sync, goes with them, as under WSGI: Django sends it from
      the loop, a handover to the thread and back before the request was even made.

    Issue 14, row 5 (bench/webhook_throughput.py): daphne's CPU per no-op request went
    from 4.2-4.9 ms to 2.5-3.2 ms. Row 1 (bench/live_progress.py, three alternating
    benches of 5 runs): request_started in the request's thread took a progress
    webhook → card from 2.69-2.93× the raw push to 2.49-2.79×."""

    def __init__(self) -> None:
        super().__init__()
        self.idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = self.idle.pop() if self.idle else ThreadPoolExecutor(1, "studio-request")
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            # Free: the request's end waits for its sync code, even when the request
            # is cancelled (asgiref waits for a sync call it cannot interrupt).
            if len(self.idle) < IDLE_REQUEST_THREADS:
                self.idle.append(thread)
            else:
                thread.shutdown(wait=False)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def handle(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """Django's (6.1), with request_started sent by get_response_async, in the
        request's thread, for a request that is made; as Django's does, before it for
        one that cannot be (a query string that is no UTF-8: a 400)."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        with closing(body_file):
            set_script_prefix(get_script_prefix(scope))
            request, error_response = self.create_request(scope, body_file)
            if request is None:
                assert error_response is not None
                await signals.request_started.asend(sender=self.__class__, scope=scope)
                body_file.close()
                await self.send_response(error_response, send)
                await sync_to_async(error_response.close)()
                return

            class RequestProcessed(Exception):
                pass

            response = None
            try:
                try:
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self.listen_for_disconnect(receive))
                        response = await self.run_get_response(request)
                        await self.send_response(response, send)
                        raise RequestProcessed
                except* (RequestProcessed, RequestAborted):
                    pass
            except BaseExceptionGroup as exception_group:
                if len(exception_group.exceptions) == 1:
                    # As Django's: the exception keeps its own cause.
                    raise exception_group.exceptions[0]  # noqa: B904
                raise

            if response is None:
                await signals.request_finished.asend(sender=self.__class__)
            else:
                await sync_to_async(response.close)()

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self._started, thread_sensitive=True)(request)

    def _started(self, request: HttpRequest) -> HttpResponseBase:
        assert isinstance(request, ASGIRequest)
        signals.request_started.send(sender=self.__class__, scope=request.scope)
        return self.get_response(request)


django.setup(set_prefix=False)
pages: Any = PagesHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from studio.realtime.routing import websocket_urlpatterns  # noqa: E402
from studio.security.proxies import ForwardedHeadersMiddleware  # noqa: E402

# Outermost: the client's address and scheme are settled before anything reads them.
application = ForwardedHeadersMiddleware(
    ProtocolTypeRouter(
        {
            "http": pages,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
