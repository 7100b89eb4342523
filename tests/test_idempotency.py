"""Idempotency-Key on every create, through the real server (gunicorn, two workers)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
import requests

from gridgeo.db.pool import connect as maintenance_connect
from tests.conftest import EDITOR, ROLE_KEYS

ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}
# Not the day test_patrol_process counts its stored routes on.
PATROL_DAY = "2026-12-01"
PATROL_VILLAGE = "410399101218"


@pytest.fixture(scope="module")
def place(demo_db_url: str) -> dict[str, Any]:
    """An incident category and a point inside a unit grid of the demo town."""
    with psycopg.connect(demo_db_url) as conn:
        category = conn.execute("SELECT code FROM gridgeo.incident_categories ORDER BY code"
                                " LIMIT 1").fetchone()
        point = conn.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p"
                             " FROM gridgeo.grids WHERE level = 'unit' ORDER BY code LIMIT 1)"
                             " s").fetchone()
    assert category is not None and point is not None
    return {"category": category[0], "lon": point[0], "lat": point[1]}


def _incident(place: dict[str, Any], title: str) -> dict[str, Any]:
    return {"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [place["lon"], place["lat"]]},
            "properties": {"category_code": place["category"], "title": title,
                           "source": "grid_worker"}}


def _post_incident(base_url: str, body: dict[str, Any], key: str | None,
                   headers: dict[str, str] = EDITOR) -> requests.Response:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return requests.post(f"{base_url}/collections/incidents/items", json=body,
                         headers={**headers, **extra}, timeout=30)


def _count(url: str, query: str, *params: object) -> int:
    with maintenance_connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def test_a_burst_of_retries_creates_one_incident(base_url: str, demo_db_url: str,
                                                 place: dict[str, Any]) -> None:
    title = f"idempotent burst {uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())
    body = _incident(place, title)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: _post_incident(base_url, body, key), range(8)))
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    created = [a for a in answers if a.status_code == 201]
    assert created, [a.text for a in answers]
    assert all("in progress" in a.json()["description"] for a in answers
               if a.status_code == 409)
    # Every 201 is the same answer: one item, one Location, one ETag.
    assert len({a.headers["Location"] for a in created}) == 1
    assert len({a.headers["ETag"] for a in created}) == 1
    assert len({a.json()["properties"]["case_no"] for a in created}) == 1
    assert _count(demo_db_url, "SELECT count(*) FROM gridgeo.incidents WHERE title = %s",
                  title) == 1
    # A later retry gets the first answer again, marked as a replay.
    again = _post_incident(base_url, body, key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == created[0].headers["Location"]
    assert again.headers["ETag"] == created[0].headers["ETag"]
    assert again.json() == created[0].json()
    assert _count(demo_db_url, "SELECT count(*) FROM gridgeo.incidents WHERE title = %s",
                  title) == 1


def test_a_key_is_one_request_and_one_callers(base_url: str, demo_db_url: str,
                                             place: dict[str, Any]) -> None:
    key = str(uuid.uuid4())
    first = _post_incident(base_url, _incident(place, f"key owner {key[:8]}"), key)
    assert first.status_code == 201, first.text
    other = _post_incident(base_url, _incident(place, f"another body {key[:8]}"), key)
    assert other.status_code == 422
    assert "used for another request" in other.json()["description"]
    # Another caller's key of the same name is its own.
    theirs = _post_incident(base_url, _incident(place, f"another caller {key[:8]}"), key,
                            headers=ADMIN)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.headers["Location"] != first.headers["Location"]
    # Without a key every POST is a new item, as before.
    plain = [_post_incident(base_url, _incident(place, f"no key {key[:8]}"), None)
             for _ in range(2)]
    assert [p.status_code for p in plain] == [201, 201]
    assert _count(demo_db_url, "SELECT count(*) FROM gridgeo.incidents WHERE title = %s",
                  f"no key {key[:8]}") == 2
    with psycopg.connect(demo_db_url) as conn:
        rows = conn.execute("SELECT caller, status, created IS NOT NULL FROM"
                            " gridgeo.idempotency_keys WHERE key = %s ORDER BY caller",
                            (key,)).fetchall()
    assert rows == [("api-key:admin", 201, True), ("api-key:gis_editor", 201, True)]


@pytest.mark.parametrize(("key", "says"), [
    ("k" * 256, "1 to 255 characters"),
    ("tab\there", "control characters"),
    ("", "1 to 255 characters"),
])
def test_a_key_that_cannot_be_one_is_a_400(base_url: str, demo_db_url: str,
                                           place: dict[str, Any], key: str, says: str) -> None:
    title = f"bad key {uuid.uuid4().hex[:8]}"
    answer = _post_incident(base_url, _incident(place, title), key)
    assert answer.status_code == 400 and says in answer.json()["description"]
    assert _count(demo_db_url, "SELECT count(*) FROM gridgeo.incidents WHERE title = %s",
                  title) == 0


def test_a_refused_create_keeps_its_key_free(base_url: str, demo_db_url: str,
                                             place: dict[str, Any]) -> None:
    key = str(uuid.uuid4())
    bad = _incident(place, "no such category")
    bad["properties"]["category_code"] = "no_such_category"
    assert _post_incident(base_url, bad, key).status_code == 400
    assert _count(demo_db_url, "SELECT count(*) FROM gridgeo.idempotency_keys WHERE key = %s",
                  key) == 0


def test_an_expired_key_is_purged_and_free_again(base_url: str, demo_db_url: str,
                                                 place: dict[str, Any]) -> None:
    key = str(uuid.uuid4())
    title = f"expiring {key[:8]}"
    assert _post_incident(base_url, _incident(place, title), key).status_code == 201
    with psycopg.connect(demo_db_url) as conn:  # as if it were made two days ago
        conn.execute("UPDATE gridgeo.idempotency_keys SET created = now() - interval '2 days'"
                     " WHERE key = %s", (key,))
    again = _post_incident(base_url, _incident(place, title), key)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert _count(demo_db_url, "SELECT count(*) FROM gridgeo.incidents WHERE title = %s",
                  title) == 2
    assert _count(demo_db_url, "SELECT count(*) FROM gridgeo.idempotency_keys WHERE created"
                  " < now() - interval '1 day'") == 0


def test_an_open311_request_is_made_once(base_url: str, demo_db_url: str,
                                         place: dict[str, Any]) -> None:
    description = f"hotline retry {uuid.uuid4().hex[:8]}"
    form = {"service_code": place["category"], "lat": str(place["lat"]),
            "long": str(place["lon"]), "description": description}
    headers = {**EDITOR, "Idempotency-Key": str(uuid.uuid4())}
    answers = [requests.post(f"{base_url}/open311/v2/requests.json", data=form,
                             headers=headers, timeout=30) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201], answers[0].text
    assert answers[0].json() == answers[1].json()
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    assert _count(demo_db_url, "SELECT count(*) FROM gridgeo.incidents WHERE description = %s",
                  description) == 1
    changed = requests.post(f"{base_url}/open311/v2/requests.json",
                            data={**form, "description": "something else"}, headers=headers,
                            timeout=30)
    assert changed.status_code == 422


def test_a_process_that_stores_stores_once(base_url: str, demo_db_url: str) -> None:
    inputs = {"inputs": {"area": {"grids": [PATROL_VILLAGE]}, "targets": ["sealed_adits"],
                         "date": PATROL_DAY, "patrols": 1, "time_limit_s": 1, "store": True}}
    headers = {**EDITOR, "Idempotency-Key": str(uuid.uuid4())}
    answers = [requests.post(f"{base_url}/processes/patrol-route/execution", json=inputs,
                             headers=headers, timeout=60) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    first, second = (a.json() for a in answers)
    assert first == second and first["stored"] is True
    numbers = {f["properties"]["route_no"] for f in first["features"]
               if f["geometry"]["type"] == "LineString"}
    assert numbers
    assert _count(demo_db_url, "SELECT count(*) FROM gridgeo.patrol_routes"
                  " WHERE patrol_date = %s", PATROL_DAY) == len(numbers)


def test_an_async_execution_queues_one_job(base_url: str, demo_db_url: str) -> None:
    headers = {**EDITOR, "Prefer": "respond-async", "Idempotency-Key": str(uuid.uuid4())}
    answers = [requests.post(f"{base_url}/processes/grid-topology/execution",
                             json={"inputs": {"level": "town"}}, headers=headers, timeout=60)
               for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201], answers[0].text
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert answers[0].json()["jobID"] == answers[1].json()["jobID"]
    assert _count(demo_db_url, "SELECT count(*) FROM gridgeo.jobs WHERE job_id::text = %s",
                  answers[0].json()["jobID"]) == 1


def test_a_scan_with_a_key_is_answered_as_the_first_time(request: pytest.FixtureRequest) -> None:
    """A scan's scan_uuid already makes a replay harmless (200, duplicate); with an
    Idempotency-Key the retry gets the first answer itself, as every create does."""
    from tests.test_scans import greenhouse_scan

    town = request.getfixturevalue("field_town")
    body = greenhouse_scan(250)
    headers = {**EDITOR, "Idempotency-Key": body["scan_uuid"]}
    answers = [requests.post(f"{town.base_url}/scans", json=body, headers=headers, timeout=30)
               for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201], answers[0].text
    assert answers[0].json() == answers[1].json() and answers[0].json()["status"] == "created"
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    without_key = requests.post(f"{town.base_url}/scans", json=body, headers=EDITOR, timeout=30)
    assert without_key.status_code == 200 and without_key.json()["status"] == "duplicate"
    assert _count(town.url, "SELECT count(*) FROM gridgeo.inspections WHERE scan_uuid = %s",
                  body["scan_uuid"]) == 1
