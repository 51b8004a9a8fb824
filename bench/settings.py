"""Settings for the benchmarks' processes (bench/common.py): the project's own, built as
for development (DEBUG=1 when studio.settings runs: the sandbox mounted, plain-http
cookies, the development keys), then run with DEBUG off, as production runs Studio.

With DEBUG on, Django logs every statement with its values written out (psycopg formats
each one again): in a burst of 100 completions that took a tenth of the worker's time
holding the GIL (py-spy, bench/live_completed.py), time no deployed Studio spends. What
DEBUG decided while the settings were built stays as it was.
"""

import warnings

from studio.settings import *  # noqa: F403

DEBUG = False

# WhiteNoise, with DEBUG off, serves the collected static files (STATIC_ROOT), which a
# benchmark neither collects nor asks for: its warning that there are none says nothing.
warnings.filterwarnings("ignore", message="No directory at")
