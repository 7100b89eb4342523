"""Measures the overlap and topology computations against their alternatives, side by side.

Same machine, same run, same data: a generated county of Voronoi unit grids and
Voronoi police grids (gridgeo.geometry.synthetic), loaded into a scratch database on
the private cluster (dropped at the end). Prints a Markdown table; docs/processes.md
records one run and the command.

    .venv/bin/python scripts/bench_overlap.py --sizes 10000x1000,100000x10000 --repeat 3

geopandas is not a gridgeo dependency: its row is measured only when it is installed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import psycopg
import shapely
from gridgeo_plugins.overlap.compute import OverlapRules, compute_overlap
from gridgeo_plugins.overlap.crosswalk import write_crosswalk
from gridgeo_plugins.overlap.inputs import GridSelection
from gridgeo_plugins.overlap.source import read_grids, read_police_grids
from gridgeo_plugins.topology.compute import TopologyRules, check_topology
from gridgeo_plugins.topology.inputs import TopologyRequest
from gridgeo_plugins.topology.source import read_grids as read_topology_grids

from gridgeo.db.scratch import create_database, drop_database
from gridgeo.geometry.groups import group_argmax
from gridgeo.geometry.layer import Layer, metric_srid
from gridgeo.geometry.synthetic import generate_county, load_county
from gridgeo.settings import get_settings

DB_NAME = "gridgeo_bench_overlap"
RULES = OverlapRules()


@dataclass
class Row:
    size: str
    task: str
    alternative: str
    times: list[float]
    result: str

    def line(self) -> str:
        best, median = min(self.times), statistics.median(self.times)
        return (f"| {self.size} | {self.task} | {self.alternative} | {median:.2f} | {best:.2f} "
                f"| {self.result} |")


def timed(fn: Callable[[], str], repeat: int, between: Callable[[], None] | None = None
          ) -> tuple[list[float], str]:
    times, result = [], ""
    for _ in range(repeat):
        if between:
            between()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


# -- the alternatives for the pairwise overlap --------------------------------------


def shapely_baseline(grids: Layer, police: Layer) -> str:
    """STRtree query with predicate, one vectorised intersection, numpy group-by; 1 thread."""
    g, p = shapely.STRtree(police.geoms).query(grids.geoms, predicate="intersects")
    area = shapely.area(shapely.intersection(grids.geoms[g], police.geoms[p]))
    keep = area > 1e-4
    g, p, area = g[keep], p[keep], area[keep]
    share = area / shapely.area(grids.geoms)[g]
    dominant = np.zeros(len(g), dtype=bool)
    dominant[group_argmax(g, area)] = True
    slivers = ~dominant & ((share < RULES.sliver_share) | (area < RULES.sliver_area_m2))
    return f"{len(g)} pieces, {int(slivers.sum())} slivers"


def gridgeo_overlap(grids: Layer, police: Layer, workers: int) -> str:
    result = compute_overlap(grids, police, RULES, workers=workers)
    return f"{len(result.pieces)} pieces, {int(result.pieces.sliver.sum())} slivers"


def geopandas_overlay(grids: Layer, police: Layer) -> str:
    import geopandas as gpd

    left = gpd.GeoDataFrame({"grid": np.arange(len(grids)), "grid_area": grids.areas},
                            geometry=grids.geoms, crs=grids.srid)
    right = gpd.GeoDataFrame({"police": np.arange(len(police))}, geometry=police.geoms,
                             crs=police.srid)
    pieces = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    pieces["area"] = pieces.area
    pieces = pieces[pieces["area"] > 1e-4]
    pieces["share"] = pieces["area"] / pieces["grid_area"]
    pieces["dominant"] = pieces["area"] == pieces.groupby("grid")["area"].transform("max")
    slivers = ~pieces["dominant"] & ((pieces["share"] < RULES.sliver_share)
                                     | (pieces["area"] < RULES.sliver_area_m2))
    return f"{len(pieces)} pieces, {int(slivers.sum())} slivers"


POSTGIS_OVERLAP = """
WITH pieces AS (
    SELECT g.code AS gc, p.code AS pc,
           ST_Area(ST_Intersection(ST_Transform(g.geom, %(srid)s), ST_Transform(p.geom, %(srid)s)))
             AS a, g.area_m2 AS ga
      FROM gridgeo.grids g JOIN gridgeo.police_grids p ON ST_Intersects(g.geom, p.geom)
     WHERE g.level = 'unit' AND g.kind = 'basic'),
ranked AS (
    SELECT a, a / ga AS share,
           row_number() OVER (PARTITION BY gc ORDER BY a DESC, pc) = 1 AS dominant
      FROM pieces WHERE a > 1e-4)
