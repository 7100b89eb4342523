"""QR scan check-ins: geofence, impossible speed, future times, offline batches and replays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests

from tests.conftest import EDITOR
from tests.field_town import ADIT, GREENHOUSE

# The greenhouse covers 111.505-111.5055°E, 33.505-33.5053°N; the adit is at 111.515, 33.515.
AT_GREENHOUSE = [111.5052, 33.5051]
AT_ADIT = [111.5151, 33.5150]
NOW = datetime.now(UTC)


@pytest.fixture()
def conn(request: pytest.FixtureRequest) -> psycopg.Connection:
    """This module's tests run against the field town's database ..."""
    return request.getfixturevalue("field_conn")  # type: ignore[no-any-return]


@pytest.fixture()
def base_url(request: pytest.FixtureRequest) -> str:
    """... and its server."""
    return str(request.getfixturevalue("field_town").base_url)


@pytest.fixture()
def field_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("field_town").url)


def scan(target: str, position: list[float], days_ago: float, result: str = "in_use",
         **extra: Any) -> dict[str, Any]:
    """A scan as a phone sends it; each test scans on its own days, so the one test
    inspector's scans in other tests are far apart in time."""
    return {"scan_uuid": str(uuid.uuid4()), "target": target, "position": position,
            "scanned_at": (NOW - timedelta(days=days_ago)).isoformat(), "accuracy_m": 8,
            "result": result, **extra}


def greenhouse_scan(days_ago: float, position: list[float] | None = None,
                    **extra: Any) -> dict[str, Any]:
    return scan(f"http://plates.example/q/g/{GREENHOUSE}", position or AT_GREENHOUSE, days_ago,
                **extra)


def adit_scan(days_ago: float, result: str = "sealed", **extra: Any) -> dict[str, Any]:
    return scan(f"http://plates.example/q/k/{ADIT}", AT_ADIT, days_ago, result, **extra)


def post(base_url: str, body: Any, path: str = "/scans",
         headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{base_url}{path}", json=body,
                         headers=EDITOR if headers is None else headers, timeout=60)


def test_a_scan_at_its_target_is_recorded(base_url: str,
                                          conn: psycopg.Connection) -> None:
    body = greenhouse_scan(40, note="正常种植", photos=["https://photos.example/1.jpg"])
    response = post(base_url, body)
    assert response.status_code == 201, response.text
    outcome = response.json()
    assert outcome["status"] == "created" and outcome["distance_m"] == 0
    assert outcome["flagged"] is False
    row = conn.execute(
        "SELECT i.inspector, i.scanned_at, i.received_at > i.scanned_at, i.photos, i.grid_code,"
        " g.last_scanned_at FROM gridgeo.inspections i JOIN gridgeo.greenhouses g"
        " ON g.gh_no = i.target_code WHERE i.scan_uuid = %s", (body["scan_uuid"],)).fetchone()
    assert row is not None
    assert row[0] == "api-key:gis_editor"
    assert row[1] == datetime.fromisoformat(body["scanned_at"])
    assert row[2] is True and row[3] == ["https://photos.example/1.jpg"]
    assert row[5] >= row[1]


@pytest.mark.parametrize("offset_deg,accuracy,status", [
    (0.0008, 8, 201),    # ~75 m east of the greenhouse's edge: inside 80 m
    (0.0011, 0, 400),    # ~100 m: outside 80 m
    (0.0011, 40, 201),   # ~100 m, but the device said ±40 m
    (0.0100, 500, 400),  # ~930 m: the accuracy widens by at most 100 m
])
def test_geofence(base_url: str, conn: psycopg.Connection,
                  offset_deg: float, accuracy: float, status: int) -> None:
    before = conn.execute("SELECT count(*) FROM gridgeo.inspections").fetchone()
    body = greenhouse_scan(60 + offset_deg * 1000, [111.5055 + offset_deg, 33.5051],
                           accuracy_m=accuracy)
    response = post(base_url, body)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["description"].startswith("the scan was ")
        assert f"m from greenhouses {GREENHOUSE}" in response.json()["description"]
        assert conn.execute("SELECT count(*) FROM gridgeo.inspections").fetchone() == before


def test_impossible_speed_is_flagged_not_refused(base_url: str) -> None:
    first = post(base_url, adit_scan(100))
    assert first.status_code == 201 and first.json()["flagged"] is False
    # 1.4 km from the adit, two minutes later: 42 km/h is plausible on a motorbike.
    plausible = post(base_url, greenhouse_scan(100 - 2 / 1440))
    assert plausible.json()["flagged"] is False
    # ... and back to the adit 20 seconds after that: 250 km/h.
    fast = post(base_url, adit_scan(100 - 2 / 1440 - 20 / 86400))
    assert fast.status_code == 201
    assert fast.json()["flagged"] is True
    assert "km/h" in fast.json()["flag_reason"] and GREENHOUSE in fast.json()["flag_reason"]


