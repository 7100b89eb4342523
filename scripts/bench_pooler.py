"""Request transactions direct and through PgBouncer (transaction mode): what the pooler
and the per-transaction settings cost. Not part of `make test`.

    PYTHONPATH=. GRIDGEO_PG_PORT=... .venv/bin/python scripts/bench_pooler.py [transactions]

Uses the bench database `gridgeo_bench_1` (demo town, scale 1; created and loaded on
first use, ~30 s, ~150 MB) and starts PgBouncer as the tests do (tests/server_processes).
"""

from __future__ import annotations

import statistics
import sys
import time

from benchdb import bench_database

from gridgeo.db import pool
from gridgeo.identity import Identity, set_identity
from tests.conftest import free_port
from tests.server_processes import owned_dir, pgbouncer

ITEMS = ("SELECT id, case_no, state, ST_AsGeoJSON(geom) FROM gridgeo.incidents"
         " ORDER BY id LIMIT 100")


def per_transaction_ms(url: str, query: str, count: int) -> float:
    """Median milliseconds of one request transaction running ``query``."""
    app_pool = pool.open_pool(url, max_size=2, pooler=True)
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            with pool.transaction(app_pool) as conn:
                conn.execute(query).fetchall()
            times.append((time.perf_counter() - started) * 1000)
    finally:
        app_pool.close()
    return statistics.median(times)


def main(count: int) -> None:
    url, _dem = bench_database("gridgeo_bench_1", scale=1)
    set_identity(Identity(subject="bench", roles=frozenset({"admin"})))
    with owned_dir("gridgeo-bench-pgbouncer-") as folder, \
            pgbouncer(folder, free_port(), url, pool_size=2) as bouncer:
        for name, query in (("SELECT 1", "SELECT 1"), ("100 incidents", ITEMS)):
            direct = per_transaction_ms(url, query, count)
            pooled = per_transaction_ms(bouncer, query, count)
            print(f"{name:>14}: direct {direct:.2f} ms, through PgBouncer {pooled:.2f} ms"
                  f" (median of {count} transactions)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
