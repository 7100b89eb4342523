"""Partitioned history at scale (#21): items, tiles and the incident report at N incidents.

For each ``--incidents`` count: a database with the demo county (scale 1) and that many
incidents generated in SQL at a county's rate (PER_DAY: 1 million is a year, 10 million
ten years), a third of the last week's open and one in a thousand older ones left open,
the rest closed, with their events (reported, accepted, closed) and one audit row each,
spread over the county's unit grids. Then a `gridgeo serve` node answers, as an admin,
median of ``--repeat`` requests:

- items: the first page of 100, and a page of one month (``datetime``, which prunes);
- tile: incidents at z13 over the county's centre;
- report: the incident report (通报) of the last full ISO week and of one month.

The goal is each figure at 10 million within 2x of its figure at 1 million.

Needs (measured, docs/scaling.md): 1.2 GB of disk per million incidents with their
history, and about 40 minutes to generate 10 million on two shared cores. Databases are
kept (named gridgeo_bench_scale_<N>) so a second run only measures; drop with --drop.

Usage: .venv/bin/python scripts/bench_scale.py --incidents 1000000 --incidents 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).parent))
from bench_features import tile_xy
from benchdb import bench_database, start_server, stop_server

from gridgeo.db.pool import connect
from gridgeo.db.scratch import drop_database
from gridgeo.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
PORT = 5097
ADMIN_KEY = "bench-scale-admin"
# A county's rate: a larger history is a longer one, not a denser one (1 million is a
# year, 10 million ten years), so a week's report or a page of one month reads as many
# incidents at 10 million as at 1 million, unless a query reads the whole history.
PER_DAY = 2_740
HISTORY_TRIGGERS = ("incidents", "incident_events")

# Incidents in one statement per batch; their events and audit rows from them.
GENERATE = """
WITH cells AS (SELECT array_agg(code ORDER BY code) AS codes,
                      array_agg(ST_PointOnSurface(geom) ORDER BY code) AS points
                 FROM gridgeo.grids WHERE level = 'unit'),
     kinds AS (SELECT array_agg(code ORDER BY code) AS codes FROM gridgeo.incident_categories),
     timed AS (
    SELECT g, now() - make_interval(secs => 86400.0 * (%(total)s::bigint - g) / %(per_day)s)
               AS reported_at
      FROM generate_series(%(first)s::bigint, %(last)s::bigint) g),
     made AS (
    SELECT g, reported_at,
           (reported_at > now() - interval '7 days' AND g %% 3 = 0) OR g %% 1000 = 0 AS open
      FROM timed)
INSERT INTO gridgeo.incidents (case_no, category_code, title, colour, state, source,
        reported_at, accepted_at, closed_at, closed_on_time, updated_at, grid_code, geom)
SELECT (SELECT value FROM gridgeo.deployment WHERE key = 'county_code')
       || to_char(m.reported_at AT TIME ZONE gridgeo.local_tz(), 'YYYYMMDD')
       -- 50000-99999: clear of the demo's own numbers of the day, unique within it
       || (50000 + m.g %% 50000)::text,
       kinds.codes[1 + m.g %% array_length(kinds.codes, 1)], 'bench',
       (ARRAY['yellow', 'orange', 'red'])[1 + m.g %% 3],
       CASE WHEN m.open THEN 'reported'
            ELSE 'closed' END,
       'grid_worker', m.reported_at,
       CASE WHEN m.open THEN NULL
            ELSE m.reported_at + interval '1 hour' END,
       CASE WHEN m.open THEN NULL
            ELSE m.reported_at + interval '2 days' END,
       CASE WHEN m.open THEN NULL
            ELSE m.g %% 5 > 0 END,
       m.reported_at,
       cells.codes[1 + m.g %% array_length(cells.codes, 1)],
       ST_Translate(cells.points[1 + m.g %% array_length(cells.codes, 1)],
                    ((m.g * 7919) %% 1000 - 500) * 0.000004,
                    ((m.g * 104729) %% 1000 - 500) * 0.000004)
  FROM made m, cells, kinds
"""
EVENTS = """
INSERT INTO gridgeo.incident_events (incident_id, case_no, from_state, to_state, actor, at)
SELECT i.id, i.case_no, s.from_state, s.to_state, 'bench', s.at
  FROM gridgeo.incidents i
 CROSS JOIN LATERAL (VALUES (NULL, 'reported', i.reported_at),
                            ('reported', 'accepted', i.accepted_at),
                            ('accepted', 'closed', i.closed_at)) AS s (from_state, to_state, at)
 WHERE i.id > %(after)s AND s.at IS NOT NULL
"""
AUDIT = """
INSERT INTO gridgeo.audit_log (at, actor, table_name, operation, row_id)
SELECT i.reported_at, 'bench', 'incidents', 'INSERT', i.id::text
  FROM gridgeo.incidents i WHERE i.id > %(after)s
