import faulthandler
import signal
from typing import Any

from django.core.management.base import BaseCommand

from studio.generation.worker import StudioWorker


class Command(BaseCommand):
    help = "Run Studio's background worker (dispatch, webhooks' follow-up, downloads, polling)."

    def handle(self, *args: Any, **options: Any) -> None:
        # Including the database checks: a wrong encryption key stops start-up here.
        self.check(databases=["default"], display_num_errors=False)
        worker = StudioWorker()
        # `kill -USR1 <pid>` prints every thread's stack: what a stuck process waits on.
        faulthandler.register(signal.SIGUSR1, all_threads=True)
        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        signal.signal(signal.SIGINT, lambda *_: worker.stop())
        self.stdout.write("Studio worker running; Ctrl-C stops it.")
        worker.run()
