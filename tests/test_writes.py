"""OGC API Features Part 4 writes: validation before anything is written, If-Match, codes."""

from __future__ import annotations

import threading

import psycopg
import pytest
import requests

from tests.conftest import EDITOR

SQUARE = [[[112.30, 34.10], [112.3005, 34.10], [112.3005, 34.1003], [112.30, 34.1003],
           [112.30, 34.10]]]


def greenhouse(gh_no: str = "410399101200DP9001", **props: object) -> dict[str, object]:
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": SQUARE},
            "properties": {"gh_no": gh_no, "use": "vegetables", "status": "in_use", **props}}


def count(conn: psycopg.Connection, table: str = "greenhouses") -> int:
    return conn.execute(f"SELECT count(*) FROM gridgeo.{table}").fetchone()[0]  # type: ignore[index]


BAD_BODIES: list[tuple[str, object, int, str]] = [
    ("not json", b"{\"type\": \"Feature\",", 400, "not valid JSON"),
    ("NaN", b'{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,1]}}', 400,
     "not valid JSON"),
    ("array", [], 400, "GeoJSON Feature"),
    ("no type", {"geometry": None, "properties": {}}, 400, "GeoJSON Feature"),
    ("wrong geometry type", {**greenhouse(), "geometry": {"type": "Point",
                                                          "coordinates": [112.3, 34.1]}},
     400, "Polygon"),
    ("self-intersecting", {**greenhouse(), "geometry": {"type": "Polygon", "coordinates": [[
        [112.30, 34.10], [112.31, 34.11], [112.31, 34.10], [112.30, 34.11], [112.30, 34.10]]]}},
     400, "Self-intersection"),
    ("open ring", {**greenhouse(), "geometry": {"type": "Polygon", "coordinates": [[
        [112.30, 34.10], [112.31, 34.11], [112.31, 34.10], [112.30, 34.12]]]}}, 400,
     "not closed"),
    ("latitude out of range", {**greenhouse(), "geometry": {"type": "Polygon", "coordinates": [[
        [112.30, 94.10], [112.31, 94.11], [112.31, 94.10], [112.30, 94.10]]]}}, 400,
     "out of range"),
    ("empty", {**greenhouse(), "geometry": {"type": "Polygon", "coordinates": []}}, 400,
     "empty"),
    ("unknown property", greenhouse(colour="green"), 400, "unknown property 'colour'"),
    ("server-set property", greenhouse(grid_code="410399101200001"), 400, "set by the server"),
    ("wrong type", greenhouse(built_year="2019"), 400, "'built_year' must be a whole number"),
    ("bad enum", greenhouse(status="haunted"), 400, "'status' must be one of"),
    ("bad code", greenhouse(gh_no="GH-1"), 400, "gh_no"),
    ("missing required", {**greenhouse(), "properties": {"gh_no": "410399101200DP9002"}}, 400,
     "required property"),
    ("bad date", greenhouse(last_scanned_at="last Tuesday"), 400, "RFC 3339"),
]