@pytest.mark.parametrize("change,phrase", [
    ({"scanned_at": (NOW + timedelta(hours=2)).isoformat()}, "lies in the future"),
    ({"scanned_at": "2026-11-25T09:30:00"}, "needs its UTC offset"),
    ({"scanned_at": "yesterday"}, "RFC 3339"),
    ({"scan_uuid": "42"}, "scan_uuid"),
    ({"target": "https://evil.example/x"}, "not a gridgeo QR link"),
    ({"target": f"http://x/q/g/{GREENHOUSE}9"}, "no greenhouses item has the code"),
    ({"position": [33.5, 111.5]}, "out of range"),
    ({"position": "here"}, "[longitude, latitude]"),
    ({"accuracy_m": -3}, "accuracy_m"),
    ({"result": "burnt"}, "use one of: abandoned, converted_to_housing"),
    ({"photos": ["file:///etc/passwd"]}, "http(s) links"),
])
def test_bad_scans_are_refused_with_a_sentence(base_url: str,
                                               conn: psycopg.Connection,
                                               change: dict[str, Any], phrase: str) -> None:
    before = conn.execute("SELECT count(*) FROM gridgeo.inspections").fetchone()
    response = post(base_url, {**greenhouse_scan(150), **change})
    assert response.status_code == 400, response.text
    assert phrase in response.json()["description"]
    assert conn.execute("SELECT count(*) FROM gridgeo.inspections").fetchone() == before


def test_anonymous_scans_are_refused(base_url: str) -> None:
    assert post(base_url, greenhouse_scan(151), headers={}).status_code == 401


def test_an_offline_batch_replayed_creates_nothing_twice(
        base_url: str, conn: psycopg.Connection) -> None:
    scans = [greenhouse_scan(200), adit_scan(200 - 0.1),
             greenhouse_scan(200 - 0.2, position=[111.60, 33.60]),  # far away: refused
             {"scan_uuid": "not-a-uuid"}]
    first = post(base_url, {"scans": scans}, "/scans/batch")
    assert first.status_code == 200, first.text
    body = first.json()
    assert [r["status"] for r in body["results"]] == ["created", "created", "refused", "refused"]
    assert (body["created"], body["duplicate"], body["refused"]) == (2, 0, 2)
    assert "m from greenhouses" in body["results"][2]["message"]
    uuids = [s["scan_uuid"] for s in scans[:3]]
    count = "SELECT count(*) FROM gridgeo.inspections WHERE scan_uuid::text = ANY(%s)"
    assert conn.execute(count, (uuids,)).fetchone() == (2,)
    replay = post(base_url, {"scans": scans}, "/scans/batch").json()
    assert [r["status"] for r in replay["results"]] == ["duplicate", "duplicate", "refused",
                                                        "refused"]
    assert [r["inspection_id"] for r in replay["results"][:2]] == \
        [r["inspection_id"] for r in body["results"][:2]]
    conn.rollback()
    assert conn.execute(count, (uuids,)).fetchone() == (2,)
    kept = conn.execute("SELECT scanned_at FROM gridgeo.inspections WHERE scan_uuid = %s",
                        (scans[1]["scan_uuid"],)).fetchone()
    assert kept == (datetime.fromisoformat(scans[1]["scanned_at"]),)


@pytest.mark.parametrize("body,phrase", [
    ({"scans": []}, "at least one scan"), ([], "at least one scan"),
    ({"scans": [{}] * 501}, "at most 500"),
])
def test_bad_batches(base_url: str, body: Any, phrase: str) -> None:
    response = post(base_url, body, "/scans/batch")
    assert response.status_code == 400 and phrase in response.json()["description"]


def test_a_reopened_adit_opens_an_incident(base_url: str,
                                           conn: psycopg.Connection) -> None:
    response = post(base_url, adit_scan(0.01, "reopened", note="封堵墙被破开"))
    assert response.status_code == 201, response.text
    case_no = response.json()["incident_case_no"]
    assert case_no
    incident = conn.execute(
        "SELECT source, state, colour, category_code, title, grid_code IS NOT NULL"
        " FROM gridgeo.incidents WHERE case_no = %s", (case_no,)).fetchone()
    assert incident == ("inspection", "reported", "red", "scan_adit_reopened",
                        "封闭矿洞复开（扫码发现）：田野一号洞", True)
    adit = conn.execute("SELECT status, last_inspected_at FROM gridgeo.mine_tunnels"
                        " WHERE adit_no = %s", (ADIT,)).fetchone()
    assert adit is not None and adit[0] == "reopened"
    assert post(base_url, adit_scan(0.005, "sealed")).json()["incident_case_no"] is None


def test_a_greenhouse_converted_to_housing_opens_an_incident(
        base_url: str, conn: psycopg.Connection) -> None:
    response = post(base_url, greenhouse_scan(0.02, result="converted_to_housing"))
    assert response.status_code == 201, response.text
    row = conn.execute("SELECT category_code, colour FROM gridgeo.incidents WHERE case_no = %s",
                       (response.json()["incident_case_no"],)).fetchone()
    assert row == ("scan_greenhouse_housing", "orange")
    status = conn.execute("SELECT status FROM gridgeo.greenhouses WHERE gh_no = %s",
                          (GREENHOUSE,)).fetchone()
    assert status == ("converted_to_housing",)