SELECT count(*), count(*) FILTER (WHERE NOT dominant AND (share < %(share)s OR a < %(area)s))
  FROM ranked"""


def postgis_overlap(conn: psycopg.Connection, srid: int) -> str:
    row = conn.execute(POSTGIS_OVERLAP, {"srid": srid, "share": RULES.sliver_share,
                                         "area": RULES.sliver_area_m2}).fetchone()
    assert row is not None
    return f"{row[0]} pieces, {row[1]} slivers"


def whole_process(conn: psycopg.Connection) -> str:
    srid = metric_srid(conn)
    selection = GridSelection()
    result = compute_overlap(read_grids(conn, selection, srid),
                             read_police_grids(conn, selection, (), srid), RULES)
    rows = write_crosswalk(conn, result)
    conn.commit()
    return f"{rows} crosswalk rows written"


# -- the alternatives for the topology check --------------------------------------


def gridgeo_topology(grids: Layer) -> str:
    result = check_topology(grids, ("unit",))
    return f"{len(result.problems)} problems"


def coverage_invalid_edges(units: Layer) -> str:
    edges = shapely.coverage_invalid_edges(units.geoms)
    return f"{int((~shapely.is_empty(edges)).sum())} grids with invalid edges (no gaps)"


POSTGIS_TOPOLOGY = """
WITH overlap_pairs AS (
    -- Each pair is found twice (a, b) and (b, a): an a.id < b.id join condition got a
    -- quadratic plan at 100k rows, so the pairs are counted twice and halved.
    SELECT count(*) / 2 AS n FROM gridgeo.grids a JOIN gridgeo.grids b
        ON ST_Intersects(a.geom, b.geom) AND a.id <> b.id
     WHERE a.level = 'unit' AND b.level = 'unit' AND ST_Relate(a.geom, b.geom, 'T********')
       AND ST_Area(ST_Intersection(ST_Transform(a.geom, %(srid)s),
                                   ST_Transform(b.geom, %(srid)s))) >= 1),
gap_rows AS (
    SELECT count(*) AS n FROM gridgeo.grids v
      JOIN (SELECT parent_code, ST_Union(geom) AS u FROM gridgeo.grids
             WHERE level = 'unit' GROUP BY parent_code) c ON c.parent_code = v.code
     WHERE v.level = 'village'
       AND ST_Area(ST_Difference(ST_Transform(v.geom, %(srid)s),
                                 ST_Transform(c.u, %(srid)s))) >= 1)
SELECT (SELECT n FROM overlap_pairs), (SELECT n FROM gap_rows)"""


def postgis_topology(conn: psycopg.Connection, srid: int) -> str:
    row = conn.execute(POSTGIS_TOPOLOGY, {"srid": srid}).fetchone()
    assert row is not None
    return f"{row[0]} overlaps, {row[1]} gaps"


# -- the run ---------------------------------------------------------------------


def vacuum(conn: psycopg.Connection) -> Callable[[], None]:
    def run() -> None:  # so autovacuum of the last write does not run during the next one
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE gridgeo.grid_police_crosswalk")
        conn.autocommit = False
    return run


def bench_size(url: str, n_units: int, n_police: int, repeat: int, postgis: bool) -> list[Row]:
    size = f"{n_units // 1000}k × {n_police // 1000}k"
    county = generate_county(n_units, n_police, seed=1)
    rows: list[Row] = []
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE gridgeo.grids, gridgeo.police_grids, gridgeo.staff,"
                     " gridgeo.grid_police_crosswalk CASCADE")
        load_county(conn, county)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        conn.autocommit = False
        srid = metric_srid(conn)
        units = read_grids(conn, GridSelection(), srid)
        police = read_police_grids(conn, GridSelection(), (), srid)
        conn.commit()

        def add(task: str, name: str, fn: Callable[[], str],
                between: Callable[[], None] | None = None, runs: int = repeat) -> None:
            times, result = timed(fn, runs, between)
            rows.append(Row(size, task, name, times, result))
            print(rows[-1].line(), file=sys.stderr, flush=True)

        overlap = "overlap: pieces, areas, shares, dominant, slivers"
        add(overlap, "shapely STRtree + vectorised intersection, 1 thread",
            lambda: shapely_baseline(units, police))
        add(overlap, "gridgeo compute_overlap, 1 thread", lambda: gridgeo_overlap(
            units, police, 1))
        add(overlap, "gridgeo compute_overlap, 2 threads", lambda: gridgeo_overlap(
            units, police, 2))
        try:
            import geopandas  # noqa: F401

            add(overlap, "geopandas overlay", lambda: geopandas_overlay(units, police))
        except ImportError:
            print(f"geopandas not installed: no overlay row for {size}", file=sys.stderr)
        if postgis:
            add(overlap, "PostGIS join (SQL), 1 run", lambda: postgis_overlap(conn, srid),
                runs=1)
        add("whole process: read, compute, write crosswalk", "gridgeo (2 threads)",
            lambda: whole_process(conn), vacuum(conn))
        request = TopologyRequest(("unit",), None, TopologyRules(), 0)
        topology_grids = read_topology_grids(conn, request, srid)
        conn.commit()
        check = "topology of the unit grids"
        add(check, "shapely.coverage_invalid_edges", lambda: coverage_invalid_edges(units))
        add(check, "gridgeo check_topology (edge test + geometric checks)",
            lambda: gridgeo_topology(topology_grids))
        if postgis:
            add(check, "PostGIS (overlap self-join + village differences), 1 run",
                lambda: postgis_topology(conn, srid), runs=1)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000x1000,100000x10000",
                        help="comma-separated UNITSxPOLICE, e.g. 10000x1000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-postgis", action="store_true", help="skip the slow SQL rows")
    args = parser.parse_args()
    url = create_database(get_settings(), DB_NAME, reference_data=False)
    try:
        rows: list[Row] = []
        for size in args.sizes.split(","):
            n_units, n_police = (int(v) for v in size.split("x"))
            rows += bench_size(url, n_units, n_police, args.repeat, not args.no_postgis)
    finally:
        drop_database(get_settings(), DB_NAME)
    print(f"\n{args.repeat} runs each (PostGIS rows: 1); seconds (median, best).\n")
    print("| grids × police grids | task | alternative | median s | best s | result |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.line())


if __name__ == "__main__":
    main()