"""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def generate(url: str, total: int, batch: int = 500_000) -> None:
    """``total`` bench incidents with their history, unless they are there already."""
    with connect(url) as conn:
        have = conn.execute("SELECT count(*) FROM gridgeo.incidents WHERE title = 'bench'"
                            ).fetchone()[0]  # type: ignore[index]
        if have >= total:
            say(f"{have:,} bench incidents already there")
            return
        conn.execute("SELECT gridgeo.ensure_month_partition(r, m) FROM unnest(ARRAY["
                     "'incident_events', 'audit_log']) r, generate_series(now() - %s *"
                     " interval '1 day' - interval '1 month', now(), interval '1 month') m",
                     (total // PER_DAY + 1,))
        # Bulk load: the state machine, territory and audit triggers are for requests, and
        # years-old events notify nobody (plugins/notify's outbox trigger).
        for table in HISTORY_TRIGGERS:
            conn.execute(f"ALTER TABLE gridgeo.{table} DISABLE TRIGGER USER")
        started = time.perf_counter()
        for first in range(have + 1, total + 1, batch):
            last = min(first + batch - 1, total)
            after = conn.execute("SELECT coalesce(max(id), 0) FROM gridgeo.incidents"
                                 ).fetchone()[0]  # type: ignore[index]
            conn.execute(GENERATE, {"first": first, "last": last, "total": total,
                                    "per_day": PER_DAY})
            conn.execute(EVENTS, {"after": after})
            conn.execute(AUDIT, {"after": after})
            conn.commit()
            say(f"  {last:,} incidents ({time.perf_counter() - started:.0f} s)")
        for table in HISTORY_TRIGGERS:
            conn.execute(f"ALTER TABLE gridgeo.{table} ENABLE TRIGGER USER")
        conn.execute("SELECT gridgeo.keep_partitions_ahead()")
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE gridgeo.incidents")
        conn.execute("ANALYZE gridgeo.incident_events")
        conn.execute("ANALYZE gridgeo.audit_log")


def timed(call: Callable[[], requests.Response], repeat: int) -> float | None:
    """Median milliseconds of ``repeat`` calls after one warm-up; None when the request
    is not answered 200 (a statement timeout is a 503 after GRIDGEO_STATEMENT_TIMEOUT_MS)."""
    if call().status_code != 200:
        return None
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answered = call()
        times.append((time.perf_counter() - started) * 1000)
        if answered.status_code != 200:
            return None
    return statistics.median(times)


def measure(url: str, repeat: int) -> dict[str, float | None]:
    base = f"http://127.0.0.1:{PORT}"
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with connect(url) as conn:
        x, y = conn.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom))"
                            " c FROM gridgeo.grids WHERE level = 'unit') e").fetchone()  # type: ignore[misc]
    tx, ty = tile_xy(x, y, 13)
    today = date.today()
    week = (today - timedelta(days=7)).isocalendar()
    month_start = (today.replace(day=1) - timedelta(days=40)).replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    session = requests.Session()

    def get(path: str) -> Callable[[], requests.Response]:
        return lambda: session.get(base + path, headers=admin, timeout=600)

    def report(**inputs: str) -> Callable[[], requests.Response]:
        return lambda: session.post(f"{base}/processes/incident-report/execution",
                                    json={"inputs": inputs}, headers=admin, timeout=600)

    cases = {
        "items, first 100": get("/collections/incidents/items?f=json&limit=100"),
        "items, one month (100)": get(
            f"/collections/incidents/items?f=json&limit=100&datetime={month_start}T00:00:00"
            f"%2B08:00/{month_end}T23:59:59%2B08:00"),
        "events, one month (100)": get(
            f"/collections/incident_events/items?f=json&limit=100&datetime={month_start}"
            f"T00:00:00%2B08:00/{month_end}T23:59:59%2B08:00"),
        "tile z13": get(f"/collections/incidents/tiles/WebMercatorQuad/13/{ty}/{tx}?f=mvt"),
        "report, one week": report(week=f"{week[0]}-W{week[1]:02d}"),
        "report, one month": report(start=str(month_start), end=str(month_end)),
    }
    return {name: timed(call, repeat) for name, call in cases.items()}


def disk(url: str) -> str:
    with psycopg.connect(url) as conn:
        return str(conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))"
                                ).fetchone()[0])  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, action="append", required=True)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--drop", action="store_true", help="drop the bench databases after")
    args = parser.parse_args()
    figures: dict[int, dict[str, float | None]] = {}
    for total in args.incidents:
        name = f"gridgeo_bench_scale_{total}"
        started = time.perf_counter()
        url, dem = bench_database(name, scale=1)
        generate(url, total)
        say(f"{total:,} incidents ready in {time.perf_counter() - started:.0f} s, {disk(url)}")
        home = get_settings().home / "bench" / f"scale-{total}"
        home.mkdir(parents=True, exist_ok=True)
        os.environ.update(GRIDGEO_API_KEYS=json.dumps({ADMIN_KEY: "admin"}),
                          GRIDGEO_JOB_WORKERS="0", GRIDGEO_SCHEDULER="false",
                          GRIDGEO_POOL_TIMEOUT_S="60")
        env = start_server(url, dem, PORT, ROOT / "pygeoapi-config.yml", home)
        try:
            figures[total] = measure(url, args.repeat)
        finally:
            stop_server(env)
        if args.drop:
            drop_database(get_settings(), name)
    scales = sorted(figures)
    print("| request | " + " | ".join(f"{s:,} incidents" for s in scales) + " | ratio |")
    print("|---|" + "---|" * (len(scales) + 1))
    for case in figures[scales[0]]:
        row = [figures[s][case] for s in scales]
        shown = ["timeout" if v is None else f"{v:.0f} ms" for v in row]
        ratio = (f"{row[-1] / row[0]:.2f}x" if row[0] and row[-1] is not None else "-")
        print(f"| {case} | " + " | ".join(shown) + f" | {ratio} |")

if __name__ == "__main__":
    main()
