"""The field app's server API (issue #18) through the real server on the demo town:
``/me/today``, client times of offline work, the app's style, glyphs and tile list."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import orjson
import psycopg
import pytest
import requests

from gridgeo.settings import Settings
from tests.conftest import (
    CLIENT_TIME_MAX_AGE_DAYS,
    JWT_AUDIENCE,
    JWT_ISSUER,
    JWT_KID,
    ROLE_KEYS,
    fetch_row,
    jwt_private_key,
)

VIEWER = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'viewer')}"}
TODAY = "(now() AT TIME ZONE gridgeo.local_tz())::date"


def staff_token(staff_no: str, role: str = "grid_worker") -> dict[str, str]:
    """Bearer headers of a staff member's own sign-in token (subject = staff number)."""
    now = int(time.time())
    body = {"sub": staff_no, "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "iat": now,
            "exp": now + 600, "realm_access": {"roles": [role]}}
    signed = jwt.encode(body, jwt_private_key(), algorithm="ES256", headers={"kid": JWT_KID})
    return {"Authorization": f"Bearer {signed}"}


@dataclass(frozen=True)
class Day:
    """What a worker's day must show, planted in the demo town (and taken out after)."""

    staff_no: str
    grids: list[str]
    scanned: str  # a greenhouse of theirs scanned this month: not due
    due: str  # one not scanned this month: due
    case_no: str  # an open case assigned to them
    route_no: str  # today's route, stops stored out of order
    others_route: str  # another worker's route today
    inside: tuple[float, float]  # a point in their first grid
    category: str  # the category of their case


_WORKER = """
SELECT s.id, s.staff_no, array_agg(DISTINCT a.grid_code ORDER BY a.grid_code)
  FROM gridgeo.staff s JOIN gridgeo.grid_assignments a ON a.staff_id = s.id
 WHERE s.role = 'grid_worker' AND s.active
   AND EXISTS (SELECT FROM gridgeo.incidents_view v WHERE v.grid_worker_id = s.id
                  AND NOT gridgeo.incident_state_is_final(v.state))
 GROUP BY s.id, s.staff_no
HAVING (SELECT count(*) FROM gridgeo.greenhouses_due d
         WHERE d.grid_code = ANY (array_agg(a.grid_code))) >= 2
 ORDER BY s.staff_no LIMIT 1"""
_ROUTE = f"""
INSERT INTO gridgeo.patrol_routes (route_no, name, patrol_kind, travel_mode, patrol_date,
    assignee_id, stops, geom)
VALUES (%s, 'field api test', 'visit_targets', 'walking', {TODAY}, %s, %s::jsonb,
        ST_Multi(ST_SetSRID(ST_MakeLine(ST_MakePoint(%s, %s), ST_MakePoint(%s, %s)), 4490)))"""


def _plant_route(conn: psycopg.Connection, route_no: str, staff_id: int,
                 at: tuple[float, float]) -> None:
    stops = [{"seq": seq, "code": f"S{seq}"} for seq in (3, 1, 2)]
    conn.execute(_ROUTE, (route_no, staff_id, orjson.dumps(stops).decode(), at[0], at[1],
                          at[0] + 0.001, at[1] + 0.001))


