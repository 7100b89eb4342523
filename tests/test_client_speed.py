"""What makes clients slow or unstable, checked by plan and bytes, never by time: QGIS's
extent pages, its page size, tiles and bboxes under row-level security, tile bytes
across plan changes (issue 14)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import requests
from gridgeo_plugins.maps.tiles import AREA, etag, render_tile, tile_layers, tile_params, tile_query
from psycopg import sql

from gridgeo.db.area import read_within
from gridgeo.items.respond import read_page
from gridgeo.provider.params import build_query
from gridgeo.provider.query import FeatureQuery
from tests.conftest import ROLE_KEYS, fetch_row
from tests.test_security import token
from tests.test_tiles import get_tile, tile_xy

EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
GEOJSON = {"Accept": "application/geo+json"}
TOWN = (112.35, 34.1)  # the demo town's centre
ADMIN = next(key for key, role in ROLE_KEYS.items() if role == "admin")


def extent(base_url: str, collection: str) -> list[float]:
    meta = requests.get(f"{base_url}/collections/{collection}?f=json", timeout=60).json()
    return [float(v) for v in meta["extent"]["spatial"]["bbox"][0]]


def as_app(conn: psycopg.Connection, roles: str, staff_no: str = "") -> None:
    """This transaction runs as a web request of ``roles`` does (no maintenance pass)."""
    conn.execute("SELECT set_config('gridgeo.maintenance', 'off', true),"
                 " set_config('gridgeo.roles', %s, true),"
                 " set_config('gridgeo.staff_no', %s, true)", (roles, staff_no))


def plan(conn: psycopg.Connection, statement: sql.Composable, params: Any) -> str:
    rows = conn.execute(sql.SQL("EXPLAIN ") + statement, params, prepare=False).fetchall()
    return "\n".join(r[0] for r in rows)


# -- QGIS's extent page ----------------------------------------------------------------

def test_an_extent_page_as_qgis_asks_it_is_the_whole_layer(base_url: str) -> None:
    """QGIS pages with the advertised extent as bbox, in EPSG:4490 (latitude first). The
    extent was rounded to the nearest micro-degree, which left out the edge features."""
    items = f"{base_url}/collections/addresses/items"
    x1, y1, x2, y2 = extent(base_url, "addresses")
    whole = requests.get(items, params={"limit": 100}, headers=GEOJSON, timeout=60).json()
    page = requests.get(items, params={"limit": "100", "bbox": f"{y1},{x1},{y2},{x2}",
                                       "bbox-crs": EPSG4490},
                        headers=GEOJSON, timeout=60).json()
    assert page["numberMatched"] == whole["numberMatched"] > 10_000
    assert [f["id"] for f in page["features"]] == [f["id"] for f in whole["features"]]


def addresses_info(base_url: str) -> Any:
    from gridgeo.config import render_config
    from gridgeo.items.respond import collection_info
    from gridgeo.plugins import get_plugin_manager
    from gridgeo.settings import get_settings

    config = render_config(get_settings(), get_plugin_manager())
    info = collection_info(config, "addresses")
    assert info is not None
    return dataclasses.replace(info, extent=extent(base_url, "addresses"))


def test_bbox_statements_are_never_prepared(base_url: str, conn: psycopg.Connection) -> None:
    """A prepared statement's generic plan guesses a bbox's selectivity: an extent page
    became a sort of every row through the view's joins (455 ms against 4 ms)."""
    info = addresses_info(base_url)
    x, y = TOWN
    as_app(conn, "anonymous")
    for _ in range(12):  # psycopg prepares from the 5th run, PostgreSQL goes generic later
        read_page(conn, build_query({"limit": "100"}, info), info)
        read_page(conn, build_query({"limit": "100", "bbox": f"{x},{y},{x + .01},{y + .01}"},
                                    info), info)
    prepared = [r[0] for r in conn.execute("SELECT statement FROM pg_prepared_statements")]
    assert any("ORDER BY" in s for s in prepared), "the unfiltered page is prepared"
    assert not [s for s in prepared if "ST_Intersects" in s]


