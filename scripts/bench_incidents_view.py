"""The incidents view's cost per row, before and after incidents/014 (issue 14), side by side.

Loads the demo (``--scale 1``: the town) into its own database (migrated: the view as it
stands is "after") and times, for an anonymous caller, a viewer and an admin, the pages
QGIS asks for on its first draw (100 items in the bbox of the layer's extent, ordered by
id, and their count) and the whole view, with ``EXPLAIN (ANALYZE)``'s execution time.
"Before" is the same database inside a transaction that puts back the definitions
incidents/014 replaced (sla_deadline of incidents/007, scrub_text and incidents_view of
core/011, read from those migration files) and is rolled back.

Usage: .venv/bin/python scripts/bench_incidents_view.py --runs 5
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import bench_database

from gridgeo.db.pool import connect

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("anonymous", "viewer", "admin")


def queries(extent: str) -> dict[str, str]:
    """The queries timed; ``extent`` is the layer's extent as QGIS sends it (a literal)."""
    where = f"WHERE geom && {extent}"
    return {"extent page (100)": f"SELECT * FROM gridgeo.incidents_view {where}"
                                 " ORDER BY id LIMIT 100",
            "extent count": f"SELECT count(*) FROM gridgeo.incidents_view {where}",
            "whole view": "SELECT * FROM gridgeo.incidents_view"}


def layer_extent(conn: psycopg.Connection) -> str:
    """The extent of the incidents an admin sees, as a literal envelope."""
    conn.execute("SELECT set_config('gridgeo.roles', 'admin', true)")
    row = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
                       " (SELECT ST_Extent(geom) AS e FROM gridgeo.incidents_view) x").fetchone()
    assert row is not None
    conn.rollback()
    return "ST_MakeEnvelope({:.6f}, {:.6f}, {:.6f}, {:.6f}, 4490)".format(*row)


def definition(path: str, start: str, end: str) -> str:
    """The statement of migration ``path`` from ``start`` to the first ``end`` after it,
    as CREATE OR REPLACE."""
    text = (ROOT / path).read_text()
    begin = text.index(start)
    statement = text[begin:text.index(end, begin) + len(end)]
    return re.sub(r"^CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", statement)


def before_014() -> list[str]:
    """The definitions incidents/014 replaced, from the migrations that made them."""
    return [
        definition("collections/incidents/schema/007_sla_deadlines.sql",
                   "CREATE FUNCTION gridgeo.sla_deadline(", "$$;"),
        definition("plugins/core/schema/011_privacy.sql",
                   "CREATE FUNCTION gridgeo.scrub_text(", "END $$;"),
        definition("plugins/core/schema/011_privacy.sql",
                   "CREATE OR REPLACE VIEW gridgeo.incidents_view", "request_staff());\n\n"),
    ]


def execution_ms(conn: psycopg.Connection, query: str) -> float:
    plan = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}").fetchone()
    assert plan is not None
    return float(plan[0][0]["Execution Time"])


def timings(conn: psycopg.Connection, runs: int,
            extent: str) -> dict[tuple[str, str], float]:
    """Median execution time of each query for each role, in the open transaction."""
    result = {}
    for role in ROLES:
        conn.execute("SELECT set_config('gridgeo.roles', %s, true),"
                     " set_config('gridgeo.scrub_patterns', '[]', true)", (role,))
        for name, query in queries(extent).items():
            execution_ms(conn, query)  # warm: plans and caches as a pooled connection has
            result[(role, name)] = statistics.median(
                execution_ms(conn, query) for _ in range(runs))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url, _ = bench_database(f"bench_view_{args.scale}", args.scale)
    with connect(url) as conn:
        extent = layer_extent(conn)
        for statement in before_014():
            conn.execute(statement)
        before = timings(conn, args.runs, extent)
        conn.rollback()
        after = timings(conn, args.runs, extent)
        conn.rollback()
    print(f"extent {extent}; median of {args.runs} runs, EXPLAIN ANALYZE execution time in ms")
    print("| role | query | before | after |\n|---|---|---:|---:|")
    for role, name in before:
        print(f"| {role} | {name} | {before[(role, name)]:.1f} | {after[(role, name)]:.1f} |")


if __name__ == "__main__":
    main()
