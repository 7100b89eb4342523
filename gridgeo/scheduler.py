"""``gridgeo scheduler``: periodic tasks, exactly once per period across every process.

The guard is a row: a tick inserts ``(task, period_start)`` into ``gridgeo.scheduled_runs``
and runs the task in the same transaction. Any number of schedulers on any hosts may
tick at once: the primary key lets one claim each period, the others wait for it to
commit and then skip (or take the period over if the first rolled back). No LISTEN is
needed, so the scheduler also works through a transaction-mode connection pooler.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime

import psycopg

from gridgeo.contributions import ScheduledTask
from gridgeo.db.pool import connect

LOGGER = logging.getLogger(__name__)


def period_start(task: ScheduledTask, now: datetime) -> datetime:
    """The start of the period ``now`` falls in (periods aligned to the epoch)."""
    seconds = int(now.timestamp()) // task.every_seconds * task.every_seconds
    return datetime.fromtimestamp(seconds, UTC)


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_once(conn: psycopg.Connection, task: ScheduledTask, now: datetime) -> str | None:
    """Run ``task`` for the period of ``now`` unless some scheduler has; its outcome, or
    None when the period was taken. A failing task leaves the period unclaimed."""
    start = period_start(task, now)
    try:
        with conn.transaction():
            claimed = conn.execute(
                "INSERT INTO gridgeo.scheduled_runs (task, period_start, runner)"
                " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING task",
                (task.name, start, runner_name())).fetchone()
            if claimed is None:
                return None
            outcome = task.run(conn)
            conn.execute("UPDATE gridgeo.scheduled_runs SET finished = clock_timestamp(),"
                         " outcome = %s WHERE task = %s AND period_start = %s",
                         (outcome, task.name, start))
    except psycopg.Error:
        LOGGER.exception("scheduled task %s failed; the next tick tries again", task.name)
        return None
    LOGGER.info("%s for %s: %s", task.name, start.isoformat(), outcome)
    return outcome


def collect_tasks() -> list[ScheduledTask]:
    from gridgeo.plugins import get_plugin_manager

    return [t for batch in get_plugin_manager().hook.gridgeo_scheduled_tasks() for t in batch]


def run_scheduler(database_url: str, stop: threading.Event, tick_seconds: float,
                  tasks: list[ScheduledTask] | None = None) -> None:
    """Tick until ``stop`` is set: every task's current period, then wait a tick."""
    tasks = collect_tasks() if tasks is None else tasks
    LOGGER.info("scheduler %s: %s", runner_name(),
                ", ".join(f"{t.name} every {t.every_seconds} s" for t in tasks) or "no tasks")
    # A maintenance connection (trusted by row-level security: the tasks act on every
    # county row), to the database itself: its session must not go through a pooler.
    with connect(database_url, autocommit=True) as conn:
        while not stop.is_set():
            for task in tasks:
                run_once(conn, task, datetime.now(UTC))
            stop.wait(tick_seconds)
