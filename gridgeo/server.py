"""Starts and stops gunicorn serving ``gridgeo.app``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gridgeo.settings import Settings


class ServerError(RuntimeError):
    """The server did not start or stop as asked."""


def pid_file(settings: Settings) -> Path:
    return settings.home / "server.pid"


def log_file(settings: Settings) -> Path:
    return settings.home / "server.log"


def running_pid(settings: Settings) -> int | None:
    try:
        pid = int(pid_file(settings).read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def gunicorn_command(settings: Settings, background: bool) -> list[str]:
    cmd = [sys.executable, "-m", "gunicorn", "gridgeo.app:app",
           "--bind", f"{settings.host}:{settings.port}", "--workers", str(settings.workers),
           "--pid", str(pid_file(settings)), "--timeout", "120", "--graceful-timeout", "10"]
    if background:
        cmd += ["--daemon", "--error-logfile", str(log_file(settings)),
                "--capture-output"]
    return cmd


def start(settings: Settings, background: bool) -> None:
    """Serve; in the background, return once the landing page answers."""
    stop(settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    cmd = gunicorn_command(settings, background)
    if not background:
        os.execv(cmd[0], cmd)
    subprocess.run(cmd, check=True)
    url = f"http://{settings.host}:{settings.port}/?f=json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise ServerError(f"the server did not answer within 60 s; see {log_file(settings)}")


def stop(settings: Settings) -> bool:
    """Stop a server started by ``start``; True when one was running."""
    pid = running_pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(150):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    raise ServerError(f"server process {pid} did not stop")
