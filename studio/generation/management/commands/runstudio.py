import faulthandler
import signal
import threading
from typing import Any

from daphne.endpoints import build_endpoint_description_strings
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from studio.generation.worker import StudioWorker
from studio.server import BoundedServer


class Command(BaseCommand):
    help = "Serve Studio (web, websockets, sandbox) with a worker in the same process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--no-worker", action="store_true", help="Serve only; run `manage.py worker` apart."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Including the database checks: a wrong encryption key stops start-up here.
        self.check(databases=["default"], display_num_errors=False)
        # `kill -USR1 <pid>` prints every thread's stack: what a stuck process waits on.
        faulthandler.register(signal.SIGUSR1, all_threads=True)
        from studio.asgi import application

        worker = None
        if not options["no_worker"]:
            worker = StudioWorker()
            threading.Thread(target=worker.run, name="studio-worker", daemon=True).start()
        host, port = options["host"], options["port"]
        sandbox = " with the sandbox at /sandbox" if settings.SANDBOX_ENABLED else ""
        self.stdout.write(f"Studio is serving on http://{host}:{port}/{sandbox}. Ctrl-C stops it.")
        proxies = ", ".join(str(network) for network in settings.STUDIO_TRUSTED_PROXIES)
        self.stdout.write(
            f"X-Forwarded-For and X-Forwarded-Proto are believed from: {proxies}."
            if proxies
            else "X-Forwarded-For and X-Forwarded-Proto are believed from nobody "
            "(behind a load balancer, set STUDIO_TRUSTED_PROXIES)."
        )
        try:
            BoundedServer(
                application=application,
                request_max_bytes=settings.REQUEST_MAX_BYTES,
                endpoints=build_endpoint_description_strings(host=host, port=port),
                signal_handlers=True,
                verbosity=0,
            ).run()
        finally:
            if worker:
                worker.stop()
