"""The deployment's time zone: the wall clock its days, deadlines and patrol starts follow.

Stored in ``gridgeo.deployment`` (key ``time_zone``, an IANA name, Asia/Shanghai unless a
deployment elsewhere sets it), read by SQL through ``gridgeo.local_tz()`` and by Python
through ``local_zone()``, so both count the same days.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Asia/Shanghai"


def local_zone_name(conn: Any) -> str:
    """The deployment's time zone name (the default before the setting exists)."""
    exists = conn.execute("SELECT to_regclass('gridgeo.deployment') IS NOT NULL").fetchone()
    if not (exists and exists[0]):  # a database not migrated yet
        return DEFAULT_TIME_ZONE
    row = conn.execute("SELECT value FROM gridgeo.deployment WHERE key = 'time_zone'"
                       ).fetchone()
    return str(row[0]) if row and row[0] else DEFAULT_TIME_ZONE


def local_zone(conn: Any) -> ZoneInfo:
    """The deployment's time zone; a name PostgreSQL accepted but Python lacks falls back
    to the default rather than failing every request."""
    try:
        return ZoneInfo(local_zone_name(conn))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def set_session_zone(conn: Any) -> None:
    """Make the session's own time zone the deployment's (casts of dates and bare times)."""
    conn.execute("SELECT set_config('TimeZone', %s, false)", (local_zone_name(conn),))
