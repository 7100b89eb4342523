"""gunicorn settings module (``gunicorn -c python:gridgeo.ops.gunicorn_hooks``) and the
folder where its worker processes share their Prometheus samples."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from gridgeo.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_dir(settings: Settings) -> Path:
    return settings.home / "run" / "metrics"


def prepare_metrics_dir(settings: Settings) -> Path:
    """An empty folder for this server's samples, named in the environment the server
    and its workers inherit (prometheus_client reads it at import)."""
    folder = metrics_dir(settings)
    shutil.rmtree(folder, ignore_errors=True)  # samples of a previous run would add up
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def child_exit(server: Any, worker: Any) -> None:
    """A gunicorn worker ended: its live gauges no longer count (counters stay)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
