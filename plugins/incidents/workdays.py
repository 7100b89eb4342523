"""The working-day calendar behind deadlines counted in working days.

Chinese public holidays and the weekends worked in exchange (调休) are announced each
year by the State Council; the chinesecalendar package carries them from 2004 to the
last year it has been updated for. `sync_calendar` copies its days into
``gridgeo.calendar_days``, where the database counts working days
(``gridgeo.add_working_days``). For a year the package does not cover, the database
counts Monday to Friday plus the rows the deployment keeps there itself
(``source = 'deployment'``); such a year is reported with a warning.
"""

from __future__ import annotations

import logging
from datetime import date

import chinese_calendar
import psycopg

log = logging.getLogger(__name__)


def covered_years() -> range:
    """The years the installed chinesecalendar knows holidays for."""
    years = {d.year for d in chinese_calendar.holidays}
    return range(min(years), max(years) + 1)


def sync_calendar(conn: psycopg.Connection) -> int:
    """Upsert the package's holidays and adjusted working days; returns how many days.

    A day the deployment entered itself keeps the deployment's word."""
    chinese = {h.value[0]: h.value[1] for h in chinese_calendar.Holiday}  # 'National Day': 国庆节
    days = [(d, False, chinese.get(name, name)) for d, name in chinese_calendar.holidays.items()]
    days += [(d, True, chinese.get(name, name)) for d, name in chinese_calendar.workdays.items()
             if d.isoweekday() > 5]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO gridgeo.calendar_days (day, working, name, source)"
            " VALUES (%s, %s, %s, 'chinesecalendar') ON CONFLICT (day) DO UPDATE SET"
            " working = EXCLUDED.working, name = EXCLUDED.name"
            " WHERE calendar_days.source = 'chinesecalendar'", days)
    warn_if_uncovered(conn, date.today().year + 1)
    return len(days)


def warn_if_uncovered(conn: psycopg.Connection, year: int) -> bool:
    """Log a warning when working days in ``year`` fall back to Monday–Friday plus the
    deployment's own holidays; returns whether it did."""
    if year in covered_years():
        return False
    row = conn.execute("SELECT count(*) FROM gridgeo.calendar_days WHERE source = 'deployment'"
                       " AND extract(year FROM day) = %s", (year,)).fetchone()
    kept = row[0] if row else 0
    log.warning("chinesecalendar %s does not cover %d: working-day deadlines in %d count "
                "Monday to Friday and the %d day(s) of gridgeo.calendar_days the deployment "
                "keeps for that year; add its holidays and adjusted working days there, or "
                "upgrade chinesecalendar.", getattr(chinese_calendar, "__version__", ""),
                year, year, kept)
    return True
