"""Settings for the test suite: the project's own, with the sandbox on and instant."""

import os

os.environ.setdefault("SANDBOX_ENABLED", "1")
os.environ.setdefault("SANDBOX_STEP_SECONDS", "0")
os.environ.setdefault("PROVIDER_BACKOFF_SECONDS", "0.01")
os.environ.setdefault("API_WEBHOOK_BACKOFF_SECONDS", "0.05")
# The money race tests (tests/billing/test_races.py) give each of 50 threads its own
# connection at once; a production-sized pool would queue them and soften the races.
os.environ.setdefault("DATABASE_POOL_MAX_SIZE", "60")

from studio.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
