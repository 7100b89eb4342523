"""Invariants of the demo town (seed 42, scale 1), checked on the loaded database.

Each test states a property a broken generator would violate: codes that do not match
their parents, grids that leave gaps or overlap, features off their roads or on the wrong
slope, a road network in pieces, police grids that copy the grid boundaries, missing
incident states, or data that changes from run to run.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import rasterio
import shapely

from gridgeo.demo import run_demo
from gridgeo.demo.county import layout_county
from gridgeo.demo.town import REFERENCE, TownRows, generate_town

SEED = 42
METRIC = 4546
TABLES = ("departments", "staff", "grids", "grid_roles", "police_grids", "police_roles",
          "roads", "addresses", "greenhouses", "adits", "incidents")


def rows(conn: psycopg.Connection, query: str, *params: object) -> list[tuple]:
    return conn.execute(query, params or None).fetchall()


def row(conn: psycopg.Connection, query: str, *params: object) -> tuple[Any, ...]:
    found = conn.execute(query, params or None).fetchone()
    assert found is not None
    return found


def value(conn: psycopg.Connection, query: str, *params: object) -> Any:
    return row(conn, query, *params)[0]


# -- codes and the grid hierarchy ------------------------------------------


def test_grid_codes_follow_the_statistical_division_codes(conn: psycopg.Connection) -> None:
    bad = rows(conn, r"""
        SELECT code, level, kind, name FROM grids WHERE NOT CASE level
            WHEN 'town' THEN code = '410399101'
            WHEN 'area' THEN code ~ '^410399101P0[1-9]$'
            WHEN 'village' THEN
                (substr(code, 10, 3)::int BETWEEN 1 AND 199 AND name LIKE '%社区')
                OR (substr(code, 10, 3)::int BETWEEN 200 AND 399 AND name LIKE '%村')
            WHEN 'unit' THEN CASE kind
                WHEN 'basic' THEN substr(code, 13, 3)::int BETWEEN 1 AND 899
                ELSE substr(code, 13, 1) = '9' AND dedicated_type IS NOT NULL END
            WHEN 'micro' THEN substr(code, 16, 2)::int >= 1 AND kind = 'basic'
        END""")
    assert bad == []


def test_every_grid_hangs_from_a_parent_one_level_up(conn: psycopg.Connection) -> None:
    bad = rows(conn, """
        SELECT c.code, c.level, p.level FROM grids c LEFT JOIN grids p ON p.code = c.parent_code
         WHERE c.level <> 'town' AND (p.code IS NULL OR p.kind <> 'basic' OR p.level <> CASE c.level
               WHEN 'area' THEN 'town' WHEN 'village' THEN 'area' WHEN 'unit' THEN 'village'
               WHEN 'micro' THEN 'unit' END
               OR left(c.code, length(p.code)) <> p.code AND c.level <> 'village')""")
    assert bad == []
    childless = rows(conn, """
        SELECT p.code FROM grids p WHERE p.level IN ('town', 'area', 'village')
           AND NOT EXISTS (SELECT 1 FROM grids c WHERE c.parent_code = p.code)""")
    assert childless == []


@pytest.mark.parametrize("level", ["town", "area", "village", "unit"])
def test_children_tile_their_parent_exactly(conn: psycopg.Connection, level: str) -> None:
    """No gaps, no overlaps (不留空白、不交叉重叠), measured in metres."""
    worst = rows(conn, """
        SELECT p.code, count(c.code),
               ST_Area(ST_SymDifference(ST_Transform(p.geom, %s),
                                        ST_Union(ST_Transform(c.geom, %s))))
          FROM grids p JOIN grids c ON c.parent_code = p.code AND c.kind = 'basic'
         WHERE p.level = %s
         GROUP BY p.code, p.geom""", METRIC, METRIC, level)
    assert worst, f"no {level} has children"
    assert max(w[2] for w in worst) < 0.01, max(worst, key=lambda w: w[2])
    parents = value(conn, "SELECT count(*) FROM grids WHERE level = %s AND kind = 'basic'", level)
    assert len(worst) == parents


def test_sibling_grids_do_not_overlap(conn: psycopg.Connection) -> None:
    overlaps = rows(conn, """
        SELECT a.code, b.code, ST_Area(ST_Intersection(ST_Transform(a.geom, %s),
                                                       ST_Transform(b.geom, %s))) AS shared
          FROM grids a JOIN grids b ON a.parent_code = b.parent_code AND a.code < b.code
               AND a.kind = 'basic' AND b.kind = 'basic' AND ST_Intersects(a.geom, b.geom)
         WHERE ST_Area(ST_Intersection(ST_Transform(a.geom, %s), ST_Transform(b.geom, %s)))
               > 0.01""", METRIC, METRIC, METRIC, METRIC)
    assert overlaps == []


def test_dedicated_grids_lie_inside_their_village(conn: psycopg.Connection) -> None:
    kinds = dict(rows(conn, """SELECT dedicated_type, count(*) FROM grids
                                WHERE kind = 'dedicated' GROUP BY 1"""))
    assert 20 <= sum(kinds.values()) <= 30
    assert {"mine_area", "enterprise", "school"} <= set(kinds)
    outside = rows(conn, """
        SELECT d.code FROM grids d JOIN grids v ON v.code = d.parent_code
         WHERE d.kind = 'dedicated'
           AND (v.level <> 'village' OR NOT ST_CoveredBy(ST_Transform(d.geom, %s),
                                                         ST_Transform(v.geom, %s)))""",
                   METRIC, METRIC)
    assert outside == []


def test_households_add_up_from_the_unit_grids(conn: psycopg.Connection) -> None:
    wrong = rows(conn, """
        SELECT p.code, p.households, sum(c.households) FROM grids p
          JOIN grids c ON c.parent_code = p.code AND c.kind = 'basic'
         GROUP BY p.code, p.households HAVING p.households <> sum(c.households)""")
    assert wrong == []
    town = value(conn, "SELECT households FROM grids WHERE level = 'town'")
    assert 8_000 <= town <= 30_000
    assert value(conn, "SELECT count(*) FROM grids WHERE level = 'unit' AND kind = 'basic' "
                       "AND difficulty IS NULL") == 0


# -- places ------------------------------------------------------------------


def test_addresses_sit_beside_a_road_in_their_own_village(conn: psycopg.Connection) -> None:
    far = rows(conn, """
        SELECT a.address_code, d.metres FROM addresses a CROSS JOIN LATERAL (
            SELECT coalesce(min(ST_Distance(ST_Transform(a.geom, %s), ST_Transform(r.geom, %s))),
                            1e9) AS metres
              FROM roads r WHERE ST_DWithin(r.geom, a.geom, 0.0002)) d
         WHERE d.metres > 5""", METRIC, METRIC)
    assert far == []
    elsewhere = rows(conn, """
        SELECT a.address_code FROM addresses a WHERE NOT EXISTS (
            SELECT 1 FROM grids v WHERE v.level = 'village' AND v.code = a.village_code
               AND ST_Intersects(v.geom, a.geom))""")
    assert elsewhere == []
    outside = value(conn, """SELECT count(*) FROM addresses a, grids t
                              WHERE t.level = 'town' AND NOT ST_Intersects(t.geom, a.geom)""")
    assert outside == 0


def test_house_numbers_rise_along_each_road(conn: psycopg.Connection) -> None:
    assert 8_000 <= value(conn, "SELECT count(*) FROM addresses") <= 12_000
    bad_text = rows(conn, """
        SELECT address_code FROM addresses
         WHERE full_address <> province || city || county || township || village || road
                               || house_number
            OR house_number <> (right(address_code, 4)::int)::text || '号'
            OR province <> '河南省' OR county <> '示例县'""")
    assert bad_text == []
    duplicates = value(conn, """SELECT count(*) - count(DISTINCT (village_code, road,
                                house_number)) FROM addresses""")
    assert duplicates == 0


def test_features_carry_the_unit_grid_that_contains_them(conn: psycopg.Connection) -> None:
    for table, probe in (("addresses", "geom"), ("incidents", "geom"), ("mine_tunnels", "geom"),
                         ("greenhouses", "ST_PointOnSurface(geom)")):
        wrong = value(conn, f"""
            SELECT count(*) FROM {table} f WHERE f.grid_code IS DISTINCT FROM (
                SELECT min(g.code) FROM grids g WHERE g.level = 'unit' AND g.kind = 'basic'
                   AND ST_Intersects(g.geom, {probe.replace('geom', 'f.geom')}))""")
        assert wrong == 0, table
        assert value(conn, f"SELECT count(*) FROM {table} WHERE grid_code IS NULL") == 0


def test_greenhouses_are_separate_sheds_off_the_roads(conn: psycopg.Connection) -> None:
    count, smallest, largest = row(
        conn, "SELECT count(*), min(area_m2), max(area_m2) FROM greenhouses")
    assert 2_500 <= count <= 3_500
    assert smallest >= 7 * 40 - 1 and largest <= 10 * 80 + 1
    assert value(conn, """SELECT count(*) FROM greenhouses a JOIN greenhouses b
                           ON a.id < b.id AND ST_Intersects(a.geom, b.geom)""") == 0
    assert value(conn, """SELECT count(*) FROM greenhouses g JOIN roads r
                           ON ST_Intersects(g.geom, r.geom)""") == 0
    misfiled = value(conn, """
        SELECT count(*) FROM greenhouses g WHERE NOT EXISTS (
            SELECT 1 FROM grids v WHERE v.level = 'village' AND v.code = left(g.gh_no, 12)
               AND ST_Intersects(v.geom, ST_PointOnSurface(g.geom)))""")
    assert misfiled == 0
    stale = value(conn, """SELECT count(*) FROM greenhouses WHERE last_scanned_at IS NOT NULL
                           AND NOT last_scanned_at BETWEEN %s AND %s""",
                  REFERENCE - timedelta(days=61), REFERENCE)
    assert stale == 0


def test_adits_are_in_the_mine_area(conn: psycopg.Connection) -> None:
    count, sealed = row(
        conn, "SELECT count(*), count(*) FILTER (WHERE status = 'sealed') FROM mine_tunnels")
    assert 150 <= count <= 200 and sealed > count / 2
    assert value(conn, """SELECT count(DISTINCT status) FROM mine_tunnels""") == 4
    stray = value(conn, """
        SELECT count(*) FROM mine_tunnels t WHERE NOT EXISTS (
            SELECT 1 FROM grids d WHERE d.dedicated_type = 'mine_area'
               AND d.code = t.dedicated_grid_code AND ST_Intersects(d.geom, t.geom))""")
    assert stray == 0
    assert value(conn, """SELECT count(*) FROM mine_tunnels
                           WHERE patrol_frequency_days NOT IN (15, 30)
                              OR adit_no !~ '^410399KD[0-9]{4}$'""") == 0


def test_personal_data_is_obviously_fake(conn: psycopg.Connection) -> None:
    real_looking = value(conn, """
        SELECT (SELECT count(*) FROM greenhouses WHERE operator_name NOT LIKE '测试居民%'
                   OR operator_phone NOT LIKE '100%' OR operator_id_number NOT LIKE '000000%')
             + (SELECT count(*) FROM incidents WHERE reporter_name NOT LIKE '测试居民%'
                   OR reporter_phone NOT LIKE '100%' OR reporter_id_number NOT LIKE '000000%')
             + (SELECT count(*) FROM staff WHERE work_phone NOT LIKE '100%')""")
    assert real_looking == 0


# -- terrain -------------------------------------------------------------------


def _slope(dem_path: Path) -> tuple[np.ndarray, np.ndarray, rasterio.Affine]:
    with rasterio.open(dem_path) as dem:
        assert dem.crs.to_epsg() == METRIC and dem.res == (25.0, 25.0)
        assert dem.dtypes[0] == "float32" and dem.nodata is not None
        elevation = dem.read(1, masked=True).astype(np.float64).filled(np.nan)
        transform = dem.transform
    dz_row, dz_col = np.gradient(elevation, transform.e, transform.a)
    return elevation, np.degrees(np.arctan(np.hypot(dz_row, dz_col))), transform


def _sample(grid: np.ndarray, transform: rasterio.Affine, xy: np.ndarray) -> np.ndarray:
    row, col = rasterio.transform.rowcol(transform, xy[:, 0], xy[:, 1])
    return grid[np.asarray(row), np.asarray(col)]


def test_dem_is_a_mountain_relief(dem_path: Path) -> None:
    elevation, slope, _ = _slope(dem_path)
    assert 300 < np.nanmin(elevation) < 700 and 1300 < np.nanmax(elevation) < 2100
    assert np.nanpercentile(slope, 10) < 3 and np.nanpercentile(slope, 90) > 30


def test_adits_on_steep_slopes_greenhouses_on_flat_ground(conn: psycopg.Connection,
                                                          dem_path: Path) -> None:
    elevation, slope, transform = _slope(dem_path)
    adits = np.array(rows(conn, """SELECT ST_X(p), ST_Y(p), slope_deg, elevation_m FROM (
        SELECT ST_Transform(geom, %s) AS p, slope_deg, elevation_m FROM mine_tunnels) t""",
                          METRIC))
    measured = _sample(slope, transform, adits[:, :2])
    assert measured.min() > 20
    assert np.abs(measured - adits[:, 2]).max() < 0.1
    assert np.abs(_sample(elevation, transform, adits[:, :2]) - adits[:, 3]).max() < 0.1
    corners = np.array(rows(conn, """SELECT ST_X(p), ST_Y(p) FROM (
        SELECT (ST_DumpPoints(ST_Transform(geom, %s))).geom AS p FROM greenhouses
        UNION ALL SELECT ST_Centroid(ST_Transform(geom, %s)) FROM greenhouses) t""",
                            METRIC, METRIC))
    assert _sample(slope, transform, corners).max() < 6


# -- roads -------------------------------------------------------------------


def test_road_network_is_one_routable_component(conn: psycopg.Connection) -> None:
    assert 2_000 <= value(conn, "SELECT count(*) FROM roads") <= 4_000
    components = value(conn, """SELECT count(DISTINCT component) FROM pgr_connectedComponents(
        'SELECT id, source, target, 1 AS cost, 1 AS reverse_cost FROM gridgeo.roads')""")
    assert components == 1
    driving = value(conn, """SELECT count(DISTINCT component) FROM pgr_strongComponents(
        'SELECT id, source, target, cost, reverse_cost FROM gridgeo.roads WHERE cost >= 0')""")
    assert driving == 1


def test_edges_meet_at_shared_node_coordinates(conn: psycopg.Connection) -> None:
    split = value(conn, """
        WITH ends AS (SELECT source AS node, ST_StartPoint(geom) AS p FROM roads
                      UNION ALL SELECT target, ST_EndPoint(geom) FROM roads)
        SELECT count(*) FROM (SELECT node FROM ends GROUP BY node
                              HAVING count(DISTINCT ST_AsEWKB(p)) > 1) x""")
    assert split == 0
    merged = value(conn, """
        WITH ends AS (SELECT source AS node, ST_StartPoint(geom) AS p FROM roads
                      UNION ALL SELECT target, ST_EndPoint(geom) FROM roads)
        SELECT count(DISTINCT node) - count(DISTINCT ST_AsEWKB(p)) FROM ends""")
    assert merged == 0


def test_road_costs_follow_class_speed_and_direction(conn: psycopg.Connection) -> None:
    speeds = {"county": 50, "township": 40, "village": 25, "track": 12}
    for road_class, kmh in speeds.items():
        error = value(conn, """SELECT max(abs(cost - length_m / (%s / 3.6))) FROM roads
                                WHERE road_class = %s""", kmh, road_class)
        assert error < 0.1, road_class
    assert value(conn, """SELECT count(*) FROM roads WHERE road_class = 'path'
                           AND (cost >= 0 OR reverse_cost >= 0)""") == 0
    oneway, wrong = row(conn, """SELECT count(*) FILTER (WHERE oneway),
        count(*) FILTER (WHERE oneway <> (reverse_cost < 0) AND cost >= 0) FROM roads""")
    assert 1 <= oneway <= 20 and wrong == 0
    assert value(conn, "SELECT count(*) FROM roads WHERE name IS NULL OR name = ''") == 0


def test_walking_uphill_takes_longer(conn: psycopg.Connection, dem_path: Path) -> None:
    elevation, _, transform = _slope(dem_path)
    edges = np.array(rows(conn, """
        SELECT ST_X(a), ST_Y(a), ST_X(b), ST_Y(b), length_m, walk_cost, walk_reverse_cost
          FROM (SELECT ST_Transform(ST_StartPoint(geom), %s) AS a,
                       ST_Transform(ST_EndPoint(geom), %s) AS b, length_m, walk_cost,
                       walk_reverse_cost FROM roads WHERE length_m > 100) e""", METRIC, METRIC))
    climb = _sample(elevation, transform, edges[:, 2:4]) - _sample(elevation, transform,
                                                                   edges[:, 0:2])
    steep = np.abs(climb) / edges[:, 4] > 0.08
    assert steep.sum() > 10
    uphill_slower = (climb[steep] > 0) == (edges[steep, 5] > edges[steep, 6])
    assert uphill_slower.mean() > 0.95
    flat = np.abs(climb) / edges[:, 4] < 0.005
    speed = edges[flat, 4] / edges[flat, 5] * 3.6  # Tobler on the flat: about 5 km/h
    assert np.all((speed > 4.0) & (speed < 5.5))


# -- police, people, incidents ------------------------------------------------


def test_police_grids_tile_the_town_independently(conn: psycopg.Connection) -> None:
    count, stations = row(
        conn, "SELECT count(*), count(DISTINCT station_code) FROM police_grids")
    assert 15 <= count <= 25 and stations == 3
    gap = value(conn, """SELECT ST_Area(ST_SymDifference(ST_Transform(t.geom, %s),
                                (SELECT ST_Union(ST_Transform(geom, %s)) FROM police_grids)))
                           FROM grids t WHERE t.level = 'town'""", METRIC, METRIC)
    assert gap < 0.01
    assert value(conn, """SELECT count(*) FROM police_grids a JOIN police_grids b
        ON a.code < b.code AND ST_Intersects(a.geom, b.geom)
        WHERE ST_Area(ST_Intersection(ST_Transform(a.geom, %s), ST_Transform(b.geom, %s)))
              > 0.01""", METRIC, METRIC) == 0
    total, shared = row(conn, """
        WITH outline AS (SELECT ST_Buffer(ST_Boundary(ST_Transform(geom, %s)), 1) AS b
                           FROM grids WHERE level = 'town'),
             police AS (SELECT ST_Difference(ST_Union(ST_Boundary(ST_Transform(geom, %s))),
                                             (SELECT b FROM outline)) AS l FROM police_grids),
             units AS (SELECT ST_Buffer(ST_Union(ST_Boundary(ST_Transform(geom, %s))), 1) AS b
                         FROM grids WHERE level = 'unit' AND kind = 'basic')
        SELECT ST_Length(l), ST_Length(ST_Intersection(l, b)) FROM police, units""",
                        METRIC, METRIC, METRIC)
    assert total > 50_000 and shared / total < 0.05
    assert value(conn, """SELECT count(*) FROM police_grids p
        WHERE substr(p.code, 8, 2) <> right(p.station_code, 2)
           OR (SELECT count(*) FROM police_grid_assignments a JOIN staff s ON s.id = a.staff_id
                WHERE a.police_grid_code = p.code AND s.role = 'police_officer') <> 1""") == 0


def test_every_grid_has_its_people(conn: psycopg.Connection) -> None:
    roles = dict(rows(conn, "SELECT role, count(*) FROM staff GROUP BY role"))
    assert roles["inspector"] == 16 and 150 <= roles["grid_worker"] <= 200
    assert roles["grid_worker"] < value(conn, """SELECT count(*) FROM grids
                                                  WHERE level = 'unit' AND kind = 'basic'""")
    unstaffed = rows(conn, """
        SELECT g.code, g.level FROM grids g WHERE (
            (g.level = 'village' AND NOT EXISTS (SELECT 1 FROM grid_assignments a
                WHERE a.grid_code = g.code AND a.role = 'leader'))
            OR (g.level = 'unit' AND NOT EXISTS (SELECT 1 FROM grid_assignments a
                WHERE a.grid_code = g.code AND a.role = 'worker')))""")
    assert unstaffed == []
    assert value(conn, """SELECT count(*) FROM staff s LEFT JOIN departments d
                           ON d.code = s.department_code WHERE d.code IS NULL""") == 0


def test_incidents_cover_the_closed_loop(conn: psycopg.Connection) -> None:
    states = {r[0] for r in rows(conn, "SELECT DISTINCT state FROM incidents")}
    assert states == {"reported", "accepted", "invalid", "duplicate", "dispatched",
                      "in_progress", "resolved", "verified", "closed", "returned", "reopened"}
    colours = {r[0] for r in rows(conn, "SELECT DISTINCT colour FROM incidents")}
    assert colours == {"yellow", "orange", "red"}
    # The demo's own cases: tests that run earlier add cases through the API, reported now.
    disordered = value(conn, """SELECT count(*) FROM incidents WHERE reported_at <= %s AND (
        accepted_at < reported_at OR dispatched_at < accepted_at OR resolved_at < dispatched_at
        OR verified_at < resolved_at OR closed_at < verified_at
        OR (dispatched_at IS NOT NULL AND accepted_at IS NULL)
        OR (resolved_at IS NOT NULL AND dispatched_at IS NULL)
        OR (verified_at IS NOT NULL AND resolved_at IS NULL)
        OR (closed_at IS NOT NULL AND verified_at IS NULL)
        OR (state IN ('invalid', 'duplicate', 'reported') AND accepted_at IS NOT NULL)
        OR state_changed_at < greatest(reported_at, accepted_at, dispatched_at, resolved_at,
                                       verified_at, closed_at)
        OR state_changed_at > %s OR updated_at > %s OR reported_at < %s)""",
                       REFERENCE, REFERENCE, REFERENCE, REFERENCE - timedelta(days=184))
    assert disordered == 0
    on_time = value(conn, """SELECT avg(closed_on_time::int) FROM incidents
                              WHERE state = 'closed'""")
    assert 0.7 < on_time < 0.99
    badly_numbered = value(conn, """SELECT count(*) FROM incidents WHERE reported_at <= %s
        AND (case_no <> '410399' || to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
        || right(case_no, 4) OR address_id IS NULL OR address_text IS NULL)""", REFERENCE)
    assert badly_numbered == 0
    categories = value(conn, """SELECT count(DISTINCT c.parent_code) FROM incidents i
                                 JOIN incident_categories c ON c.code = i.category_code""")
    assert categories == 6


def test_police_grid_codes_reach_incidents(conn: psycopg.Connection) -> None:
    missing = value(conn, "SELECT count(*) FROM incidents WHERE police_grid_code IS NULL")
    assert missing == 0


# -- determinism and the CLI contract --------------------------------------


def _digest(town: TownRows) -> str:
    digest = hashlib.sha256(town.elevation.tobytes())
    for table in TABLES:
        digest.update(repr(getattr(town, table)).encode())
    return digest.hexdigest()


_DIGEST_SCRIPT = f"""
import hashlib
from gridgeo.demo.county import layout_county
from gridgeo.demo.town import generate_town
specs, grid = layout_county({SEED}, 1)
town = generate_town(specs[0], grid, {SEED})
digest = hashlib.sha256(town.elevation.tobytes())
for table in {TABLES!r}:
    digest.update(repr(getattr(town, table)).encode())
