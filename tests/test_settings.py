"""The production configuration: refuses to start without real secrets, never runs the
sandbox, and passes Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
REAL_SECRET = "p" * 20 + "-Kq93jz0aLmv8Xw2Rt6Yb4Nc1Ud7Ef5Gh"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "SECRET_KEY",
            "STUDIO_ENCRYPTION_KEY",
            "SANDBOX_ENABLED",
            "DEBUG",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    clean["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_passes_the_deployment_checks() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=REAL_SECRET,
        STUDIO_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="studio.example",
    )

    assert result.returncode == 0, result.stderr


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = manage("check", DEBUG="0", STUDIO_ENCRYPTION_KEY=Fernet.generate_key().decode())

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_an_encryption_key() -> None:
    result = manage("check", DEBUG="0", SECRET_KEY=REAL_SECRET)

    assert result.returncode != 0
    assert "STUDIO_ENCRYPTION_KEY must be set" in result.stderr


def test_a_malformed_encryption_key_stops_start_up_with_a_clear_error() -> None:
    result = manage("check", STUDIO_ENCRYPTION_KEY="not-a-fernet-key")

    assert result.returncode != 0
    assert "not a Fernet key" in result.stderr


def test_production_never_runs_the_sandbox() -> None:
    result = manage(
        "check",
        DEBUG="0",
        SECRET_KEY=REAL_SECRET,
        STUDIO_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        SANDBOX_ENABLED="1",
    )

    assert result.returncode != 0
    assert "SANDBOX_ENABLED is refused in a production configuration" in result.stderr


def test_a_typo_in_a_boolean_setting_stops_start_up() -> None:
    result = manage("check", DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_a_database_pool_too_small_for_the_workers_threads_stops_start_up() -> None:
    result = manage(
        "check",
        DATABASE_URL="postgres://studio@127.0.0.1:5432/studio",
        DATABASE_POOL_MAX_SIZE="3",
        WORKER_CONCURRENCY="4",
    )

    assert result.returncode != 0
    assert "DATABASE_POOL_MAX_SIZE (3) must be at least WORKER_CONCURRENCY + 1" in result.stderr
