"""OGC API Features over HTTP against a running server: answers checked with hand-written SQL."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest
import requests

from tests.conftest import ROLE_KEYS

COLLECTIONS = ["grids", "police_grids", "addresses", "mine_tunnels", "greenhouses",
               "incidents", "roads", "patrol_routes", "inspections",
               "grid_police_crosswalk", "incident_events", "greenhouses_due", "mine_tunnels_due"]
# Served by plugins (attachments' photos, the 考核 figures): in the catalogue, not in the
# per-collection cases below.
PLUGIN_COLLECTIONS = ["photos", "grid_figures", "worker_figures"]
GEOJSON = "application/geo+json"
ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}
PERSONAL = {"incidents": {"reporter_name", "reporter_phone", "reporter_id_number"},
            "greenhouses": {"operator_name", "operator_phone", "operator_id_number"}}


def get(url: str, **params: Any) -> requests.Response:
    return requests.get(url, params=params, headers={"Accept": GEOJSON}, timeout=60)


def read_all(url: str, **params: Any) -> requests.Response:
    """As admin, who reads every row of every collection (sensitive categories and the
    exact places included), so answers compare with SQL on the tables."""
    return requests.get(url, params=params, headers={"Accept": GEOJSON, **ADMIN}, timeout=60)


def test_landing_page_advertises_openapi_as_qgis_expects(base_url: str) -> None:
    links = requests.get(f"{base_url}/?f=json", timeout=30).json()["links"]
    service_desc = [link for link in links if link["rel"] == "service-desc"]
    assert {"type": "application/vnd.oai.openapi+json;version=3.0"}.items() <= \
        service_desc[0].items()


def test_every_collection_is_served_with_a_bare_items_link(base_url: str) -> None:
    body = requests.get(f"{base_url}/collections",
                        headers={"Accept": "application/json", **ADMIN}, timeout=30).json()
    assert {c["id"] for c in body["collections"]} == {*COLLECTIONS, *PLUGIN_COLLECTIONS}
    for collection in body["collections"]:
        items = [link for link in collection["links"]
                 if link["rel"] == "items" and link["type"] == GEOJSON]
        assert items and "?" not in items[0]["href"], collection["id"]


def test_extent_is_the_data_extent(base_url: str, conn: psycopg.Connection) -> None:
    doc = requests.get(f"{base_url}/collections/addresses?f=json", timeout=30).json()
    bbox = doc["extent"]["spatial"]["bbox"][0]
    expected = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                            "(SELECT ST_Extent(geom) e FROM gridgeo.addresses) s").fetchone()
    assert bbox == pytest.approx(list(expected), abs=1e-6)  # type: ignore[arg-type]


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_number_matched_is_exact(base_url: str, conn: psycopg.Connection,
                                 collection: str) -> None:
    response = read_all(f"{base_url}/collections/{collection}/items", limit=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(GEOJSON)
    body = response.json()
    count = conn.execute(f"SELECT count(*) FROM gridgeo.{collection}").fetchone()[0]  # type: ignore[index]
    assert body["numberMatched"] == count
    assert body["numberReturned"] == len(body["features"]) == min(5, count)


def test_bbox_selects_what_postgis_selects(base_url: str, conn: psycopg.Connection) -> None:
    (x0, y0, x1, y1), = conn.execute(
        "SELECT ST_XMin(e) + 0.3 * (ST_XMax(e) - ST_XMin(e)), ST_YMin(e) + 0.3 * (ST_YMax(e) -"
        " ST_YMin(e)), ST_XMin(e) + 0.45 * (ST_XMax(e) - ST_XMin(e)), ST_YMin(e) + 0.45 *"
        " (ST_YMax(e) - ST_YMin(e)) FROM (SELECT ST_Extent(geom) e FROM gridgeo.addresses) s"
    ).fetchall()
    expected = [r[0] for r in conn.execute(
        "SELECT id FROM gridgeo.addresses WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s,"
        " %s, 4490)) ORDER BY address_code, id", (x0, y0, x1, y1))]
    assert 20 < len(expected) < 5000
    body = get(f"{base_url}/collections/addresses/items", bbox=f"{x0},{y0},{x1},{y1}",
               limit=10000).json()
    assert [f["id"] for f in body["features"]] == expected
    assert body["numberMatched"] == len(expected)


def test_pages_are_stable_and_next_links_keep_filters(base_url: str,
                                                      conn: psycopg.Connection) -> None:
    url = f"{base_url}/collections/incidents/items"
    params = {"colour": "red", "limit": 37}
    seen: list[int] = []
    next_url: str | None = url
    while next_url:
        body = (read_all(next_url, **params) if next_url == url else read_all(next_url)).json()
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        next_url = nxt[0] if nxt else None
        if next_url:
            assert parse_qs(urlparse(next_url).query)["colour"] == ["red"]
    expected = [r[0] for r in conn.execute(
        "SELECT id FROM gridgeo.incidents WHERE colour = 'red' ORDER BY id")]
    assert seen == expected


def test_sortby_with_stable_tie_break(base_url: str, conn: psycopg.Connection) -> None:
    body = get(f"{base_url}/collections/greenhouses/items", sortby="-status,use",
               limit=10000).json()
    expected = [r[0] for r in conn.execute(
        "SELECT id FROM gridgeo.greenhouses ORDER BY status DESC, use ASC, id ASC")]
    assert [f["id"] for f in body["features"]] == expected


def test_properties_and_skip_geometry(base_url: str) -> None:
    body = get(f"{base_url}/collections/grids/items", properties="code,level",
               skipGeometry="true", limit=3).json()
    for feature in body["features"]:
        assert set(feature["properties"]) == {"code", "level"}
        assert feature["geometry"] is None


def test_single_item_and_unknown_item(base_url: str, conn: psycopg.Connection) -> None:
    code, = conn.execute("SELECT address_code FROM gridgeo.addresses WHERE id = 7").fetchone()  # type: ignore[misc]
    item = get(f"{base_url}/collections/addresses/items/7").json()
    assert item["id"] == 7 and item["properties"]["address_code"] == code
    assert item["properties"]["qr_payload"].endswith(f"/q/a/{code}")
    missing = get(f"{base_url}/collections/addresses/items/999999999")
    assert missing.status_code == 404
    assert "999999999" in missing.json()["description"]


def test_crs_axis_order(base_url: str, conn: psycopg.Connection) -> None:
    lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM gridgeo.addresses"
                            " WHERE id = 1").fetchone()  # type: ignore[misc]
    crs84 = get(f"{base_url}/collections/addresses/items/1").json()
    assert crs84["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    epsg4326 = get(f"{base_url}/collections/addresses/items/1",
                   crs="http://www.opengis.net/def/crs/EPSG/0/4326")
    assert epsg4326.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    assert epsg4326.json()["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-5)


def test_queryables_are_the_real_columns(base_url: str, conn: psycopg.Connection) -> None:
    body = requests.get(f"{base_url}/collections/incidents/queryables?f=json", timeout=30).json()
    columns = {r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'gridgeo'"
        " AND table_name = 'incidents_view' AND column_name <> 'geom'")}
    assert set(body["properties"]) - {"geometry"} == columns - PERSONAL["incidents"]
    assert body["properties"]["reported_at"]["format"] == "date-time"


@pytest.mark.parametrize("collection", sorted(PERSONAL))
def test_no_personal_field_reaches_anonymous(base_url: str, collection: str) -> None:
    fields = PERSONAL[collection]
    body = get(f"{base_url}/collections/{collection}/items", limit=10000).json()
    assert body["features"]
    for feature in body["features"]:
        assert not fields & set(feature["properties"])
    item = get(f"{base_url}/collections/{collection}/items/1").json()
    assert not fields & set(item["properties"])
    html = requests.get(f"{base_url}/collections/{collection}/items?f=html&limit=50",
                        timeout=30).text
    assert "测试居民" not in html
    for field in fields:
        # Asking for, sorting by or filtering on a personal field reveals nothing either.
        assert get(f"{base_url}/collections/{collection}/items",
                   properties=field).status_code == 400
        assert get(f"{base_url}/collections/{collection}/items",
                   sortby=field).status_code == 400
        # ... and a personal field used as a filter is as unknown as a misspelt one.
        probe = get(f"{base_url}/collections/{collection}/items", **{field: "x"})
        assert probe.status_code == 400
        assert field not in probe.json()["description"].split("properties are:")[1]


def test_bad_requests_say_what_to_fix(base_url: str) -> None:
    cases: list[tuple[dict[str, Any], int]] = [
        ({"limit": "abc"}, 400), ({"limit": 100000}, 400), ({"bbox": "1,2,3"}, 400),
        ({"sortby": "no_such_column"}, 400), ({"properties": "nope"}, 400),
        ({"filter": "colr = 'red'"}, 400), ({"filter": "state = "}, 400),
        ({"filter": "reporter_name = 'x'"}, 400), ({"offset": "-1"}, 400),
        ({"colr": "red"}, 400), ({"filter-lang": "cql2-text"}, 400),
        ({"datetime": "yesterday"}, 400)]
    for params, status in cases:
        response = get(f"{base_url}/collections/incidents/items", **params)
        assert response.status_code == status, params
        body = response.json()
        assert body["description"] and "Traceback" not in response.text, params
    assert get(f"{base_url}/collections/nowhere/items").status_code == 404


def test_cql2_filters_match_hand_written_sql(base_url: str, conn: psycopg.Connection) -> None:
    x0, y0, x1, y1 = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), (ST_XMin(e) + ST_XMax(e)) / 2, (ST_YMin(e) +"
        " ST_YMax(e)) / 2 FROM (SELECT ST_Extent(geom) e FROM gridgeo.incidents) s").fetchone()  # type: ignore[misc]
    cases = {
        "colour = 'red' AND state IN ('closed', 'verified')":
            "colour = 'red' AND state IN ('closed', 'verified')",
        f"S_INTERSECTS(geometry, BBOX({x0}, {y0}, {x1}, {y1})) AND NOT overdue":
            f"ST_Intersects(geom, ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4490))"
            " AND NOT overdue",
        "T_AFTER(reported_at, TIMESTAMP('2026-09-01T00:00:00Z'))":
            "reported_at > '2026-09-01T00:00:00Z'",
        "title LIKE '%垃圾%' OR category_code IS NULL": "title LIKE '%%垃圾%%'",
    }
    for cql, where in cases.items():
        expected = [r[0] for r in conn.execute(
            f"SELECT id FROM gridgeo.incidents_view WHERE {where} ORDER BY id")]
        body = read_all(f"{base_url}/collections/incidents/items", filter=cql,
                        limit=10000).json()
        assert [f["id"] for f in body["features"]] == expected, cql
        assert body["numberMatched"] == len(expected)
    # The same filter through pygeoapi's HTML page uses the same compiler.
    html = requests.get(f"{base_url}/collections/incidents/items",
                        params={"f": "html", "filter": "state = 'closed'", "limit": "5"},
                        timeout=30)
    assert html.status_code == 200
    bad_html = requests.get(f"{base_url}/collections/incidents/items",
                            params={"f": "html", "filter": "colr = 1"}, timeout=30)
    assert bad_html.status_code == 400