def test_extent_bbox_is_dropped_only_when_nothing_lies_outside(
        base_url: str, conn: psycopg.Connection) -> None:
    info = addresses_info(base_url)
    x1, y1, x2, y2 = info.extent
    query = build_query({"bbox": f"{x1},{y1},{x2},{y2}"}, info)
    as_app(conn, "anonymous")
    assert read_page(conn, query, info)[0].bbox is None
    conn.execute("SET LOCAL gridgeo.maintenance = 'on'")
    conn.execute("UPDATE gridgeo.addresses SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 4490)"
                 " WHERE id = (SELECT min(id) FROM gridgeo.addresses)", (x2 + 0.001, y2))
    as_app(conn, "anonymous")
    run, matched, exact, _ = read_page(conn, query, info)
    assert run.bbox == [x1, y1, x2, y2] and exact
    assert matched == fetch_row(conn, "SELECT count(*) - 1 FROM gridgeo.addresses")[0]


def test_extent_page_plan_uses_an_index_and_transforms_no_row(
        base_url: str, conn: psycopg.Connection) -> None:
    info = addresses_info(base_url)
    corners = fetch_row(conn, "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM"
                        " ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 4490), 3857) b",
                        info.extent)
    query = build_query({"limit": "100", "bbox": ",".join(map(str, corners)),
                         "bbox-crs": EPSG3857}, info)
    as_app(conn, "anonymous")
    conn.execute("SET LOCAL enable_seqscan = off")
    for statement, params in (query.features(), query.count()):
        text = plan(conn, statement, params)
        assert "Index" in text, text
        assert "st_transform" not in text.lower(), text  # folded into one constant


# -- the page size QGIS reads ------------------------------------------------------------

def test_openapi_names_the_page_size_where_qgis_reads_it(base_url: str) -> None:
    document = requests.get(f"{base_url}/openapi?f=json", timeout=60).json()
    limit = document["components"]["parameters"]["limit"]
    assert (limit["in"], limit["schema"]["maximum"], limit["schema"]["default"]) == \
        ("query", 10_000, 500)
    items = {path: op["get"] for path, op in document["paths"].items()
             if path.endswith("/items") and "get" in op}
    assert "/collections/addresses/items" in items
    for path, get in items.items():
        limits = [p for p in get["parameters"] if "limit" in str(p)]
        assert limits == [{"$ref": "#/components/parameters/limit"}], path


# -- row-level security and the geometry index ---------------------------------------------

@pytest.fixture(scope="module")
def callers(demo_db_url: str) -> dict[str, tuple[str, str]]:
    """Every kind of caller: roles and staff number."""
    with psycopg.connect(demo_db_url) as conn:
        worker = fetch_row(
            conn, "SELECT s.staff_no FROM gridgeo.staff s JOIN gridgeo.grid_assignments a"
            " ON a.staff_id = s.id AND a.role = 'worker' WHERE s.active"
            " ORDER BY s.staff_no LIMIT 1")[0]
        officer = fetch_row(
            conn, "SELECT s.staff_no FROM gridgeo.staff s JOIN gridgeo.police_grid_assignments a"
            " ON a.staff_id = s.id WHERE s.active ORDER BY s.staff_no LIMIT 1")[0]
    return {"public": ("anonymous", ""), "viewer": ("anonymous,viewer", ""),
            "admin": ("anonymous,admin", ""), "gis_editor": ("anonymous,gis_editor", ""),
            "grid_worker": ("anonymous,grid_worker", worker),
            "police": ("anonymous,police", officer)}


@pytest.mark.parametrize("collection", sorted(tile_layers()))
def test_tiles_use_the_geometry_index_for_every_caller(
        conn: psycopg.Connection, callers: dict[str, tuple[str, str]], collection: str) -> None:
    layer = tile_layers()[collection]
    z = max(14, layer.min_zoom)
    x, y = tile_xy(*TOWN, z)
    params = tile_params(z, x, y)
    for name, (roles, staff_no) in callers.items():
        as_app(conn, roles, staff_no)
        conn.execute("SET LOCAL enable_seqscan = off")
        read_within(conn, AREA, params)
        text = plan(conn, tile_query(layer, z), params)
        assert "_geom_idx" in text, f"{collection} as {name}:\n{text}"