print(digest.hexdigest())
"""


def test_same_seed_same_town(conn: psycopg.Connection) -> None:
    """A fresh generation equals what was loaded, and another process (with another string
    hash seed) generates the same bytes."""
    other = subprocess.Popen([sys.executable, "-c", _DIGEST_SCRIPT], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONHASHSEED": "4242"})
    specs, grid = layout_county(SEED, 1)
    town = generate_town(specs[0], grid, SEED)
    loaded = rows(conn, """SELECT address_code, upper(encode(ST_AsEWKB(geom), 'hex'))
                             FROM addresses ORDER BY id""")
    assert loaded == [(row[0], row[-1]) for row in town.addresses]
    grids = rows(conn, """SELECT code, households, upper(encode(ST_AsEWKB(geom), 'hex'))
                            FROM grids ORDER BY id""")
    assert grids == [(row[0], row[8], row[-1]) for row in town.grids]
    out, _ = other.communicate(timeout=300)
    assert out.strip() == _digest(town)
    assert layout_county(SEED + 1, 1)[0][0].outline != specs[0].outline


def test_if_missing_keeps_the_loaded_demo(conn: psycopg.Connection, dem_path: Path) -> None:
    said: list[str] = []
    run_demo(conn, seed=SEED, scale=1, if_missing=True, dem_path=dem_path, progress=said.append)
    assert len(said) == 1 and "already" in said[0]
    assert value(conn, "SELECT value FROM deployment WHERE key = 'demo'") == "seed=42;scale=1"
    assert value(conn, "SELECT value FROM deployment WHERE key = 'county_code'") == "410399"
    assert value(conn, "SELECT count(*) FROM incident_colours") == 3


def test_towns_of_a_county_meet_edge_to_edge() -> None:
    """At --scale N the towns tile the county and share the gate points their county
    roads meet at; township codes run 101–199, then 201–399."""
    specs, _ = layout_county(SEED, 4)
    outlines = [s.outline for s in specs]
    assert [s.code for s in specs] == ["410399101", "410399102", "410399103", "410399104"]
    assert shapely.union_all(outlines).area == pytest.approx(sum(o.area for o in outlines),
                                                             rel=1e-9)
    for spec in specs:
        assert 250e6 < spec.outline.area < 400e6
        for gate in spec.gates:
            point = shapely.Point(gate.x, gate.y)
            sharing = [s for s in specs if s.outline.boundary.distance(point) < 1e-6]
            assert len(sharing) == 2
    assert sum(s.mining for s in specs) == 2
    assert layout_county(SEED, 100)[0][99].code == "410399201"
    with pytest.raises(ValueError):
        layout_county(SEED, 299)