@pytest.fixture(scope="module")
def day(demo_db_url: str, base_url: str) -> Iterator[Day]:
    from gridgeo.db.pool import connect

    with connect(demo_db_url) as conn:
        staff_id, staff_no, grids = fetch_row(conn, _WORKER)
        (scanned, scanned_before), (due, _) = conn.execute(
            "SELECT gh_no, last_scanned_at FROM gridgeo.greenhouses_due"
            " WHERE grid_code = ANY (%s) ORDER BY gh_no LIMIT 2", (grids,)).fetchall()
        case_no, category = fetch_row(conn, "SELECT case_no, category_code FROM"
                                  " gridgeo.incidents_view"
                                  " WHERE grid_worker_id = %s AND NOT"
                                  " gridgeo.incident_state_is_final(state) ORDER BY case_no"
                                  " LIMIT 1", (staff_id,))
        other_id = fetch_row(conn, "SELECT id FROM gridgeo.staff WHERE role = 'grid_worker'"
                                   " AND id <> %s ORDER BY id LIMIT 1", (staff_id,))[0]
        x, y = fetch_row(conn, "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c"
                               " FROM gridgeo.grids WHERE code = %s) p", (grids[0],))
        conn.execute("UPDATE gridgeo.greenhouses SET last_scanned_at = now() WHERE gh_no = %s",
                     (scanned,))
        _plant_route(conn, "XCFIELDAPI-1", staff_id, (x, y))
        _plant_route(conn, "XCFIELDAPI-2", other_id, (x, y))
        conn.commit()
        try:
            yield Day(staff_no, list(grids), scanned, due, case_no, "XCFIELDAPI-1",
                      "XCFIELDAPI-2", (x, y), category)
        finally:
            conn.execute("DELETE FROM gridgeo.patrol_routes WHERE route_no LIKE 'XCFIELDAPI-%'")
            conn.execute("UPDATE gridgeo.greenhouses SET last_scanned_at = %s WHERE gh_no = %s",
                         (scanned_before, scanned))
            conn.commit()


def today(base_url: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"{base_url}/me/today", headers=headers, timeout=60)


def test_me_today_is_the_workers_day(base_url: str, day: Day) -> None:
    response = today(base_url, staff_token(day.staff_no))
    assert response.status_code == 200, response.text
    assert "private" in response.headers["Cache-Control"]
    body: dict[str, Any] = response.json()
    assert body["worker"]["staff"]["staff_no"] == day.staff_no
    assert body["grids"]["type"] == "FeatureCollection"
    assert sorted(f["id"] for f in body["grids"]["features"]) == day.grids
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in body["grids"]["features"])
    due = [g["gh_no"] for g in body["due"]["greenhouses"]]
    assert day.due in due and day.scanned not in due
    assert {g["grid_code"] for g in body["due"]["greenhouses"]} <= set(day.grids)
    assert {a["grid_code"] for a in body["due"]["adits"]} <= set(day.grids)
    cases = {c["case_no"]: c for c in body["cases"]}
    assert cases[day.case_no]["assigned_to_me"] is True and cases[day.case_no]["state"]
    assert "reporter_name" not in cases[day.case_no] and "deadline_at" in cases[day.case_no]
    routes = {r["route_no"]: r for r in body["routes"]}
    assert day.others_route not in routes
    assert [s["seq"] for s in routes[day.route_no]["stops"]] == [1, 2, 3]
    assert routes[day.route_no]["geometry"]["type"] == "MultiLineString"
    west, south, east, north = body["bbox"]
    for feature in body["grids"]["features"]:
        for ring in feature["geometry"]["coordinates"][0]:
            for lon, lat in ring:
                assert west <= lon <= east and south <= lat <= north


def test_me_today_needs_a_person(base_url: str) -> None:
    assert today(base_url, {}).status_code == 401
    role_key = today(base_url, VIEWER)
    assert role_key.status_code == 403
    assert "personal API key" in role_key.json()["description"]
    stranger = today(base_url, staff_token("NOBODY-0"))
    assert stranger.status_code == 403 and "NOBODY-0" in stranger.json()["description"]


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def test_offline_scans_keep_their_time_within_the_window(base_url: str, day: Day,
                                                         conn: psycopg.Connection) -> None:
    assert Settings.model_fields["client_time_max_age_days"].default == 7
    gh_no, x, y = fetch_row(conn, "SELECT gh_no, ST_X(p), ST_Y(p) FROM (SELECT gh_no,"
                                  " ST_PointOnSurface(geom) p FROM gridgeo.greenhouses"
                                  " WHERE gh_no = %s) g", (day.due,))

    def scan(scanned_at: str) -> requests.Response:
        body = {"scan_uuid": str(uuid.uuid4()), "target_collection": "greenhouses",
                "target_code": gh_no, "position": [x, y], "accuracy_m": 5,
                "result": "in_use", "scanned_at": scanned_at}
        return requests.post(f"{base_url}/scans", json=body, headers=staff_token(day.staff_no),
                             timeout=60)

    too_old = scan(_ago(CLIENT_TIME_MAX_AGE_DAYS + 1))
    assert too_old.status_code == 400, too_old.text
    sentence = too_old.json()["description"]
    assert "scanned_at" in sentence and f"{CLIENT_TIME_MAX_AGE_DAYS} days" in sentence
    assert scan(_ago(-1 / 12)).status_code == 400  # two hours ahead: the device clock
    sent = _ago(CLIENT_TIME_MAX_AGE_DAYS - 1)
    kept = scan(sent)
    assert kept.status_code == 201, kept.text
    scanned_at, received_at = fetch_row(
        conn, "SELECT scanned_at, received_at FROM gridgeo.inspections WHERE id = %s",
        (kept.json()["inspection_id"],))
    assert scanned_at == datetime.fromisoformat(sent)
    assert received_at - scanned_at > timedelta(days=CLIENT_TIME_MAX_AGE_DAYS - 2)


