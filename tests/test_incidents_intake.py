"""The Open311 hotline intake and the incident-report process (通报)."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
import requests

from tests.conftest import EDITOR
from tests.field_town import CATEGORY, UNIT, WORKER_NAME


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


def hotline(base_url: str, headers: dict[str, str] | None = None,
            **fields: str) -> requests.Response:
    form = {"service_code": CATEGORY, "lat": "33.5101", "long": "111.5121",
            "description": "村口垃圾三天未清运", "first_name": "小红", "last_name": "李",
            "phone": "13912345678", **fields}
    return requests.post(f"{base_url}/open311/v2/requests.json", data=form,
                         headers=EDITOR if headers is None else headers, timeout=30)


def test_services_are_the_categories(base_url: str,
                                     conn: psycopg.Connection) -> None:
    services = requests.get(f"{base_url}/open311/v2/services.json", timeout=30).json()
    codes = {s["service_code"] for s in services}
    expected = {r[0] for r in conn.execute("SELECT code FROM gridgeo.incident_categories")}
    assert codes == expected and CATEGORY in codes
    mine = next(s for s in services if s["service_code"] == CATEGORY)
    assert mine["service_name"] == "田野垃圾" and mine["group"] == "city_appearance"


def test_a_hotline_call_becomes_an_incident(base_url: str,
                                            conn: psycopg.Connection) -> None:
    response = hotline(base_url)
    assert response.status_code == 201, response.text
    case_no = response.json()[0]["service_request_id"]
    row = conn.execute("SELECT source, state, reporter_name, reporter_phone, grid_code,"
                       " category_code FROM gridgeo.incidents WHERE case_no = %s",
                       (case_no,)).fetchone()
    assert row == ("hotline", "reported", "李小红", "13912345678", UNIT, CATEGORY)
    actor = conn.execute("SELECT actor FROM gridgeo.incident_events WHERE case_no = %s",
                         (case_no,)).fetchone()
    assert actor == ("api-key:gis_editor",)
    status = requests.get(f"{base_url}/open311/v2/requests/{case_no}.json", timeout=30)
    assert status.status_code == 200
    body = status.json()[0]
    assert body["service_request_id"] == case_no and body["status"] == "open"
    # the public answer: the place generalised to a 0.01 degree cell's centre
    assert (body["lat"], body["long"]) == (pytest.approx(33.515), pytest.approx(111.515))
    assert "李小红" not in status.text and "13912345678" not in status.text
    staff = requests.get(f"{base_url}/open311/v2/requests/{case_no}.json", headers=EDITOR,
                         timeout=30).json()[0]
    assert staff["lat"] == pytest.approx(33.5101) and staff["long"] == pytest.approx(111.5121)
    feature = requests.get(f"{base_url}/collections/incidents/items",
                           params={"case_no": case_no},
                           headers={"Accept": "application/geo+json", **EDITOR},
                           timeout=30).json()
    assert feature["features"][0]["properties"]["grid_worker_name"] == WORKER_NAME
    public = requests.get(f"{base_url}/collections/incidents/items",
                          params={"case_no": case_no},
                          headers={"Accept": "application/geo+json"}, timeout=30)
    assert public.json()["numberMatched"] == 1 and "李小红" not in public.text


def test_a_call_at_a_standard_address(base_url: str,
                                      conn: psycopg.Connection) -> None:
    code = conn.execute("SELECT address_code, full_address FROM gridgeo.addresses"
                        " WHERE grid_code = %s ORDER BY address_code LIMIT 1",
                        (UNIT,)).fetchone()
    assert code is not None
    response = hotline(base_url, lat="", long="", address_id=code[0])
    assert response.status_code == 201, response.text
    status = f"{base_url}/open311/v2/requests/{response.json()[0]['service_request_id']}.json"
    assert requests.get(status, timeout=30).json()[0]["address"] is None  # public: no door
    assert requests.get(status, headers=EDITOR, timeout=30).json()[0]["address"] == code[1]


@pytest.mark.parametrize("fields,headers,status,phrase", [
    ({"service_code": "nope"}, None, 400, "is not a service"),
    ({"service_code": ""}, None, 400, "service_code is required"),
    ({"lat": "91"}, None, 400, "out of range"),
    ({"lat": "north"}, None, 400, "decimal degrees"),
    ({"lat": ""}, None, 400, "send both lat and long"),
    ({"lat": "", "long": ""}, None, 400, "where is it"),
    ({"lat": "", "long": "", "address_id": "123"}, None, 400, "not a standard address"),
    ({"description": "长" * 5000}, None, 400, "the limit is 4000"),
    ({}, {}, 401, "needs credentials"),
])
def test_bad_calls_are_refused_and_nothing_is_written(
        base_url: str, conn: psycopg.Connection, fields: dict[str, str],
        headers: dict[str, str] | None, status: int, phrase: str) -> None:
    before = conn.execute("SELECT count(*) FROM gridgeo.incidents").fetchone()
    response = hotline(base_url, headers, **fields)
    assert response.status_code == status, response.text
    assert phrase in response.json()["description"]
    assert conn.execute("SELECT count(*) FROM gridgeo.incidents").fetchone() == before


def test_unknown_request_is_a_404(base_url: str) -> None:
    assert requests.get(f"{base_url}/open311/v2/requests/41039920260101.json",
                        timeout=30).status_code == 404


# --- the report ------------------------------------------------------------------------------

def run_report(base_url: str, **inputs: str) -> requests.Response:
    return requests.post(f"{base_url}/processes/incident-report/execution",
                         json={"inputs": inputs}, timeout=60)


def test_report_of_the_field_town_this_week(base_url: str) -> None:
    hotline(base_url)
    body = run_report(base_url, area=UNIT).json()["value"]
    today = date.today()
    assert body["start"] == date.fromisocalendar(*today.isocalendar()[:2], 1).isoformat()
    assert body["by_state"].get("reported", 0) >= 1
    assert body["by_grid"] == {UNIT: body["reported"]}
    svg = run_report(base_url, area=UNIT, format="svg")
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert "<svg" in svg.text and "事件通报" in svg.text and "上报" in svg.text


@pytest.mark.parametrize("inputs,phrase", [
    ({"week": "2026-48"}, "week must look like"),
    ({"week": "2026-W54"}, "not a week"),
    ({"start": "2026-01-01"}, "must both be dates"),
    ({"start": "2026-02-01", "end": "2026-01-01"}, "on or after start"),
    ({"week": "2026-W01", "start": "2026-01-01", "end": "2026-01-02"}, "either week"),
    ({"area": "999"}, "not a grid code"),
    ({"format": "xls"}, "format must be"),
])
def test_report_bad_inputs(base_url: str, inputs: dict[str, str], phrase: str) -> None:
    response = run_report(base_url, **inputs)
    assert response.status_code == 400, response.text
    assert phrase in response.text
