"""The Procfile's web process, started as a platform starts it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import ROOT, free_port, server_env, stop_server


def procfile_web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("the Procfile has no web process")


def start_procfile_web(
    *, media_root: Path, **extra_env: str
) -> tuple[subprocess.Popen[bytes], str]:
    """The Procfile's web line, run by a shell as a platform runs it (with this
    environment's Python), in a process of its own."""
    port = free_port()
    env = server_env(port=port, media_root=media_root, **extra_env)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    process = subprocess.Popen(["bash", "-c", f"exec {procfile_web_command()}"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web process exited with {process.returncode}")
        try:
            requests.get(f"{url}/accounts/login/", timeout=5, allow_redirects=False)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    stop_server(process)
    raise RuntimeError("the web process did not start within 60 s")
