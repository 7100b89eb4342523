"""Where a write may put a point: latitude-first CRSs, EPSG:3857's world, the territory;
and a scan UUID taken in a grid the caller cannot see."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests

from tests.conftest import EDITOR, ROLE_KEYS, fetch_row
from tests.test_security import token

ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}
EPSG = "<http://www.opengis.net/def/crs/EPSG/0/{}>"
OVERRIDE = {"Gridgeo-Outside-Territory": "allow"}


@pytest.fixture(scope="module")
def town(demo_db_url: str) -> dict[str, Any]:
    """A point inside the demo town, and an incident category."""
    with psycopg.connect(demo_db_url) as conn:
        x, y = fetch_row(conn, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p"
                         " FROM gridgeo.grids WHERE level = 'unit' ORDER BY code LIMIT 1) s")
        category = fetch_row(conn, "SELECT min(code) FROM gridgeo.incident_categories")
    return {"lon": x, "lat": y, "category": category[0]}


def _incident(town: dict[str, Any], coordinates: list[float]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coordinates},
            "properties": {"category_code": town["category"], "title": "井盖缺失",
                           "source": "grid_worker"}}


def _post(body: Any, base_url: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{base_url}/collections/incidents/items", json=body,
                         headers={"Accept": "application/geo+json", **headers}, timeout=30)


def _incidents(conn: psycopg.Connection) -> int:
    return int(fetch_row(conn, "SELECT count(*) FROM gridgeo.incidents")[0])


@pytest.mark.parametrize("srid", [4326, 4490])
def test_latitude_first_crs_writes_are_swapped_then_checked(base_url: str, town: dict[str, Any],
                                                            srid: int) -> None:
    created = _post(_incident(town, [town["lat"], town["lon"]]), base_url,
                    {**EDITOR, "Content-Crs": EPSG.format(srid)})
    assert created.status_code == 201, created.text
    lon, lat = created.json()["geometry"]["coordinates"][:2]
    assert (lon, lat) == pytest.approx((town["lon"], town["lat"]), abs=1e-6)
    assert created.json()["properties"]["grid_code"] is not None
    # Longitude first in a latitude-first CRS: the latitude 112 is out of range.
    wrong = _post(_incident(town, [town["lon"], town["lat"]]), base_url,
                  {**EDITOR, "Content-Crs": EPSG.format(srid)})
    assert wrong.status_code == 400 and "latitude first" in wrong.json()["description"]


def test_web_mercator_outside_the_world_is_refused(base_url: str, conn: psycopg.Connection,
                                                   town: dict[str, Any]) -> None:
    before = _incidents(conn)
    for x, y in ((20037508.35, 4000000.0), (12500000.0, -30000000.0)):
        refused = _post(_incident(town, [x, y]), base_url,
                        {**EDITOR, "Content-Crs": EPSG.format(3857)})
        assert refused.status_code == 400, refused.text
        assert "outside the world of EPSG:3857" in refused.json()["description"]
    assert _incidents(conn) == before


def test_a_point_outside_the_territory_is_refused_unless_an_admin_says_so(
        base_url: str, conn: psycopg.Connection, town: dict[str, Any]) -> None:
    before = _incidents(conn)
    at_zero = _post(_incident(town, [0, 0]), base_url, EDITOR)
    assert at_zero.status_code == 400, at_zero.text
    assert "outside this deployment's territory" in at_zero.json()["description"]
    assert _incidents(conn) == before
    editor_override = _post(_incident(town, [0, 0]), base_url, {**EDITOR, **OVERRIDE})
    assert editor_override.status_code == 403
    assert "only an admin" in editor_override.json()["description"]
    admin = _post(_incident(town, [0, 0]), base_url, {**ADMIN, **OVERRIDE})
    assert admin.status_code == 201, admin.text
    assert admin.json()["properties"]["grid_code"] is None
    # Moving it needs the override again (incidents need If-Match).
    moved = requests.patch(admin.headers["Location"], json={"geometry": {
        "type": "Point", "coordinates": [1, 1]}}, timeout=30,
        headers={**ADMIN, "If-Match": admin.headers["ETag"]})
    assert moved.status_code == 400 and "territory" in moved.json()["description"]


def test_a_hotline_call_outside_the_territory_is_refused(base_url: str,
                                                        conn: psycopg.Connection) -> None:
    before = _incidents(conn)
    code = requests.get(f"{base_url}/open311/v2/services.json",
                        timeout=30).json()[0]["service_code"]
    refused = requests.post(f"{base_url}/open311/v2/requests.json", headers=EDITOR, data={
        "service_code": code, "description": "路灯不亮", "lat": "0", "long": "0"}, timeout=30)
    assert refused.status_code == 400, refused.text
    assert "territory" in refused.json()["description"]
    assert _incidents(conn) == before


def test_every_point_table_checks_the_territory(conn: psycopg.Connection) -> None:
    """Scans far from their target are refused by the geofence first, so the trigger on
    inspections (like those on addresses and mine tunnels) is checked to be there. On the
    partitioned inspections it is the parent's trigger, which each month's partition clones."""
    tables = {r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE t.tgfoid = 'gridgeo.check_territory'::regproc AND t.tgparentid = 0")}
    assert tables == {"incidents", "inspections", "addresses", "mine_tunnels"}


def _address(code: str, lon: float, lat: float) -> tuple[Any, ...]:
    return (code, code[:12], f"POINT({lon} {lat})")


_INSERT_ADDRESS = (
    "INSERT INTO gridgeo.addresses (address_code, province, city, county, township, village,"
    " village_code, road, house_number, full_address, geom) VALUES (%s, '省', '市', '县',"
    " '镇', '村', %s, '路', '1', '测试地址', ST_GeomFromText(%s, 4490))")


def test_the_territory_follows_the_town_grids(conn: psycopg.Connection) -> None:
    """Rebuilt when a town-level grid changes, not for other levels; no check without one."""
    parts = "SELECT array_agg(id ORDER BY id) FROM gridgeo.territory_parts"
    before = fetch_row(conn, parts)[0]
    assert before, "the demo town has a territory"
    conn.execute("UPDATE gridgeo.grids SET name = name || '.' WHERE code = ("
                 "SELECT min(code) FROM gridgeo.grids WHERE level = 'unit')")
    assert fetch_row(conn, parts)[0] == before
    with pytest.raises(psycopg.Error, match="territory"), conn.transaction():
        conn.execute(_INSERT_ADDRESS, _address("9999999999990010001", 100.001, 30.001))
    conn.execute("INSERT INTO gridgeo.grids (code, name, level, geom) VALUES ('999999999',"
                 " '远镇', 'town', ST_Multi(ST_MakeEnvelope(100, 30, 100.01, 30.01, 4490)))")
    assert fetch_row(conn, parts)[0] != before
    conn.execute(_INSERT_ADDRESS, _address("9999999999990010001", 100.001, 30.001))
    # 1 km margin: 500 m east of the new town is in, 5 km is not.
    conn.execute(_INSERT_ADDRESS, _address("9999999999990010002", 100.015, 30.005))
    with pytest.raises(psycopg.Error, match="territory"), conn.transaction():
        conn.execute(_INSERT_ADDRESS, _address("9999999999990010003", 100.06, 30.005))
    conn.execute("DELETE FROM gridgeo.territory_parts")  # as in a database with no grids
    conn.execute(_INSERT_ADDRESS, _address("9999999999990010003", 100.06, 30.005))


def _worker_with_greenhouse(conn: psycopg.Connection, other_than: tuple[str, ...] = ()
                            ) -> tuple[str, tuple[str, ...], str, float, float]:
    """A grid worker, their grids and a greenhouse in them, away from ``other_than``."""
    rows = conn.execute(
        "SELECT s.staff_no, array_agg(DISTINCT a.grid_code) FROM gridgeo.staff s"
        " JOIN gridgeo.grid_assignments a ON a.staff_id = s.id AND a.role = 'worker'"
        " WHERE s.active GROUP BY s.staff_no ORDER BY s.staff_no").fetchall()
    for staff_no, codes in rows:
        if set(codes) & set(other_than):
            continue
        greenhouse = conn.execute(
            "SELECT gh_no, ST_X(c), ST_Y(c) FROM (SELECT gh_no, ST_Centroid(geom) c"
            " FROM gridgeo.greenhouses WHERE grid_code = ANY(%s) AND grid_code <> ALL(%s)"
            " ORDER BY gh_no LIMIT 1) s", (codes, list(other_than))).fetchone()
        if greenhouse is not None:
            return (staff_no, tuple(codes), *greenhouse)
    raise AssertionError("the demo town has two grid workers with greenhouses")


def test_a_scan_uuid_taken_in_another_grid_is_a_409_that_tells_nothing(
        base_url: str, conn: psycopg.Connection) -> None:
    first = _worker_with_greenhouse(conn)
    second = _worker_with_greenhouse(conn, first[1])

    def scan(worker: tuple[str, tuple[str, ...], str, float, float], scan_uuid: str
             ) -> requests.Response:
        staff_no, _, gh_no, x, y = worker
        body = {"scan_uuid": scan_uuid, "target": f"http://plates.example/q/g/{gh_no}",
                "position": [x, y], "accuracy_m": 5, "result": "in_use",
                "scanned_at": (datetime.now(UTC) - timedelta(days=450)).isoformat()}
        return requests.post(f"{base_url}/scans", json=body, timeout=30,
                             headers=token(staff_no, ("grid_worker",)))

    taken = str(uuid.uuid4())
    assert scan(first, taken).status_code == 201
    replay = scan(second, taken)
    assert replay.status_code == 409, replay.text
    description = replay.json()["description"]
    assert "already used" in description and "new UUID" in description
    assert first[0] not in replay.text and first[2] not in replay.text
    assert scan(first, taken).status_code == 200  # the owner's own replay stays a duplicate
