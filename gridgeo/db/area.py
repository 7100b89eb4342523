"""The area a request reads, named for row-level security (core migration 007).

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


def protected_relations(conn: psycopg.Connection) -> frozenset[str]:
    """gridgeo's tables under row-level security and the views that read them: where
    naming the area helps (read once per process: policies change only with migrations,
    which a server restart follows). Elsewhere it would cost a round trip for nothing."""
    global _protected
    if _protected is None:
        _protected = frozenset(r[0] for r in conn.execute("""
            SELECT t.relname FROM pg_class t
             WHERE t.relnamespace = 'gridgeo'::regnamespace AND t.relrowsecurity
            UNION
            SELECT v.relname FROM pg_rewrite r
              JOIN pg_class v ON v.oid = r.ev_class
              JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
              JOIN pg_class t ON t.oid = d.refobjid
             WHERE v.relnamespace = 'gridgeo'::regnamespace AND t.relrowsecurity"""))
    return _protected
