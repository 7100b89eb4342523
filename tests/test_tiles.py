"""Vector tiles (OGC API - Tiles, WebMercatorQuad) over HTTP: decoded with
mapbox-vector-tile and checked against hand-written SQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import mapbox_vector_tile
import psycopg
import pytest
import requests
from gridgeo_plugins.maps.tiles import render_tile, tile_layers

from gridgeo.config import contributed_collections
from gridgeo.plugins import get_plugin_manager
from tests.conftest import ROLE_KEYS

TILED = ["grids", "addresses", "roads", "incidents", "greenhouses"]
MVT = "application/vnd.mapbox-vector-tile"


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def pixel_in_tile(lon: float, lat: float, z: int, x: int, y: int,
                  extent: int = 4096) -> tuple[float, float]:
    """Tile coordinates (origin bottom left, as mapbox-vector-tile decodes by default)."""
    n = 2**z
    fx = (lon + 180.0) / 360.0 * n
    fy = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return (fx - x) * extent, (1 - (fy - y)) * extent


VIEWER_KEY = next(k for k, role in ROLE_KEYS.items() if role == "viewer")


def get_tile(base_url: str, collection: str, z: int, x: int, y: int,
             **headers: str) -> requests.Response:
    return requests.get(f"{base_url}/collections/{collection}/tiles/WebMercatorQuad/"
                        f"{z}/{y}/{x}?f=mvt", headers=headers, timeout=60)


def decode(response: requests.Response) -> dict[str, dict]:  # type: ignore[type-arg]
    assert response.status_code in (200, 204), response.text[:300]
    return mapbox_vector_tile.decode(response.content) if response.content else {}


def features_by_id(tile: dict, collection: str) -> dict[int, dict]:  # type: ignore[type-arg]
    return {f["id"]: f for f in tile.get(collection, {}).get("features", [])}


def test_tiled_layers_never_carry_personal_fields(conn: psycopg.Connection) -> None:
    personal = {c.id: set(c.personal_fields) for c in contributed_collections(get_plugin_manager())}
    assert sorted(tile_layers()) == sorted(TILED)
    for layer in tile_layers().values():
        view_columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'gridgeo' "
            "AND table_name = %s", (layer.view,))}
        assert set(layer.columns) <= view_columns, layer.collection
        assert not set(layer.columns) & personal[layer.collection]
        assert not {c for c in layer.columns if "phone" in c or "id_number" in c}


@pytest.mark.parametrize("collection", TILED)
def test_tileset_metadata_links_the_tile_template(base_url: str, collection: str) -> None:
    body = requests.get(f"{base_url}/collections/{collection}/tiles", timeout=30).json()
    tileset = body["tilesets"][0]
    assert tileset["dataType"] == "vector"
    assert tileset["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    item = next(link for link in tileset["links"] if link["rel"] == "item")
    assert item["type"] == MVT
    assert item["href"].startswith(f"{base_url}/collections/{collection}/tiles/WebMercatorQuad/")
    meta = requests.get(f"{base_url}/collections/{collection}/tiles/WebMercatorQuad",
                        timeout=30).json()
    assert meta["layers"][0]["id"] == collection


def test_the_incidents_map_is_open_cases_and_those_closed_since_its_window(
        conn: psycopg.Connection) -> None:
    """The incidents layer holds the working set (GRIDGEO_MAP_CLOSED_DAYS), so a tile does
    not grow with the years of history; the window is drawn between the demo's closures."""
    layer = tile_layers()["incidents"]
    lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM gridgeo.incidents"
                            " ORDER BY id LIMIT 1").fetchone()  # type: ignore[misc]
    z = 8
    x, y = tile_xy(lon, lat, z)

    def ids(since: datetime) -> set[int]:
        body = render_tile(conn, layer, z, x, y, since)
        return set(features_by_id(mapbox_vector_tile.decode(body), "incidents"))

    everything = ids(datetime(1900, 1, 1, tzinfo=UTC))
    since = conn.execute("SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY closed_at)"
                         " FROM gridgeo.incidents WHERE id = ANY(%s) AND closed_at IS NOT NULL",
                         (list(everything),)).fetchone()[0]  # type: ignore[index]
    expected = {r[0] for r in conn.execute(
        "SELECT id FROM gridgeo.incidents WHERE id = ANY(%s) AND (closed_at >= %s OR state"
        " NOT IN ('closed', 'invalid', 'duplicate'))", (list(everything), since))}
    shown = ids(since)
    assert shown == expected
    closed_shown = conn.execute("SELECT count(*) FROM gridgeo.incidents WHERE id = ANY(%s)"
                                " AND state = 'closed'", (list(shown),)).fetchone()[0]  # type: ignore[index]
    assert 0 < closed_shown < len(shown) < len(everything)