def test_incident_bbox_under_row_security_uses_the_geometry_index(
        base_url: str, conn: psycopg.Connection, callers: dict[str, tuple[str, str]]) -> None:
    from gridgeo.config import render_config
    from gridgeo.items.respond import collection_info
    from gridgeo.plugins import get_plugin_manager
    from gridgeo.settings import get_settings

    info = collection_info(render_config(get_settings(), get_plugin_manager()), "incidents")
    assert info is not None
    x, y = TOWN
    query: FeatureQuery = build_query({"bbox": f"{x},{y},{x + .02},{y + .02}"}, info)
    for roles, staff_no in callers.values():
        as_app(conn, roles, staff_no)
        conn.execute("SET LOCAL enable_seqscan = off")
        read_within(conn, *query.bbox_area())
        assert "incidents_geom_idx" in plan(conn, *query.count())


def test_a_grid_workers_bbox_reads_exactly_their_incidents_in_it(
        base_url: str, conn: psycopg.Connection, callers: dict[str, tuple[str, str]]) -> None:
    staff_no = callers["grid_worker"][1]
    x, y = TOWN
    box = [x - .05, y - .05, x + .05, y + .05]
    expected = {r[0] for r in conn.execute(
        "SELECT i.id FROM gridgeo.incidents i WHERE ST_Intersects(i.geom,"
        " ST_MakeEnvelope(%s, %s, %s, %s, 4490)) AND i.grid_code IN (SELECT a.grid_code"
        " FROM gridgeo.grid_assignments a JOIN gridgeo.staff s ON s.id = a.staff_id"
        " WHERE s.staff_no = %s)", (*box, staff_no))}
    body = requests.get(f"{base_url}/collections/incidents/items",
                        params={"bbox": ",".join(map(str, box)), "limit": "1000"},
                        headers={**GEOJSON, **token(staff_no, ("grid_worker",))},
                        timeout=60).json()
    assert expected and {f["id"] for f in body["features"]} == expected



def test_a_period_of_incidents_is_read_in_time_order_from_the_time_index(
        base_url: str, conn: psycopg.Connection) -> None:
    """Ids follow time, which the planner cannot know: a month's page in id order walked
    the whole history before that month (3.6 s at 10 million incidents). Without sortby
    a datetime page is in time order, then id, and reads incidents_reported_idx."""
    from gridgeo.provider.params import build_query

    as_app(conn, "anonymous,admin")  # the rows an admin's request reads
    start, end = conn.execute("SELECT percentile_disc(0.25) WITHIN GROUP (ORDER BY reported_at),"
                              " max(reported_at) FROM gridgeo.incidents").fetchone()  # type: ignore[misc]
    period = f"{start.isoformat()}/{end.isoformat()}"
    expected = [r[0] for r in conn.execute(
        "SELECT id FROM gridgeo.incidents WHERE reported_at BETWEEN %s AND %s"
        " ORDER BY reported_at, id LIMIT 50", (start, end))]
    body = requests.get(f"{base_url}/collections/incidents/items",
                        params={"datetime": period, "limit": "50"},
                        headers={**GEOJSON, "Authorization": f"Bearer {ADMIN}"},
                        timeout=60).json()
    assert len(expected) == 50 and [f["id"] for f in body["features"]] == expected
    query = build_query({"datetime": period}, served_collections()["incidents"])
    conn.execute("SET LOCAL enable_seqscan = off")
    assert "incidents_reported_idx" in plan(conn, *query.features())


def served_collections() -> dict[str, Any]:
    """Every collection gridgeo's items route serves, described as the route sees it."""
    from gridgeo.config import render_config
    from gridgeo.items.respond import collection_info
    from gridgeo.plugins import get_plugin_manager
    from gridgeo.settings import get_settings

    config = render_config(get_settings(), get_plugin_manager())
    found = {name: collection_info(config, name) for name in config["resources"]}
    return {name: info for name, info in found.items() if info is not None}


