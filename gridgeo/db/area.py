"""The area a request reads, named for row-level security (plugins/core/schema/005).

PostgreSQL applies row-level security before the query's own conditions unless they
are leakproof, and PostGIS's ``&&`` is not: without this, a tile or bbox request on a
protected table reads every row. Naming the area lets a policy of the table find the
rows through the geometry index. The setting lasts until the transaction ends.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


def read_within(conn: psycopg.Connection, area: sql.Composable, params: Any = None) -> None:
    """Restrict this transaction's reads of protected tables to ``area`` (an EPSG:4490
    geometry expression; only its bounding box counts). The query still filters exactly."""
    conn.execute(sql.SQL("SELECT set_config('gridgeo.area', ({})::text, true)").format(area),
                 params)


_protected: frozenset[str] | None = None


def protected_tables(conn: psycopg.Connection) -> frozenset[str]:
    """gridgeo's tables under row-level security (read once per process: policies change
    only with migrations, which a server restart follows)."""
    global _protected
    if _protected is None:
        _protected = frozenset(r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'gridgeo'::regnamespace"
            " AND relrowsecurity"))
    return _protected