def test_incident_tile_has_the_incident_where_it_is(base_url: str,
                                                    conn: psycopg.Connection) -> None:
    row = conn.execute("SELECT id, ST_X(geom), ST_Y(geom), colour, state, overdue, case_no "
                       "FROM gridgeo.incidents_view ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    iid, lon, lat, colour, state, overdue, case_no = row
    z = 15
    x, y = tile_xy(lon, lat, z)
    # staff see the place itself; the public tile has it generalised (test_privacy.py)
    response = get_tile(base_url, "incidents", z, x, y, Authorization=f"Bearer {VIEWER_KEY}")
    assert response.headers["Content-Type"] == MVT
    feature = features_by_id(decode(response), "incidents")[iid]
    props = feature["properties"]
    assert (props["colour"], props["state"], props["case_no"]) == (colour, state, case_no)
    assert props.get("overdue", False) == bool(overdue)
    assert not {"reporter_name", "reporter_phone", "reporter_id_number"} & set(props)
    px, py = feature["geometry"]["coordinates"]
    ex, ey = pixel_in_tile(lon, lat, z, x, y)
    assert abs(px - ex) <= 1.5 and abs(py - ey) <= 1.5


def test_tile_holds_exactly_the_features_postgis_finds(base_url: str,
                                                       conn: psycopg.Connection) -> None:
    lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM gridgeo.addresses "
                            "ORDER BY id LIMIT 1").fetchone()  # type: ignore[misc]
    z = 15
    x, y = tile_xy(lon, lat, z)
    # A tile carries the features of its 64-unit buffer too, so labels and symbols
    # that cross tile edges are drawn whole.
    expected = {r[0] for r in conn.execute(
        "SELECT id FROM gridgeo.addresses WHERE ST_Intersects(ST_Transform(geom, 3857), "
        "ST_TileEnvelope(%s, %s, %s, margin => 64.0 / 4096))", (z, x, y))}
    got = set(features_by_id(decode(get_tile(base_url, "addresses", z, x, y)), "addresses"))
    assert expected
    assert got == expected


def test_grids_by_zoom(base_url: str, conn: psycopg.Connection) -> None:
    unit_id, village_id, lon, lat = conn.execute(
        "SELECT u.id, v.id, ST_X(p), ST_Y(p) FROM gridgeo.grids u "
        "JOIN gridgeo.grids v ON v.code = u.parent_code, "
        "LATERAL ST_PointOnSurface(u.geom) p "
        "WHERE u.level = 'unit' AND u.kind = 'basic' ORDER BY u.id LIMIT 1").fetchone()  # type: ignore[misc]
    town_id = conn.execute("SELECT id FROM gridgeo.grids WHERE level = 'town' "
                           "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490))",
                           (lon, lat)).fetchone()[0]  # type: ignore[index]
    levels = {}
    for z in (7, 10, 13):
        x, y = tile_xy(lon, lat, z)
        levels[z] = features_by_id(decode(get_tile(base_url, "grids", z, x, y)), "grids")
    assert town_id in levels[7] and unit_id not in levels[7] and village_id not in levels[7]
    assert village_id in levels[10] and unit_id not in levels[10]
    assert unit_id in levels[13]
    assert levels[13][unit_id]["properties"]["level"] == "unit"
    assert levels[13][unit_id]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_addresses_start_at_zoom_13(base_url: str, conn: psycopg.Connection) -> None:
    lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM gridgeo.addresses "
                            "ORDER BY id LIMIT 1").fetchone()  # type: ignore[misc]
    x, y = tile_xy(lon, lat, 12)
    response = get_tile(base_url, "addresses", 12, x, y)
    assert response.status_code == 204 and response.content == b""


def test_tiles_validate_with_etag_and_say_how_long_to_cache(base_url: str,
                                                            conn: psycopg.Connection) -> None:
    lon, lat = conn.execute("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
                            " FROM gridgeo.grids WHERE level = 'unit' LIMIT 1").fetchone()  # type: ignore[misc]
    x, y = tile_xy(lon, lat, 13)
    first = get_tile(base_url, "grids", 13, x, y)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "max-age=" in first.headers["Cache-Control"]
    again = get_tile(base_url, "grids", 13, x, y, **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_bad_tile_requests_say_what_to_fix(base_url: str) -> None:
    response = get_tile(base_url, "grids", 3, 8, 0)
    assert response.status_code == 404 and "zoom" in response.json()["description"]
    response = requests.get(f"{base_url}/collections/grids/tiles/WebMercatorQuad/0/0/0?f=png",
                            timeout=30)
    assert response.status_code == 400 and "f=mvt" in response.json()["description"]


def test_the_openapi_document_names_every_tile_route(base_url: str) -> None:
    """Clients (and the schemathesis run) find the tiles from the document, and the
    templated tile URL of each tileset is one of its paths."""
    paths = requests.get(f"{base_url}/openapi?f=json", timeout=60).json()["paths"]
    for collection in tile_layers():
        base = f"/collections/{collection}/tiles"
        template = f"{base}/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
        assert {base, f"{base}/WebMercatorQuad", template} <= set(paths), collection
        tile = paths[template]["get"]
        assert {"200", "204", "404"} <= set(tile["responses"])
        assert "application/vnd.mapbox-vector-tile" in tile["responses"]["200"]["content"]
        metadata = requests.get(f"{base_url}{base}/WebMercatorQuad", timeout=30).json()
        href = next(link["href"] for link in metadata["links"] if link["rel"] == "item")
        assert href.split("?")[0].removeprefix(base_url) == template
