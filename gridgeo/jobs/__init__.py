"""Process jobs: a PostgreSQL queue, worker processes and real progress.

A processor reports progress with ``report_progress(percent, message)``; outside a
job (a synchronous request) the call does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from contextvars import ContextVar

Reporter = Callable[[int, str], None]
_reporter: ContextVar[Reporter | None] = ContextVar("gridgeo_job_reporter", default=None)


def report_progress(percent: float, message: str = "") -> None:
    """Tell the running job's client how far it is (0-100)."""
    reporter = _reporter.get()
    if reporter is not None:
        reporter(max(0, min(99, int(percent))), message)


def set_reporter(reporter: Reporter | None) -> object:
    return _reporter.set(reporter)


def reset_reporter(token: object) -> None:
    _reporter.reset(token)  # type: ignore[arg-type]


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM or SIGINT sets ``stop``: the loop finishes its job, then ends. Here, not in
    the worker module, so the supervisor and the scheduler start without pygeoapi's
    process machinery."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
