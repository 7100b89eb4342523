"""Reports on the colours' rhythm: each Monday the past week's, each 1st the past month's,
each quarter's first day the past quarter's.

The task ticks hourly and makes whichever report of the last complete period is missing;
the table's (kind, period_start, language) key makes each period's report once, however
often and on however many schedulers the task runs.
"""

from __future__ import annotations

import logging
from datetime import datetime

import psycopg
from gridgeo_plugins.reports import store
from gridgeo_plugins.reports.figures import town_figures
from gridgeo_plugins.reports.periods import KINDS, last_complete

from gridgeo.timezone import local_zone

LOGGER = logging.getLogger(__name__)
SCHEDULED_LANGUAGES = ("zh",)
TICK_SECONDS = 3600


def make_due_reports(conn: psycopg.Connection, now: datetime | None = None) -> str:
    """Make the missing reports of each kind's last complete period; what was made."""
    today = (now or datetime.now(local_zone(conn))).astimezone(local_zone(conn)).date()
    made: list[str] = []
    failed: list[str] = []
    for kind in KINDS:
        period = last_complete(kind, today)
        for language in SCHEDULED_LANGUAGES:
            if _exists(conn, kind, period.start, language):
                continue
            try:
                with conn.transaction():  # a savepoint: a report whose files fail leaves no row
                    figures = town_figures(conn, period)
                    if store.save(conn, figures, language, "system:scheduler", replace=False):
                        made.append(f"{period.label} {language}")
            except OSError as exc:  # the store (disk, network): the next tick tries again
                LOGGER.error("town report %s %s: its files could not be stored: %s",
                             period.label, language, exc)
                failed.append(f"{period.label} {language}")
    said = ([f"made {', '.join(made)}"] if made else []) + (
        [f"not stored, tried again next tick: {', '.join(failed)}"] if failed else [])
    return "; ".join(said) or "nothing due"


def _exists(conn: psycopg.Connection, kind: str, start: object, language: str) -> bool:
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM gridgeo.town_reports WHERE kind = %s"
                       " AND period_start = %s AND language = %s)",
                       (kind, start, language)).fetchone()
    return bool(row and row[0])
