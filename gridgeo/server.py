"""Starts and stops gunicorn serving ``gridgeo.app``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gridgeo.ops.gunicorn_hooks import prepare_metrics_dir
from gridgeo.settings import Settings

# How long a stop waits for each process: a job worker finishes its job first; gunicorn
# drains requests for its graceful timeout (10 s), then exits.
WORKER_STOP_S = 35.0
WEB_STOP_S = 15.0


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
    cmd = [sys.executable, "-m", "gunicorn", "gridgeo.app:create_app()",
           "--bind", f"{settings.host}:{settings.port}", "--workers", str(settings.workers),
           "--pid", str(pid_file(settings)), "--timeout", "120", "--graceful-timeout", "10",
           "--config", "python:gridgeo.ops.gunicorn_hooks"]
    if background:
        cmd += ["--daemon", "--error-logfile", str(log_file(settings)),
                "--capture-output"]
    return cmd


def supervisor_pid_file(settings: Settings) -> Path:
    return settings.home / "worker-supervisor.pid"


def worker_pids_file(settings: Settings) -> Path:
    """The running job workers' pids, one a line (kept by their supervisor)."""
    return settings.home / "job-workers.pids"


def start_workers(settings: Settings) -> None:
    """Job workers, kept running by a detached supervisor that starts again any worker
    that exits; each finishes its job before it stops."""
    if settings.job_workers < 1:
        return
    log = log_file(settings).with_name("worker.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "gridgeo.cli", "worker", "--supervise",
                             str(settings.job_workers)], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    supervisor_pid_file(settings).write_text(str(proc.pid))


def start_scheduler(settings: Settings) -> None:
    """A scheduler for periodic work, stopped with the workers (its pid file is a
    worker-*.pid); more schedulers on other hosts are harmless: each period runs once."""
    if not settings.scheduler:
        return
    log = log_file(settings).with_name("worker.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "gridgeo.cli", "scheduler"], stdout=log,
                            stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    settings.home.joinpath("worker-scheduler.pid").write_text(str(proc.pid))


def _worker_pid_files(settings: Settings) -> dict[Path, int]:
    # worker-N.pid: workers started without a supervisor by earlier versions.
    return {path: int(path.read_text().strip()) for path in settings.home.glob("worker-*.pid")}


def stop_workers(settings: Settings) -> None:
    """Stop the job workers' supervisor and the scheduler; each finishes its job first."""
    pid_files = _worker_pid_files(settings)
    _terminate(dict.fromkeys(pid_files.values(), WORKER_STOP_S))
    for path in pid_files:
        path.unlink(missing_ok=True)


def start(settings: Settings, background: bool) -> None:
    """Serve with job workers; in the background, return once the landing page answers."""
    stop(settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    prepare_metrics_dir(settings)
    start_workers(settings)
    start_scheduler(settings)
    cmd = gunicorn_command(settings, background)
    if not background:
        try:
            subprocess.run(cmd, check=False)
        finally:
            stop_workers(settings)
        return
    subprocess.run(cmd, check=True)
    url = f"http://{settings.host}:{settings.port}/?f=json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise ServerError(f"the server did not answer within 60 s; see {log_file(settings)}")


def exec_web(settings: Settings) -> None:
    """Become gunicorn in the foreground, without job workers: systemd then supervises
    gunicorn itself as the unit's main process (workers are units of their own)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    prepare_metrics_dir(settings)
    cmd = gunicorn_command(settings, background=False)
    os.execv(cmd[0], cmd)


def _terminate(limits: dict[int, float]) -> set[int]:
    """SIGTERM every pid at once, then wait for them together, each up to its limit in
    ``limits``: they drain in parallel, so a stop takes the slowest drain, not their sum.
    Returns the pids that were running."""
    running: set[int] = set()
    for pid in limits:
        try:
            os.kill(pid, signal.SIGTERM)
            running.add(pid)
        except ProcessLookupError:
            pass
    asked, waiting = time.monotonic(), set(running)
    while waiting := {pid for pid in waiting if _alive(pid)}:
        late = sorted(pid for pid in waiting if time.monotonic() - asked > limits[pid])
        if late:
            raise ServerError(f"process {late[0]} did not stop within {limits[late[0]]:.0f} s")
        time.sleep(0.05)
    return running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(settings: Settings) -> bool:
    """Stop a server and its workers started by ``start``, all at once; True when a
    server was running."""
    pid_files = _worker_pid_files(settings)
    limits = dict.fromkeys(pid_files.values(), WORKER_STOP_S)
    web = running_pid(settings)
    if web is not None:
        limits[web] = WEB_STOP_S
    stopped = _terminate(limits)
    for path in pid_files:
        path.unlink(missing_ok=True)
    return web in stopped