def test_offline_reports_keep_their_time_and_are_mine(base_url: str, day: Day,
                                                     conn: psycopg.Connection) -> None:
    title = f"field api {uuid.uuid4().hex[:8]}"

    def report(reported_at: str) -> requests.Response:
        feature = {"type": "Feature",
                   "geometry": {"type": "Point", "coordinates": list(day.inside)},
                   "properties": {"category_code": day.category, "title": title,
                                  "source": "grid_worker", "reported_at": reported_at}}
        return requests.post(f"{base_url}/collections/incidents/items", json=feature,
                             headers=staff_token(day.staff_no), timeout=60)

    too_old = report(_ago(CLIENT_TIME_MAX_AGE_DAYS + 1))
    assert too_old.status_code == 400, too_old.text
    assert "reported_at" in too_old.json()["description"]
    assert fetch_row(conn, "SELECT count(*) FROM gridgeo.incidents WHERE title = %s",
                     (title,)) == (0,)
    sent = _ago(2)
    created = report(sent)
    assert created.status_code == 201, created.text
    case_no, reported_at, received_at = fetch_row(
        conn, "SELECT i.case_no, i.reported_at, e.at FROM gridgeo.incidents i"
              " JOIN gridgeo.incident_events e ON e.incident_id = i.id"
              " AND e.from_state IS NULL WHERE i.title = %s", (title,))
    assert reported_at == datetime.fromisoformat(sent)
    assert received_at - reported_at > timedelta(days=1)
    mine = {c["case_no"]: c for c in today(base_url, staff_token(day.staff_no)).json()["cases"]}
    assert mine[case_no]["reported_by_me"] is True


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = n = 0
    while True:
        byte = buf[i]
        i += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return n, i


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """The (field number, value) pairs of a protocol buffers message (varints and bytes)."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        if key & 7 == 0:
            value, i = _varint(buf, i)
            yield key >> 3, value
        else:
            assert key & 7 == 2, key
            length, i = _varint(buf, i)
            yield key >> 3, buf[i:i + length]
            i += length


def glyphs_of(pbf: bytes) -> dict[int, dict[int, Any]]:
    """The glyphs of a glyph range PBF (glyphs.proto) by code point."""
    (number, stack), = list(_fields(pbf))
    assert number == 1 and isinstance(stack, bytes)
    found = [dict(_fields(g)) for n, g in _fields(stack) if n == 3 and isinstance(g, bytes)]
    return {int(g[1]): g for g in found}


def test_glyph_ranges_are_served_offline(base_url: str) -> None:
    style = requests.get(f"{base_url}/field/style.json", timeout=60).json()
    url = style["glyphs"].replace("{fontstack}", "Open Sans Regular,Arial Unicode MS Regular")
    latin = requests.get(url.replace("{range}", "0-255"), timeout=30)
    assert latin.status_code == 200 and latin.headers["Content-Type"] == "application/x-protobuf"
    glyphs = glyphs_of(latin.content)
    assert set(map(ord, "AZaz09é")) <= set(glyphs)
    for glyph in glyphs.values():
        width, height = glyph.get(3, 0), glyph.get(4, 0)
        assert len(glyph.get(2, b"")) == ((width + 6) * (height + 6) if width else 0)
    assert max(glyphs[ord("A")][2]) > 191  # inside the letter: past the SDF edge (0.75)
    assert glyphs_of(requests.get(url.replace("{range}", "512-767"), timeout=30).content) == {}
    assert requests.get(url.replace("{range}", "0-10"), timeout=30).status_code == 400
    unknown = requests.get(f"{base_url}/field/glyphs/Comic Sans/0-255.pbf", timeout=30)
    assert unknown.status_code == 404 and "Open Sans Regular" in unknown.json()["description"]


def _tile(template: str, z: int, lon: float, lat: float) -> str:
    import math

    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))


def test_the_field_style_uses_only_this_servers_pieces(base_url: str, day: Day,
                                                       conn: psycopg.Connection) -> None:
    response = requests.get(f"{base_url}/field/style.json", timeout=60)
    assert response.status_code == 200, response.text
    style = response.json()
    assert style["version"] == 8 and style["glyphs"].startswith(base_url)
    sources = style["sources"]
    assert {"grids", "roads", "greenhouses", "mine_tunnels", "addresses", "hillshade"} <= \
        set(sources)
    ids = [layer["id"] for layer in style["layers"]]
    assert len(ids) == len(set(ids))
    assert all(layer.get("source", "grids") in sources for layer in style["layers"])
    assert ids.index("field-hillshade") < ids.index("field-grid-names")
    for name, source in sources.items():
        if source["type"] == "vector":
            lon, lat = fetch_row(conn, f"SELECT ST_X(p), ST_Y(p) FROM (SELECT"
                                       f" ST_PointOnSurface(geom) p FROM gridgeo.{name}"
                                       " ORDER BY id LIMIT 1) f")
            tile = requests.get(_tile(source["tiles"][0], 15, lon, lat), timeout=60)
            assert tile.status_code == 200 and tile.content, (name, tile.status_code)
        elif source["type"] == "geojson":
            # Adits are not public: the app sends the worker's token (transformRequest).
            items = requests.get(source["data"], headers=staff_token(day.staff_no), timeout=60)
            assert items.status_code == 200 and items.json()["features"], name
        else:
            image = requests.get(source["url"], timeout=60)
            assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
        assert str(source.get("url") or source.get("data") or source["tiles"][0]).startswith(
            base_url)


def test_my_tiles_cover_my_grids_and_are_bounded(base_url: str, day: Day,
                                                 conn: psycopg.Connection) -> None:
    def tiles(zooms: str, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.get(f"{base_url}/me/tiles", params={"zooms": zooms}, timeout=60,
                            headers=headers or staff_token(day.staff_no))

    pack = tiles("14-15")
    assert pack.status_code == 200, pack.text
    body = pack.json()
    assert body["count"] == len(body["tiles"]) == len(set(body["tiles"])) > 0
    assert body["bbox"] == today(base_url, staff_token(day.staff_no)).json()["bbox"]
    style = requests.get(f"{base_url}/field/style.json", timeout=60).json()
    grids = style["sources"]["grids"]["tiles"][0]
    inside = _tile(grids, 15, *day.inside)
    assert inside in body["tiles"] and _tile(grids, 16, *day.inside) not in body["tiles"]
    assert requests.get(inside, timeout=60).status_code == 200
    assert {u.split("/tiles/")[0] for u in body["tiles"]} <= \
        {s["tiles"][0].split("/tiles/")[0] for s in style["sources"].values() if "tiles" in s}
    assert style["glyphs"].split("{")[0] in " ".join(body["assets"]).replace("%20", " ")
    town_staff = fetch_row(conn, "SELECT s.staff_no FROM gridgeo.staff s JOIN"
                                 " gridgeo.grid_assignments a ON a.staff_id = s.id JOIN"
                                 " gridgeo.grids g ON g.code = a.grid_code WHERE s.active"
                                 " ORDER BY ST_Area(g.geom) DESC, s.staff_no LIMIT 1")[0]
    too_many = tiles("10-16", staff_token(town_staff))
    assert too_many.status_code == 413 and "fewer zooms" in too_many.json()["description"]
    assert tiles("14-x").status_code == 400 and tiles("16-14").status_code == 400
    assert tiles("14", VIEWER).status_code == 403
