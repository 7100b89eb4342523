"""Privacy by default: what each role receives from each collection in each format.

The expectations are the literal table below, written from the town's publication
decisions (docs/security.md), not read from the access configuration. A phone number
and a checksum-valid resident ID number are planted in free text (an incident's title,
description and status note, its history's note, an inspection's note), and the raw
bytes of every answer are searched for them, vector tiles and process outputs included.
Requests go through Flask's test client of the app (a real server adds nothing here).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from flask.testing import FlaskClient

from tests.conftest import fetch_row

PHONE = "13900002222"
LANDLINE = "0371-66881234"
ID_NUMBER = "11010519491231002X"  # GB 11643 check character X
NOT_AN_ID = "110105194912310021"  # same digits, wrong check character: left alone
TITLE = f"李明（{PHONE}）来电反映占道"
DESCRIPTION = f"李明（{PHONE}）来电，身份证{ID_NUMBER}，座机{LANDLINE}，旧证{NOT_AN_ID}。"
NOTE = f"已回访 {PHONE}，核对身份证 {ID_NUMBER}"
PLANTED = (PHONE.encode(), ID_NUMBER.encode(), b"66881234")

ROLES = ("anonymous", "viewer", "grid_worker", "police", "gis_editor", "admin")
FORMATS = ("json", "html", "csv", "jsonld")
# sees: every row the role's grids allow, free text as written
# scrubbed: the rows, free text without phone and ID numbers
# reduced: the public view (no free text, address, reporter or actor; place generalised)
# refused: 404, the collection does not exist for the role
# (grid_worker and police are scoped to their grids by row-level security)
#   collection            anonymous   viewer      grid_worker police      gis_editor  admin
MATRIX: dict[str, tuple[str, str, str, str, str, str]] = {
    "grids":                 ("sees",     "sees",     "sees",     "sees",     "sees",     "sees"),
    "police_grids":          ("sees",     "sees",     "sees",     "sees",     "sees",     "sees"),
    "grid_police_crosswalk": ("sees",     "sees",     "sees",     "sees",     "sees",     "sees"),
    "addresses":             ("sees",     "sees",     "sees",     "sees",     "sees",     "sees"),
    "roads":                 ("sees",     "sees",     "sees",     "sees",     "sees",     "sees"),
    "greenhouses":           ("sees",     "sees",     "sees",     "sees",     "sees",     "sees"),
    "greenhouses_due":       ("sees",     "sees",     "sees",     "sees",     "sees",     "sees"),
    "mine_tunnels":          ("refused",  "sees",     "sees",     "sees",     "sees",     "sees"),
    "mine_tunnels_due":      ("refused",  "sees",     "sees",     "sees",     "sees",     "sees"),
    "patrol_routes":         ("refused",  "sees",     "sees",     "sees",     "sees",     "sees"),
    "incidents":             ("reduced",  "scrubbed", "sees",     "sees",     "sees",     "sees"),
    "incident_events":       ("refused",  "scrubbed", "sees",     "sees",     "sees",     "sees"),
    "inspections":           ("refused",  "scrubbed", "sees",     "refused",  "sees",     "sees"),
}
# Personal fields (residents, reporters, operators) per role: only these roles get them.
PERSONAL: dict[str, dict[str, tuple[str, ...]]] = {
    "incidents": {"reporter_phone": ("grid_worker", "police", "gis_editor", "admin")},
    "greenhouses": {"operator_phone": ("gis_editor", "admin")}}
FREE_TEXT = ("incidents", "incident_events", "inspections")  # the planted rows are here
# Collections the demo town fills (due lists and routes depend on the day).
NON_EMPTY = ("grids", "police_grids", "addresses", "roads", "greenhouses", "mine_tunnels",
             "incidents", "incident_events", "inspections")


@dataclass(frozen=True)
class Planted:
    incident: int
    case_no: str
    category: str
    point: tuple[float, float]
    worker: str  # staff_no of the incident's grid worker
    officer: str  # staff_no of the officer of its police grid
    sensitive: int  # a neighbour-dispute incident of the same worker and officer


def maintenance(url: str) -> psycopg.Connection:
    """A trusted maintenance connection (a bare one names no caller and reads nothing
    protected since core/009)."""
    from gridgeo.db.pool import connect

    return connect(url)


def _plant(conn: psycopg.Connection) -> tuple[Planted, dict[str, Any]]:
    row = fetch_row(conn,
        "SELECT i.id, i.case_no, c.name_zh, ST_X(i.geom), ST_Y(i.geom), s.staff_no, o.staff_no,"
        "       i.title, i.description, i.state_note"
        "  FROM gridgeo.incidents i JOIN gridgeo.incident_categories c ON c.code = i.category_code"
        "  JOIN gridgeo.staff s ON s.id = i.grid_worker_id"
        "  JOIN gridgeo.police_grid_assignments pa ON pa.police_grid_code = i.police_grid_code"
        "  JOIN gridgeo.staff o ON o.id = pa.staff_id"
        " WHERE NOT c.sensitive AND i.state = 'in_progress' AND s.active AND o.active"
        "   AND EXISTS (SELECT FROM gridgeo.incidents d WHERE d.category_code = '0601'"
        "               AND d.grid_worker_id = i.grid_worker_id"
        "               AND d.police_grid_code = i.police_grid_code)"
        " ORDER BY i.id LIMIT 1")
    assert row is not None
    sensitive = fetch_row(conn,
        "SELECT min(d.id) FROM gridgeo.incidents d JOIN gridgeo.incidents i ON i.id = %s"
        " WHERE d.category_code = '0601' AND d.grid_worker_id = i.grid_worker_id"
        "   AND d.police_grid_code = i.police_grid_code", (row[0],))[0]
    # The case's first event: the one its event list shows first (later tests' sweeps may
    # add escalation events after it).
    event = fetch_row(conn, "SELECT min(id) FROM gridgeo.incident_events"
                         " WHERE incident_id = %s", (row[0],))
    reporter = fetch_row(conn, "SELECT reporter_name, reporter_phone FROM gridgeo.incidents"
                            " WHERE id = %s", (row[0],))
    event_note = fetch_row(conn, "SELECT note FROM gridgeo.incident_events WHERE id = %s",
                           (event[0],))[0]
    saved: dict[str, Any] = {"incident": (row[7], row[8], row[9], *reporter),
                             "event": (event[0], event_note)}
    conn.execute("UPDATE gridgeo.incidents SET title = %s, description = %s, state_note = %s,"
                 " reporter_name = '李明', reporter_phone = %s WHERE id = %s",
                 (TITLE, DESCRIPTION, NOTE, PHONE, row[0]))
    conn.execute("UPDATE gridgeo.incident_events SET note = %s WHERE id = %s", (NOTE, event[0]))
    address = fetch_row(conn,
        "SELECT address_code, ST_X(geom), ST_Y(geom) FROM gridgeo.addresses"
        " WHERE grid_code = (SELECT grid_code FROM gridgeo.incidents WHERE id = %s)"
        " ORDER BY id LIMIT 1", (row[0],))
    scan = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO gridgeo.inspections (scan_uuid, target_collection, target_code, inspector,"
        " scanned_at, accuracy_m, result, note, geom) VALUES (%s, 'addresses', %s,"
        " 'test-privacy', now(), 5, 'ok', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))",
        (scan, address[0], NOTE, address[1], address[2]))
    saved["scan"] = scan
    conn.commit()
    return Planted(row[0], row[1], row[2], (row[3], row[4]), row[5], row[6], sensitive), saved


def _unplant(conn: psycopg.Connection, planted: Planted, saved: dict[str, Any]) -> None:
    conn.execute("UPDATE gridgeo.incidents SET title = %s, description = %s, state_note = %s,"
                 " reporter_name = %s, reporter_phone = %s WHERE id = %s",
                 (*saved["incident"], planted.incident))
    event_id, note = saved["event"]
    conn.execute("UPDATE gridgeo.incident_events SET note = %s WHERE id = %s", (note, event_id))
    conn.execute("DELETE FROM gridgeo.inspections WHERE scan_uuid = %s", (saved["scan"],))
    conn.commit()


@pytest.fixture(scope="module")
def planted(demo_db_url: str) -> Iterator[Planted]:
    from gridgeo.db.pool import connect

    with connect(demo_db_url) as conn:
        found, saved = _plant(conn)
    yield found
    with connect(demo_db_url) as conn:
        _unplant(conn, found, saved)


KEYS = {"viewer": "privacy-viewer", "grid_worker": "privacy-worker", "police": "privacy-police",
        "gis_editor": "privacy-editor", "admin": "privacy-admin", "hotline": "privacy-hotline"}


@pytest.fixture(scope="module")
def client(planted: Planted, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """The app in this process, with one key per role (the scoped ones naming their staff
    member) and a deployment scrub pattern; the environment is restored afterwards."""
    from gridgeo.db.pool import close_pool
    from gridgeo.settings import get_settings

    keys = {KEYS["viewer"]: "viewer", KEYS["gis_editor"]: "gis_editor",
            KEYS["admin"]: {"role": "admin", "staff_no": planted.officer},
            KEYS["grid_worker"]: {"role": "grid_worker", "staff_no": planted.worker},
            KEYS["police"]: {"role": "police", "staff_no": planted.officer},
            KEYS["hotline"]: {"role": "gis_editor", "system": "12345"}}
    changed = {"GRIDGEO_API_KEYS": json.dumps(keys),
               "GRIDGEO_HOME": str(tmp_path_factory.mktemp("privacy-home")),
               "GRIDGEO_SCRUB_PATTERNS": json.dumps(["车牌[A-Z0-9]{5}"])}
    before = {k: os.environ.get(k) for k in (*changed, "PYGEOAPI_CONFIG", "PYGEOAPI_OPENAPI")}
    os.environ.update(changed)
    get_settings.cache_clear()
    close_pool()  # the next pool carries the scrub pattern
    from gridgeo.app import create_app

    yield create_app().test_client()
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()
    close_pool()


def auth(role: str) -> dict[str, str]:
    return {} if role == "anonymous" else {"Authorization": f"Bearer {KEYS[role]}"}


def _fetch(client: FlaskClient, role: str, collection: str, fmt: str,
           case_no: str) -> tuple[int, bytes]:
    params: dict[str, Any] = {"f": fmt, "limit": 5}
    if collection in ("incidents", "incident_events"):
        params["case_no"] = case_no
    if collection == "inspections":
        params["inspector"] = "test-privacy"
    answer = client.get(f"/collections/{collection}/items", query_string=params,
                        headers=auth(role))
    if collection in FREE_TEXT and fmt in ("html", "jsonld") and answer.status_code == 200:
        # pygeoapi's lists show a few columns (HTML) or only ids (JSON-LD): the planted
        # row's own page shows them all
        listed = client.get(f"/collections/{collection}/items", headers=auth(role),
                            query_string={**params, "f": "json"}).get_json()["features"]
        answer = client.get(f"/collections/{collection}/items/{listed[0]['id']}",
                            query_string={"f": fmt}, headers=auth(role))
    return answer.status_code, answer.get_data()


def _rows(fmt: str, body: bytes) -> int:
    if fmt == "json":
        return len(json.loads(body)["features"])
    if fmt == "csv":
        return len(list(csv.DictReader(io.StringIO(body.decode("utf-8")))))
    return -1  # html, jsonld: checked by content


def test_every_role_gets_what_the_table_says_in_every_format(client: FlaskClient,
                                                            planted: Planted) -> None:
    wrong = []
    for collection, outcomes in MATRIX.items():
        for role, outcome in zip(ROLES, outcomes, strict=True):
            for fmt in FORMATS:
                status, body = _fetch(client, role, collection, fmt, planted.case_no)
                where = f"{role} {collection} {fmt}"
                if outcome == "refused":
                    if status != 404:
                        wrong.append(f"{where}: {status}, expected 404")
                    continue
                if status != 200:
                    wrong.append(f"{where}: {status} {body[:200]!r}")
                    continue
                if collection in NON_EMPTY and _rows(fmt, body) == 0:
                    wrong.append(f"{where}: no rows")
                leaked = [p for p in PLANTED if p in body]
                if outcome in ("reduced", "scrubbed") and leaked:
                    wrong.append(f"{where}: leaks {leaked}")
                if outcome == "sees" and collection in FREE_TEXT and not leaked:
                    wrong.append(f"{where}: the planted text is missing")
                for field, allowed in PERSONAL.get(collection, {}).items():
                    if fmt in ("json", "csv") and (field.encode() in body) != (role in allowed):
                        wrong.append(f"{where}: personal field {field} "
                                     f"{'missing' if role in allowed else 'present'}")
    assert not wrong, "\n".join(wrong)


def test_the_public_incident_view_is_reduced(client: FlaskClient, planted: Planted) -> None:
    public = client.get(f"/collections/incidents/items/{planted.incident}").get_json()
    props = public["properties"]
    assert props["title"] == planted.category and props["description"] is None
    assert props["state_note"] is None and props["address_text"] is None
    assert props["grid_worker_id"] is None and "reporter_phone" not in props
    lon, lat = public["geometry"]["coordinates"]
    # the centre of a 0.01 degree cell, not the place itself
    assert math.isclose((lon * 100) % 1, 0.5, abs_tol=1e-6)
    assert math.isclose((lat * 100) % 1, 0.5, abs_tol=1e-6)
    assert abs(lon - planted.point[0]) <= 0.005 + 1e-9
    staff = client.get(f"/collections/incidents/items/{planted.incident}",
                       headers=auth("viewer")).get_json()
    assert staff["geometry"]["coordinates"] == pytest.approx(list(planted.point))
    scrubbed = staff["properties"]["description"]
    assert "[电话已隐去]" in scrubbed and "[证件号已隐去]" in scrubbed
    assert NOT_AN_ID in scrubbed and "66881234" not in scrubbed


def test_sensitive_categories_only_reach_the_roles_that_handle_them(
        client: FlaskClient, planted: Planted) -> None:
    path = f"/collections/incidents/items/{planted.sensitive}"
    seen = {role: client.get(path, headers=auth(role)).status_code for role in ROLES}
    assert seen == {"anonymous": 404, "viewer": 404, "grid_worker": 200, "police": 200,
                    "gis_editor": 404, "admin": 200}
    everyone = client.get("/collections/incidents/items", query_string={
        "category_code": "0601", "limit": 1}).get_json()
    assert everyone["numberMatched"] == 0
    # a writer who does not handle them is told so, in a sentence
    refused = client.post("/collections/incidents/items", headers=auth("gis_editor"), json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": list(planted.point)},
        "properties": {"category_code": "0601", "title": "邻里纠纷", "source": "other"}})
    assert refused.status_code == 403 and "sensitive" in refused.get_json()["description"]
    # the hotline (a named system) files such a call without reading it back
    lon, lat = planted.point
    filed = client.post("/open311/v2/requests.json", headers=auth("hotline"), data={
        "service_code": "0601", "lat": str(lat), "long": str(lon), "description": "邻居争吵"})
    assert filed.status_code == 201, filed.get_data()[:300]
    case_no = filed.get_json()[0]["service_request_id"]
    assert client.get(f"/open311/v2/requests/{case_no}.json").status_code == 404
    assert client.get(f"/open311/v2/requests/{case_no}.json",
                      headers=auth("admin")).status_code == 200


def test_tiles_carry_no_planted_text_for_the_public(client: FlaskClient,
                                                    planted: Planted) -> None:
    z = 12
    lon, lat = planted.point
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    tiles = {}
    for role in ("anonymous", "viewer", "admin"):
        answer = client.get(f"/collections/incidents/tiles/WebMercatorQuad/{z}/{y}/{x}",
                            headers=auth(role))
        assert answer.status_code == 200
        tiles[role] = answer.get_data()
    assert planted.case_no.encode() in tiles["viewer"]
    for role in ("anonymous", "viewer"):
        assert not [p for p in PLANTED if p in tiles[role]], role
    assert PHONE.encode() in tiles["admin"]  # the search can find it
    assert client.get(f"/collections/mine_tunnels/tiles/WebMercatorQuad/{z}/{y}/{x}"
                      ).status_code == 404


def test_process_outputs_reports_and_open311_are_scrubbed(client: FlaskClient,
                                                          planted: Planted) -> None:
    report = client.post("/processes/incident-report/execution", headers=auth("viewer"),
                         json={"inputs": {"format": "json"}})
    assert report.status_code == 200, report.get_data()[:300]
    assert not [p for p in PLANTED if p in report.get_data()]
    patrol = client.post("/processes/patrol-route/execution", headers=auth("viewer"), json={
        "inputs": {"area": {"bbox": [planted.point[0] - 0.003, planted.point[1] - 0.003,
                                     planted.point[0] + 0.003, planted.point[1] + 0.003]},
                   "targets": ["incidents"], "store": False, "time_limit_s": 0.2}})
    assert patrol.status_code == 200, patrol.get_data()[:300]
    assert planted.case_no.encode() in patrol.get_data()
    assert not [p for p in PLANTED if p in patrol.get_data()]
    assert client.post("/processes/patrol-route/execution", json={
        "inputs": {"area": {"level": "town"}, "targets": ["sealed_adits"]}}).status_code == 401
    for role in ("anonymous", "viewer"):
        answer = client.get(f"/open311/v2/requests/{planted.case_no}.json", headers=auth(role))
        assert answer.status_code == 200
        assert not [p for p in PLANTED if p in answer.get_data()], role
    public = client.get(f"/open311/v2/requests/{planted.case_no}.json").get_json()[0]
    assert public["description"] is None and public["address"] is None
    assert public["service_name"] == planted.category and public["status"] == "open"
    staff = client.get(f"/open311/v2/requests/{planted.case_no}.json",
                       headers=auth("admin")).get_json()[0]
    assert staff["description"] == DESCRIPTION


def test_deployment_patterns_are_scrubbed_too(client: FlaskClient, planted: Planted,
                                              demo_db_url: str) -> None:
    from gridgeo.db.pool import connection

    with connection() as conn:  # the app's pool: the pattern from GRIDGEO_SCRUB_PATTERNS
        row = fetch_row(conn, "SELECT gridgeo.scrub_text('车牌ABC12 停在路口')")
    assert row == ("[已隐去] 停在路口",)


def test_anonymous_pages_keep_working(client: FlaskClient, planted: Planted,
                                      demo_db_url: str) -> None:
    # the overview asks for exactly these properties
    cases = client.get("/collections/incidents/items", query_string={
        "f": "json", "limit": 10000,
        "properties": "case_no,title,colour,state,overdue,grid_code"}).get_json()
    assert cases["numberMatched"] > 500
    titles = {f["properties"]["title"] for f in cases["features"]}
    with maintenance(demo_db_url) as conn:
        names = {r[0] for r in conn.execute("SELECT name_zh FROM gridgeo.incident_categories"
                                            " WHERE NOT sensitive")}
    assert titles <= names
    assert client.get("/overview").status_code == 200
    summary = client.get("/overview/summary.json").get_json()
    assert summary["figures"]["open"] > 0
    # QR landings: addresses and greenhouses to their page, an adit plate to a notice
    with maintenance(demo_db_url) as conn:
        address, gh, adit = fetch_row(conn,
            "SELECT (SELECT min(address_code) FROM gridgeo.addresses),"
            " (SELECT min(gh_no) FROM gridgeo.greenhouses),"
            " (SELECT min(adit_no) FROM gridgeo.mine_tunnels)")
    for letter, code in (("a", address), ("g", gh)):
        landing = client.get(f"/q/{letter}/{code}")
        assert landing.status_code == 302
        target = urlsplit(landing.headers["Location"])
        assert client.get(target.path, query_string=target.query).status_code == 200
    notice = client.get(f"/q/k/{adit}")
    assert notice.status_code == 200 and adit in notice.get_data(as_text=True)
    assert "禁止进入" in notice.get_data(as_text=True)
    staff = client.get(f"/q/k/{adit}", headers=auth("viewer"))
    assert staff.status_code == 302 and "/collections/mine_tunnels/items/" in \
        staff.headers["Location"]


def test_me_names_the_staff_member_and_their_work(client: FlaskClient, planted: Planted,
                                                  demo_db_url: str) -> None:
    assert client.get("/me").status_code == 401
    assert "/me" in client.get("/openapi", query_string={"f": "json"}).get_json()["paths"]
    me = client.get("/me", headers=auth("grid_worker")).get_json()
    assert me["subject"] == f"staff:{planted.worker}" and me["roles"] == ["grid_worker"]
    assert me["staff"]["staff_no"] == planted.worker
    with maintenance(demo_db_url) as conn:
        grids = [r[0] for r in conn.execute(
            "SELECT a.grid_code FROM gridgeo.grid_assignments a JOIN gridgeo.staff s"
            " ON s.id = a.staff_id WHERE s.staff_no = %s ORDER BY 1", (planted.worker,))]
    assert sorted(g["code"] for g in me["grids"]) == grids and me["grids"][0]["name"]
    assert planted.case_no in [c["case_no"] for c in me["open_cases"]]
    assert set(me["due"]) == {"greenhouses", "mine_tunnels"}
    officer = client.get("/me", headers=auth("police")).get_json()
    assert officer["police_grids"] and planted.case_no in \
        [c["case_no"] for c in officer["open_cases"]]
    hotline = client.get("/me", headers=auth("hotline")).get_json()
    assert hotline["system"] == "12345" and hotline["staff"] is None


def test_every_change_records_the_person_behind_it(client: FlaskClient, planted: Planted,
                                                   demo_db_url: str) -> None:
    worker = auth("grid_worker")
    grid = client.get(f"/collections/incidents/items/{planted.incident}",
                      headers=worker).get_json()["properties"]["grid_code"]
    # a grid worker's route inside their grids is stored, and says who stored it ...
    inputs = {"area": {"grids": [grid]}, "targets": ["incidents"], "time_limit_s": 0.2}
    own = client.post("/processes/patrol-route/execution", headers=worker,
                      json={"inputs": inputs}).get_json()
    assert own["stored"] is True and "why" not in own
    # ... one reaching beyond them is planned, not stored, and the answer says why
    lon, lat = planted.point
    far = client.post("/processes/patrol-route/execution", headers=worker, json={"inputs": {
        **inputs, "area": {"bbox": [lon - 0.03, lat - 0.03, lon + 0.03, lat + 0.03]}}}
        ).get_json()
    assert far["stored"] is False and "beyond your own grids" in far["why"]
    # a new incident's first event names the staff member
    created = client.post("/collections/incidents/items", headers=worker, json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"category_code": "0101", "title": "暴露垃圾", "source": "grid_worker"}})
    assert created.status_code == 201, created.get_data()[:300]
    # a scan names the inspector's staff record, not only the login
    address = client.get("/collections/addresses/items", query_string={
        "grid_code": grid, "limit": 1}).get_json()["features"][0]
    scan = client.post("/scans", headers=worker, json={
        "scan_uuid": str(uuid.uuid4()), "position": address["geometry"]["coordinates"],
        "target": f"http://x/q/a/{address['properties']['address_code']}",
        "scanned_at": datetime.now(UTC).isoformat(), "result": "ok"})
    assert scan.status_code == 201, scan.get_data()[:300]
    route_no = own["features"][0]["id"]
    with maintenance(demo_db_url) as conn:
        inspector = fetch_row(conn,
            "SELECT i.inspector, s.staff_no FROM gridgeo.inspections i"
            " JOIN gridgeo.staff s ON s.id = i.inspector_id WHERE i.scan_uuid = %s",
            (scan.get_json()["scan_uuid"],))
        event = fetch_row(conn, "SELECT actor, staff_no FROM gridgeo.incident_events"
                             " WHERE incident_id = %s", (created.get_json()["id"],))
        route = fetch_row(conn, "SELECT created_by, created_by_staff_no FROM gridgeo.patrol_routes"
                             " WHERE route_no = %s", (route_no,))
        conn.execute("SET gridgeo.maintenance = 'on'")
        conn.execute("DELETE FROM gridgeo.patrol_routes WHERE created_by = %s",
                     (f"staff:{planted.worker}",))
        conn.execute("DELETE FROM gridgeo.inspections WHERE scan_uuid = %s",
                     (scan.get_json()["scan_uuid"],))
        conn.commit()
    assert inspector == (f"staff:{planted.worker}", planted.worker)
    assert event == (f"staff:{planted.worker}", planted.worker)
    assert route == (f"staff:{planted.worker}", planted.worker)


def test_reading_personal_data_is_logged(client: FlaskClient, planted: Planted,
                                         demo_db_url: str) -> None:
    path = f"/collections/incidents/items/{planted.incident}"
    for fmt in ("json", "html"):
        assert client.get(path, query_string={"f": fmt},
                          headers=auth("grid_worker")).status_code == 200
    assert client.get(path).status_code == 200  # anonymous: nothing personal, nothing logged
    with maintenance(demo_db_url) as conn:
        conn.execute("SET gridgeo.maintenance = 'on'")
        reads = conn.execute(
            "SELECT actor, staff_no, collection, fields FROM gridgeo.personal_data_reads"
            " WHERE %s = ANY (item_ids) AND collection = 'incidents' ORDER BY id",
            (str(planted.incident),)).fetchall()
    mine = [r for r in reads if r[0] == f"staff:{planted.worker}"]
    assert len(mine) >= 2 and mine[0][1] == planted.worker
    assert "reporter_phone" in mine[0][3]
    assert all(r[0] != "anonymous" for r in reads)


def test_final_cases_are_anonymised_after_the_retention_period(conn: psycopg.Connection) -> None:
    before = fetch_row(conn,
        "SELECT count(*) FROM gridgeo.incidents WHERE state = 'closed'"
        " AND closed_at < now() - interval '30 days' AND reporter_phone IS NOT NULL"
        )[0]
    recent = fetch_row(conn,
        "SELECT count(*) FROM gridgeo.incidents WHERE reporter_phone IS NOT NULL"
        " AND NOT (gridgeo.incident_state_is_final(state)"
        "          AND coalesce(closed_at, state_changed_at) < now() - interval '30 days')"
        )[0]
    assert before > 0 and recent > 0
    changed = fetch_row(conn, "SELECT gridgeo.anonymise_final_cases(interval '30 days')"
                           )[0]
    assert changed >= before
    left = fetch_row(conn, "SELECT count(*) FROM gridgeo.incidents WHERE reporter_phone IS NOT NULL"
                        )[0]
    assert left == recent  # open and recent cases keep their reporter
    assert fetch_row(conn, "SELECT gridgeo.anonymise_final_cases(interval '30 days')"
                        )[0] == 0


def test_the_anonymise_command_reports_what_it_did(demo_db_url: str) -> None:
    from click.testing import CliRunner

    from gridgeo.cli import main

    result = CliRunner().invoke(main, ["privacy", "anonymise", "--older-than-days", "100000"])
    assert result.exit_code == 0, result.output
    assert "anonymised 0 case(s) final for more than 100000 days" in result.output


def test_resident_id_checksums_follow_gb_11643(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT gridgeo.id_number_valid(v) FROM unnest(%s::text[]) v",
        (["11010519491231002X", "11010519491231002x", "110105194912310021",
          "440524188001010014", "440524188001010015", "1101051949123100", "abc"],)).fetchall()
    assert [r[0] for r in rows] == [True, True, False, True, False, False, False]


def test_a_public_collection_is_a_decision_in_its_collection_yml() -> None:
    import yaml

    root = Path(__file__).resolve().parent.parent / "collections"
    undecided = [d.name for d in root.iterdir() if (d / "collection.yml").is_file()
                 and "read" not in (yaml.safe_load((d / "collection.yml").read_text(
                     encoding="utf-8")).get("access") or {})]
    assert not undecided, f"collections without a read decision: {undecided}"


def test_an_api_key_names_its_person_or_system() -> None:
    from pydantic import ValidationError

    from gridgeo.identity import _from_api_key
    from gridgeo.settings import Settings

    keys = Settings(api_keys={"a": "viewer", "b": {"role": "grid_worker", "staff_no": "W1"},
                              "c": {"role": "gis_editor", "system": "12345"}}).api_keys
    people = {k: _from_api_key(v) for k, v in keys.items()}
    assert (people["a"].subject, people["a"].staff_no) == ("api-key:viewer", None)
    assert (people["b"].subject, people["b"].staff_no) == ("staff:W1", "W1")
    assert people["b"].roles == {"grid_worker"}
    assert (people["c"].subject, people["c"].staff_no) == ("system:12345", None)
    with pytest.raises(ValidationError):  # a misspelt field is refused at start-up
        Settings(api_keys={"d": {"role": "police", "staffno": "P1"}})


def test_dispatch_and_deadline_columns_follow_the_two_halves(conn: psycopg.Connection) -> None:
    """Main's dispatch/SLA/escalation columns: notes and people NULL for the public, notes
    scrubbed for staff without free-text rights, deadlines the same in both halves."""
    incident = fetch_row(conn,
        "SELECT i.id FROM gridgeo.incidents i JOIN gridgeo.incident_categories c"
        " ON c.code = i.category_code WHERE NOT c.sensitive ORDER BY i.id LIMIT 1")[0]
    columns = ("dispatch_note, colour_note, assignee_staff_no, assignee_name, resolved_by,"
               " verified_by, due_at, overdue, near_due, escalation_level, department_code")
    try:
        conn.execute("UPDATE gridgeo.incidents SET dispatch_note = %s, colour_note = %s"
                     " WHERE id = %s", (NOTE, NOTE, incident))
        # As a request would: not the maintenance path (gridgeo.db.pool.connect), anonymous.
        conn.execute("SELECT set_config('gridgeo.maintenance', '', true),"
                     " set_config('gridgeo.roles', 'anonymous', true)")
        public = fetch_row(conn, f"SELECT {columns} FROM gridgeo.incidents_view WHERE id = %s",
                              (incident,))
        conn.execute("SELECT set_config('gridgeo.roles', 'anonymous,viewer', true)")
        staff = fetch_row(conn, f"SELECT {columns} FROM gridgeo.incidents_view WHERE id = %s",
                             (incident,))
    finally:
        conn.rollback()
    assert public is not None and staff is not None
    assert public[:6] == (None,) * 6
    assert public[6:] == staff[6:]
    for note in staff[:2]:
        assert PHONE not in note and ID_NUMBER not in note and "[电话已隐去]" in note