@pytest.mark.parametrize("name,body,status,phrase", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies_are_refused_and_nothing_is_written(
        base_url: str, conn: psycopg.Connection, name: str, body: object, status: int,
        phrase: str) -> None:
    before = count(conn)
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    response = requests.post(f"{base_url}/collections/greenhouses/items", timeout=30,
                             headers={**EDITOR, "Content-Type": "application/json"},
                             **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert phrase in response.json()["description"]
    assert "Traceback" not in response.text and "psycopg" not in response.text
    assert count(conn) == before


def test_anonymous_cannot_write(base_url: str, conn: psycopg.Connection) -> None:
    before = count(conn)
    response = requests.post(f"{base_url}/collections/greenhouses/items", json=greenhouse(),
                             timeout=30)
    assert response.status_code == 401
    assert count(conn) == before


def test_create_read_replace_patch_delete(base_url: str, conn: psycopg.Connection) -> None:
    url = f"{base_url}/collections/greenhouses/items"
    created = requests.post(url, json=greenhouse("410399101200DP9100", built_year=2019),
                            headers=EDITOR, timeout=30)
    assert created.status_code == 201, created.text
    location, tag = created.headers["Location"], created.headers["ETag"]
    item_id = location.rsplit("/", 1)[1]
    row = conn.execute(
        "SELECT g.grid_code, (SELECT code FROM gridgeo.grids u WHERE u.level = 'unit' AND"
        " u.kind = 'basic' AND ST_Intersects(u.geom, ST_PointOnSurface(g.geom))"
        " ORDER BY code LIMIT 1), round(g.area_m2) FROM gridgeo.greenhouses g WHERE id = %s",
        (item_id,)).fetchone()
    assert row is not None and row[0] == row[1]  # placed by the database
    assert 1300 < row[2] < 1600  # 0.0005° x 0.0003° at 34°N, measured in metres

    fetched = requests.get(location, timeout=30)
    assert fetched.headers["ETag"] == tag

    # PUT replaces: properties left out become empty.
    put = requests.put(location, json=greenhouse("410399101200DP9100", status="idle"),
                       headers={**EDITOR, "If-Match": tag}, timeout=30)
    assert put.status_code == 200, put.text
    assert put.json()["properties"]["built_year"] is None
    assert put.headers["ETag"] != tag

    stale = requests.patch(location, json={"properties": {"use": "fruit"}},
                           headers={**EDITOR, "If-Match": tag}, timeout=30)
    assert stale.status_code == 412
    patched = requests.patch(location, json={"properties": {"use": "fruit"}},
                             headers={**EDITOR, "If-Match": put.headers["ETag"]}, timeout=30)
    assert patched.status_code == 200
    assert patched.json()["properties"]["use"] == "fruit"
    assert patched.json()["properties"]["status"] == "idle"  # PATCH merges

    other_id = conn.execute("SELECT min(id) FROM gridgeo.greenhouses").fetchone()[0]  # type: ignore[index]
    clash = requests.put(location, json={**greenhouse("410399101200DP9100"), "id": other_id},
                         headers=EDITOR, timeout=30)
    assert clash.status_code == 400 and "URL" in clash.json()["description"]

    deleted = requests.delete(location, headers=EDITOR, timeout=30)
    assert deleted.status_code == 204
    assert requests.get(location, timeout=30).status_code == 404
    assert requests.delete(location, headers=EDITOR, timeout=30).status_code == 404


def test_put_to_unknown_id_is_404_and_duplicate_is_409(base_url: str,
                                                       conn: psycopg.Connection) -> None:
    url = f"{base_url}/collections/greenhouses/items"
    before = count(conn)
    missing = requests.put(f"{url}/987654321", json=greenhouse("410399101200DP9200"),
                           headers=EDITOR, timeout=30)
    assert missing.status_code == 404
    existing = conn.execute("SELECT gh_no FROM gridgeo.greenhouses ORDER BY id LIMIT 1"
                            ).fetchone()[0]  # type: ignore[index]
    duplicate = requests.post(url, json=greenhouse(existing), headers=EDITOR, timeout=30)
    assert duplicate.status_code == 409
    assert existing in duplicate.json()["description"]
    assert count(conn) == before


def test_read_only_collection_refuses_writes(base_url: str) -> None:
    response = requests.delete(f"{base_url}/collections/roads/items/1", headers=EDITOR,
                               timeout=30)
    assert response.status_code == 405


def test_concurrent_if_match_writers_lose_no_update(base_url: str,
                                                    conn: psycopg.Connection) -> None:
    url = f"{base_url}/collections/greenhouses/items"
    created = requests.post(url, json=greenhouse("410399101200DP9300", built_year=1),
                            headers=EDITOR, timeout=30)
    location, tag = created.headers["Location"], created.headers["ETag"]
    results: dict[int, int] = {}

    def writer(n: int) -> None:
        response = requests.patch(location, json={"properties": {"built_year": 100 + n}},
                                  headers={**EDITOR, "If-Match": tag}, timeout=60)
        results[n] = response.status_code

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, status in results.items() if status == 200]
    assert len(winners) == 1 and sorted(results.values()).count(412) == 7
    final = requests.get(location, timeout=30).json()["properties"]["built_year"]
    assert final == 100 + winners[0]
    requests.delete(location, headers=EDITOR, timeout=30)
