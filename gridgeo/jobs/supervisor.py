"""``gridgeo worker --supervise N``: keeps N job workers running for ``gridgeo serve``.

A worker reconnects by itself when the database goes away (gridgeo.jobs.worker); this
covers the rest: a worker that exits (killed, out of memory, a bug) is started again,
after a pause that grows while it keeps dying at once, so queued jobs are never left
without a worker.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LOGGER = logging.getLogger(__name__)
# A worker that lived shorter than this died "at once": the next restart waits longer.
QUICK_DEATH_S = 10.0
FIRST_RESTART_S = 1.0
LAST_RESTART_S = 30.0
STOP_WAIT_S = 30.0


def worker_command() -> list[str]:
    return [sys.executable, "-m", "gridgeo.cli", "worker"]


@dataclass
class Slot:
    """One worker place: its process, when it started, when it may start again."""

    number: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    not_before: float = 0.0
    pause: float = field(default=FIRST_RESTART_S)

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def supervise(count: int, stop: threading.Event, pids_file: Path,
              command: list[str] | None = None, tick_s: float = 0.5) -> None:
    """Run ``count`` workers until ``stop`` is set, restarting any that exits; then stop
    them (each finishes its job first). Their pids are kept in ``pids_file``."""
    slots = [Slot(n) for n in range(count)]
    try:
        while not stop.is_set():
            if any(_tend(slot, command or worker_command()) for slot in slots):
                _write_pids(pids_file, slots)
            stop.wait(tick_s)
    finally:
        _stop_all(slots)
        pids_file.unlink(missing_ok=True)


def _tend(slot: Slot, command: list[str]) -> bool:
    """Start the slot's worker if it is not running and may start; True if started."""
    now = time.monotonic()
    if slot.exited():
        assert slot.process is not None
        lived = now - slot.started
        slot.pause = (min(slot.pause * 2, LAST_RESTART_S) if lived < QUICK_DEATH_S
                      else FIRST_RESTART_S)
        slot.not_before = now + slot.pause
        LOGGER.warning("job worker %d (pid %d) exited with %s after %.0f s; starting it again "
                       "in %.0f s", slot.number, slot.process.pid, slot.process.returncode,
                       lived, slot.pause)
        slot.process = None
    if slot.process is not None or now < slot.not_before:
        return False
    slot.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    slot.started = now
    return True


def _write_pids(pids_file: Path, slots: list[Slot]) -> None:
    pids = [str(s.process.pid) for s in slots if s.process is not None and s.running()]
    pids_file.write_text("\n".join(pids) + "\n")


def _stop_all(slots: list[Slot]) -> None:
    running = [s.process for s in slots if s.process is not None and s.running()]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + STOP_WAIT_S
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            LOGGER.error("job worker pid %d did not stop; killing it", process.pid)
            process.kill()