def test_inspection_bbox_under_row_security_uses_the_geometry_index(
        base_url: str, conn: psycopg.Connection, callers: dict[str, tuple[str, str]]) -> None:
    """Inspections are scoped by grid for grid workers and by staff for everyone: without
    the request's area (inspections/004) their bbox read every row the caller may see.
    Each month's partition has its own copy of the index (inspections/005)."""
    info = served_collections()["inspections"]
    x, y = TOWN
    query: FeatureQuery = build_query({"bbox": f"{x},{y},{x + .02},{y + .02}"}, info)
    for name, (roles, staff_no) in callers.items():
        as_app(conn, roles, staff_no)
        conn.execute("SET LOCAL enable_seqscan = off")
        read_within(conn, *query.bbox_area())
        text = plan(conn, *query.count())
        assert re.search(r"Index Scan on inspections_\w*geom_idx", text) \
            and "Seq Scan on inspections" not in text, f"{name}:\n{text}"


def scan_addresses(conn: psycopg.Connection, where: str, params: Any, n: int) -> list[int]:
    """Scans (inspections) of ``n`` addresses, each at its address (the demo has none)."""
    return [r[0] for r in conn.execute(
        "INSERT INTO gridgeo.inspections (scan_uuid, target_collection, target_code, inspector,"
        " scanned_at, accuracy_m, result, geom) SELECT gen_random_uuid(), 'addresses',"
        " a.address_code, 'test-client-speed', now(), 5, 'ok', a.geom FROM gridgeo.addresses a"
        f" WHERE {where} ORDER BY a.id LIMIT %s RETURNING id", (*params, n))]


def test_inspections_without_a_place_stay_listed_and_a_bbox_finds_a_workers_own(
        base_url: str, conn: psycopg.Connection, callers: dict[str, tuple[str, str]]) -> None:
    staff_no = callers["grid_worker"][1]
    conn.execute("SET LOCAL gridgeo.maintenance = 'on'")
    theirs = "a.grid_code IN (SELECT g.grid_code FROM gridgeo.grid_assignments g JOIN" \
             " gridgeo.staff s ON s.id = g.staff_id WHERE s.staff_no = %s)"
    own = scan_addresses(conn, theirs, (staff_no,), 3)
    near = fetch_row(conn, "SELECT ST_Centroid(ST_Collect(geom)) FROM gridgeo.inspections"
                     " WHERE id = ANY(%s)", (own,))[0]
    others = scan_addresses(conn, f"NOT {theirs} AND ST_DWithin(a.geom, %s, 0.02)",
                            (staff_no, near), 2)
    conn.execute("UPDATE gridgeo.inspections SET geom = NULL WHERE id = %s", (own[0],))
    box = fetch_row(conn, "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT"
                    " ST_Extent(geom) e FROM gridgeo.inspections WHERE id = ANY(%s)) s",
                    (own + others,))
    info = served_collections()["inspections"]
    as_app(conn, "anonymous,viewer")  # a scan without a place has no grid: a viewer's
    whole = build_query({"limit": "10000"}, info)
    mine = {*own, *others}  # earlier tests may have left scans of their own in the demo town
    assert mine <= {json.loads(r[0])["id"] for r in conn.execute(*whole.features())}
    as_app(conn, "anonymous,grid_worker", staff_no)
    in_box = build_query({"limit": "10000", "bbox": ",".join(map(str, box))}, info)
    read_within(conn, *in_box.bbox_area())
    found = {json.loads(r[0])["id"] for r in conn.execute(*in_box.features())} & mine
    assert len(others) == 2 and found == set(own[1:])


def test_one_item_by_id_reads_its_row_through_the_primary_key_for_every_caller(
        base_url: str, conn: psycopg.Connection, callers: dict[str, tuple[str, str]]) -> None:
    """The id was compared as text (id::text = %s): every item request scanned the table
    twice, for its body and its row version."""
    from gridgeo.items.respond import single_item_query
    from gridgeo.provider.columns import has_row_versions

    checked = 0
    for name, info in served_collections().items():
        identifier = conn.execute(sql.SQL("SELECT {}::text FROM gridgeo.{} LIMIT 1").format(
            sql.Identifier(info.id_field), sql.Identifier(info.table))).fetchone()
        if identifier is None:
            continue
        versioned = info.table if has_row_versions(info.table) else None
        statement, params = single_item_query(info, {}).single(identifier[0], versioned)
        for caller, (roles, staff_no) in callers.items():
            as_app(conn, roles, staff_no)
            conn.execute("SET LOCAL enable_seqscan = off")
            text = plan(conn, statement, params)
            assert "Seq Scan" not in text and "Index Cond" in text, f"{name} as {caller}:\n{text}"
        checked += 1
    assert checked >= 8


