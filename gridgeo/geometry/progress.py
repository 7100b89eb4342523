"""Progress reporting for long computations, so a job manager can show real progress.

A computation takes a ``Progress`` callback and calls it with the fraction done
(0 to 1) and a short sentence about the current step.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None]


def no_progress(_fraction: float, _message: str) -> None:
    """The default callback: reports nowhere."""


def step(progress: Progress, start: float, end: float, message: str) -> Callable[[float], None]:
    """A callback for one step that maps the step's own 0..1 onto ``start..end``."""
    progress(start, message)

    def report(fraction: float) -> None:
        progress(start + (end - start) * min(max(fraction, 0.0), 1.0), message)

    return report


def job_progress(fraction: float, message: str) -> None:
    """Reports to the process job running this computation (nothing outside a job)."""
    from gridgeo.jobs import report_progress

    report_progress(100 * fraction, message)