def test_a_pooled_connection_killed_while_idle_is_replaced_not_handed_out(
        demo_db_url: str, conn: psycopg.Connection) -> None:
    """The pool checks a connection on checkout only after CHECK_IDLE_AFTER_S idle (a
    round trip per request saved): one that died meanwhile is still replaced."""
    import time

    from gridgeo.db.pool import CHECK_IDLE_AFTER_S, open_pool

    pool = open_pool(demo_db_url, max_size=1, pooler=False)
    try:
        with pool.connection() as pooled:
            first = pooled.info.backend_pid
        conn.execute("SELECT pg_terminate_backend(%s)", (first,))
        time.sleep(CHECK_IDLE_AFTER_S * 2)
        with pool.connection() as pooled:
            assert pooled.execute("SELECT 1").fetchone() == (1,)
            assert pooled.info.backend_pid != first
    finally:
        pool.close()

ALL_HISTORY = datetime(1900, 1, 1, tzinfo=UTC)

# -- tile bytes ------------------------------------------------------------------------------

@pytest.mark.parametrize("collection", ["addresses", "grids", "greenhouses", "incidents"])
def test_tile_bytes_do_not_depend_on_the_plan(demo_db_url: str, collection: str) -> None:
    """psycopg prepares a statement from its 5th run and PostgreSQL may then plan it
    generically: rows came in another order, and so did the tile's bytes and ETag.
    Incidents are read as a viewer, through row-level security and the request's area."""
    z = 14 if collection != "grids" else 12
    x, y = tile_xy(*TOWN, z)
    params = tile_params(z, x, y, since=ALL_HISTORY)  # the demo's closed cases too
    bodies = set()
    for mode in ("force_custom_plan", "force_generic_plan"):
        with psycopg.connect(demo_db_url) as fresh:
            fresh.execute(sql.SQL("SET plan_cache_mode = {}").format(sql.SQL(mode)))
            fresh.execute("SET search_path = gridgeo, public")
            as_app(fresh, "anonymous,viewer")
            read_within(fresh, AREA, params)
            tile = fresh.execute(tile_query(tile_layers()[collection], z),
                                 params, prepare=True).fetchone()
            assert tile is not None
            bodies.add(bytes(tile[0]))
    assert len(bodies) == 1 and len(next(iter(bodies))) > 1000


def test_the_same_tile_eight_times_is_the_same_bytes_and_etag(base_url: str,
                                                              conn: psycopg.Connection) -> None:
    x, y = tile_xy(*TOWN, 14)
    responses = [get_tile(base_url, "addresses", 14, x, y) for _ in range(8)]
    addresses = tile_layers()["addresses"]
    assert {r.content for r in responses} == {render_tile(conn, addresses, 14, x, y)}
    assert {r.headers["ETag"] for r in responses} == {f'"{etag(responses[0].content)}"'}


# -- counts at a million rows -------------------------------------------------------------

def test_large_collections_estimate_their_count_and_small_results_stay_exact(
        base_url: str, conn: psycopg.Connection) -> None:
    from gridgeo.items.respond import number_matched

    info = addresses_info(base_url)
    assert info.count == "estimated"
    total = fetch_row(conn, "SELECT count(*) FROM gridgeo.addresses")[0]
    query = build_query({}, info)
    assert number_matched(conn, query, info.count) == (total, True)
    estimate, exact = number_matched(conn, query, info.count, exact_below=1000)
    assert not exact and 0.5 * total < estimate < 2 * total
    body = requests.get(f"{base_url}/collections/addresses/items",
                        params={"limit": 10, "offset": total - 3}, headers=GEOJSON,
                        timeout=60).json()
    assert body["numberMatched"] == total and "next" not in [x["rel"] for x in body["links"]]
