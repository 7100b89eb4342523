"""Incidents: the state machine in the database, its audit log, deadlines and case numbers."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import requests

from gridgeo.db.pool import connect as maintenance_connect
from tests.conftest import EDITOR
from tests.field_town import CATEGORY, INSPECTOR_NO, POLICE_GRID, UNIT, WORKER_NAME

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The closed loop; anything not listed here must be refused.
LEGAL = {
    ("reported", "accepted"), ("reported", "invalid"), ("reported", "duplicate"),
    ("accepted", "dispatched"),
    ("dispatched", "in_progress"), ("dispatched", "returned"),
    ("returned", "dispatched"), ("returned", "invalid"),
    ("in_progress", "resolved"), ("in_progress", "returned"),
    ("resolved", "verified"), ("resolved", "reopened"),
    ("reopened", "in_progress"), ("reopened", "dispatched"),
    ("verified", "closed"),
}
STATES = ["reported", "accepted", "invalid", "duplicate", "dispatched", "in_progress",
          "resolved", "verified", "closed", "returned", "reopened"]
NOTE_NEEDED = {"invalid", "duplicate", "returned", "reopened"}


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


def incident(**props: object) -> dict[str, object]:
    return {"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [111.5121, 33.5101]},
            "properties": {"category_code": CATEGORY, "title": "路边垃圾堆积",
                           "source": "grid_worker", **props}}


def create(base_url: str, **props: object) -> dict[str, Any]:
    response = requests.post(f"{base_url}/collections/incidents/items", json=incident(**props),
                             headers=EDITOR, timeout=30)
    assert response.status_code == 201, response.text
    return dict(response.json()["properties"], id=response.json()["id"])


def etag(base_url: str, item: object) -> str:
    """The item's ETag as read now: incidents are changed only with If-Match."""
    return str(requests.get(f"{base_url}/collections/incidents/items/{item}", headers=EDITOR,
                            timeout=30).headers["ETag"])


def patch(base_url: str, item: object, if_match: str | None = None,
          who: dict[str, str] | None = None, **props: object) -> requests.Response:
    """PATCH as ``who`` (the editor's API key unless given)."""
    headers = {**(who or EDITOR), "If-Match": if_match or etag(base_url, item)}
    return requests.patch(f"{base_url}/collections/incidents/items/{item}",
                          json={"properties": props}, headers=headers, timeout=30)


def staff_token(staff_no: str, *roles: str) -> dict[str, str]:
    """Bearer headers of a staff member's own token (subject = staff number)."""
    import time

    import jwt

    from tests.conftest import JWT_AUDIENCE, JWT_ISSUER, JWT_KID, jwt_private_key

    now = int(time.time())
    body = {"sub": staff_no, "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "iat": now,
            "exp": now + 600, "realm_access": {"roles": list(roles)}}
    signed = jwt.encode(body, jwt_private_key(), algorithm="ES256", headers={"kid": JWT_KID})
    return {"Authorization": f"Bearer {signed}"}


def insert_in_state(conn: psycopg.Connection, state: str, accepted_at: str | None = None,
                    colour: str = "yellow") -> int:
    """An incident loaded directly in ``state`` (a loader may; the API may not)."""
    row = conn.execute(
        "INSERT INTO gridgeo.incidents (category_code, title, colour, state, reported_at,"
        " accepted_at, closed_at, geom) VALUES (%s, 't', %s, %s,"
        " coalesce(%s::timestamptz, now()) - interval '1 hour', %s::timestamptz,"
        " CASE WHEN %s = 'closed' THEN now() END,"
        " ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490)) RETURNING id",
        (CATEGORY, colour, state, accepted_at, accepted_at, state)).fetchone()
    assert row is not None
    return int(row[0])


# --- every transition, in the database ---------------------------------------------------

def test_every_transition_legal_and_illegal(conn: psycopg.Connection) -> None:
    outcomes = {}
    for source in STATES:
        for target in STATES:
            if source == target:
                continue
            conn.execute("SAVEPOINT t")
            item = insert_in_state(conn, source, "2026-01-01T00:00:00+08:00")
            try:
                conn.execute("UPDATE gridgeo.incidents SET state = %s, state_note = 'why'"
                             " WHERE id = %s", (target, item))
                outcomes[source, target] = True
            except psycopg.Error as exc:
                assert exc.sqlstate == "GG400"
                outcomes[source, target] = False
                message = exc.diag.message_primary or ""
                allowed = sorted(t for s, t in LEGAL if s == source)
                if allowed:
                    assert f"allowed next states: {', '.join(allowed)}." in message
                else:
                    assert "final state" in message
            conn.execute("ROLLBACK TO SAVEPOINT t")
    assert {pair for pair, ok in outcomes.items() if ok} == LEGAL


def test_times_are_set_by_the_transition_not_by_the_writer(
        conn: psycopg.Connection) -> None:
    item = insert_in_state(conn, "reported")
    conn.execute("UPDATE gridgeo.incidents SET state = 'accepted',"
                 " accepted_at = '2020-01-01' WHERE id = %s", (item,))
    accepted = conn.execute("SELECT accepted_at, state_changed_at FROM gridgeo.incidents"
                            " WHERE id = %s", (item,)).fetchone()
    assert accepted is not None and accepted[0].year >= 2026 and accepted[0] == accepted[1]
    conn.execute("UPDATE gridgeo.incidents SET accepted_at = '2020-01-01' WHERE id = %s",
                 (item,))
    again = conn.execute("SELECT accepted_at FROM gridgeo.incidents WHERE id = %s",
                         (item,)).fetchone()
    assert again is not None and again[0] == accepted[0]


def test_incidents_are_never_deleted_in_the_database(
        conn: psycopg.Connection) -> None:
    item = insert_in_state(conn, "reported")
    with pytest.raises(psycopg.Error, match="never deleted"):
        conn.execute("DELETE FROM gridgeo.incidents WHERE id = %s", (item,))


# --- through the API -------------------------------------------------------------------------

def test_create_fills_in_case_number_places_and_worker(base_url: str) -> None:
    created = create(base_url, reporter_name="张三", reporter_phone="13900000000")
    today = datetime.now(SHANGHAI).strftime("%Y%m%d")
    assert str(created["case_no"]).startswith(f"410399{today}")
    assert len(str(created["case_no"])) == 18
    assert created["state"] == "reported"
    assert created["grid_code"] == UNIT
    assert created["police_grid_code"] == POLICE_GRID
    assert created["grid_worker_name"] == WORKER_NAME
    assert created["address_text"].endswith("田园路2号")  # 111.512 is the nearest door
    anonymous = requests.get(f"{base_url}/collections/incidents/items/{created['id']}",
                             headers={"Accept": "application/geo+json"}, timeout=30).json()
    assert "reporter_name" not in anonymous["properties"]
    # the public view names no actor and no door (docs/security.md)
    assert anonymous["properties"]["grid_worker_name"] is None
    assert anonymous["properties"]["address_text"] is None


def test_a_new_incident_starts_reported(base_url: str,
                                        conn: psycopg.Connection) -> None:
    before = conn.execute("SELECT count(*) FROM gridgeo.incidents").fetchone()
    response = requests.post(f"{base_url}/collections/incidents/items",
                             json=incident(state="closed"), headers=EDITOR, timeout=30)
    assert response.status_code == 400
    assert "starts in state reported" in response.json()["description"]
    response = requests.post(f"{base_url}/collections/incidents/items",
                             json=incident(accepted_at="2026-01-01T00:00:00Z"), headers=EDITOR,
                             timeout=30)
    assert response.status_code == 400 and "set by the server" in response.text
    assert conn.execute("SELECT count(*) FROM gridgeo.incidents").fetchone() == before


def test_the_whole_loop_with_returned_and_reopened_is_logged(
        base_url: str) -> None:
    item = create(base_url)["id"]
    path = [("accepted", None), ("dispatched", None), ("returned", "不属于本部门"),
            ("dispatched", "改派城管"), ("in_progress", None), ("resolved", None),
            ("reopened", "核查未通过"), ("in_progress", None), ("resolved", "已清运"),
            ("verified", None), ("closed", "结案")]
    for state, note in path:
        props = {"state": state, **({"state_note": note} if note else {})}
        if state == "dispatched":
            props["department_code"] = "T977"  # a dispatch names a department
        # A person verifies, not the editors' shared key that resolved (separation of duties).
        who = staff_token(INSPECTOR_NO, "gis_editor") if state == "verified" else None
        response = patch(base_url, item, who=who, **props)
        assert response.status_code == 200, response.text
        assert response.json()["properties"]["state"] == state
    done = requests.get(f"{base_url}/collections/incidents/items/{item}", headers=EDITOR,
                        timeout=30).json()["properties"]
    for name in ("accepted_at", "dispatched_at", "resolved_at", "closed_at", "deadline_at"):
        assert done[name], name
    assert done["closed_on_time"] is True and done["overdue"] is False
    events = requests.get(f"{base_url}/collections/incident_events/items",
                          params={"incident_id": item, "limit": 100}, headers=EDITOR,
                          timeout=30).json()["features"]
    events = [e for e in events if e["properties"]["kind"] == "state"]
    steps = [(e["properties"]["from_state"], e["properties"]["to_state"]) for e in events]
    assert steps == list(zip([None, "reported", *[s for s, _ in path][:-1]],
                             ["reported", *[s for s, _ in path]], strict=True))
    assert {e["properties"]["actor"] for e in events} == {"api-key:gis_editor", INSPECTOR_NO}
    assert (done["resolved_by"], done["verified_by"]) == ("api-key:gis_editor", INSPECTOR_NO)
    assert [e["properties"]["note"] for e in events][3] == "不属于本部门"
    anonymous = requests.get(f"{base_url}/collections/incident_events/items",
                             params={"incident_id": item}, timeout=30,
                             headers={"Accept": "application/geo+json"})
    assert anonymous.status_code == 404  # who moved a case is for staff


def test_an_illegal_change_is_a_400_naming_the_allowed_states(
        base_url: str) -> None:
    item = create(base_url)["id"]
    response = patch(base_url, item, state="closed")
    assert response.status_code == 400
    assert response.json()["description"].endswith(
        "cannot go from reported to closed; allowed next states: accepted, duplicate, invalid.")
    response = patch(base_url, item, state="invalid")
    assert response.status_code == 400 and "needs a new state_note" in response.text
    assert patch(base_url, item, state="invalid", state_note="重复上报").status_code == 200
    response = patch(base_url, item, state="accepted")
    assert response.status_code == 400 and "final state" in response.text
    response = patch(base_url, item, state="lost")
    assert response.status_code == 400 and "must be one of" in response.text


def test_delete_is_a_405(base_url: str) -> None:
    item = create(base_url)["id"]
    response = requests.delete(f"{base_url}/collections/incidents/items/{item}",
                               headers=EDITOR, timeout=30)
    assert response.status_code == 405
    assert requests.get(f"{base_url}/collections/incidents/items/{item}",
                        timeout=30).status_code == 200


def test_a_stale_if_match_is_a_412(base_url: str) -> None:
    item = create(base_url)["id"]
    tag = requests.get(f"{base_url}/collections/incidents/items/{item}",
                       timeout=30).headers["ETag"]
    assert patch(base_url, item, tag, state="accepted").status_code == 200
    response = patch(base_url, item, tag, state="dispatched")
    assert response.status_code == 412


def test_racing_changes_from_one_version_one_wins_the_other_gets_a_412(
        base_url: str, field_url: str) -> None:
    item = create(base_url)["id"]
    tag = etag(base_url, item)
    results: dict[str, int] = {}
    # Hold the row so both requests are inside their transactions before either writes.
    with maintenance_connect(field_url) as holder:
        holder.execute("SELECT 1 FROM gridgeo.incidents WHERE id = %s FOR UPDATE", (item,))

        def change(state: str, note: str | None) -> None:
            answer = (patch(base_url, item, tag, state=state, state_note=note) if note
                      else patch(base_url, item, tag, state=state))
            results[state] = answer.status_code

        threads = [threading.Thread(target=change, args=("accepted", None)),
                   threading.Thread(target=change, args=("duplicate", "与上一件重复"))]
        for thread in threads:
            thread.start()
        _wait_for_waiters(holder, 2)
        holder.commit()
        for thread in threads:
            thread.join(30)
    assert sorted(results.values()) == [200, 412], results
    winner = next(s for s, code in results.items() if code == 200)
    body = requests.get(f"{base_url}/collections/incidents/items/{item}", timeout=30).json()
    assert body["properties"]["state"] == winner


def _wait_for_waiters(conn: psycopg.Connection, count: int) -> None:
    import time

    with psycopg.connect(conn.info.dsn, password=conn.info.password, autocommit=True) as probe:
        for _ in range(200):
            waiting = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'").fetchone()
            if waiting and waiting[0] >= count:
                return
            time.sleep(0.05)
    raise AssertionError("the racing requests never reached the database")


def test_concurrent_inserts_get_distinct_case_numbers(
        field_url: str) -> None:
    numbers: list[str] = []
    barrier = threading.Barrier(8)

    def insert() -> None:
        with maintenance_connect(field_url) as connection:
            barrier.wait()
            row = connection.execute(
                "INSERT INTO gridgeo.incidents (category_code, title, geom) VALUES"
                " (%s, 'concurrent', ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490))"
                " RETURNING case_no", (CATEGORY,)).fetchone()
            assert row is not None
            numbers.append(row[0])

    threads = [threading.Thread(target=insert) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(numbers) == 8 and len(set(numbers)) == 8
    sequence = sorted(int(n[-4:]) for n in numbers)
    assert sequence == list(range(sequence[0], sequence[0] + 8))


# --- deadlines and overdue -------------------------------------------------------------------

@pytest.mark.parametrize("accepted,colour,deadline", [
    # Shanghai wall clock: 31 January 01:00 + 1 month = 28 February 01:00 (UTC would give 28th
    # 17:00Z, a day later than the town's deadline).
    ("2026-01-30T17:00:00Z", "red", "2026-02-27T17:00:00Z"),
    ("2024-01-30T17:00:00Z", "red", "2024-02-28T17:00:00Z"),  # leap year: 29 February
    ("2026-03-31T10:00:00+08:00", "red", "2026-04-30T10:00:00+08:00"),
    ("2026-12-31T23:30:00+08:00", "yellow", "2027-01-01T23:30:00+08:00"),
    ("2026-02-25T08:00:00+08:00", "orange", "2026-03-04T08:00:00+08:00"),
])
def test_deadlines_count_in_shanghai_time(conn: psycopg.Connection,
                                          accepted: str, colour: str, deadline: str) -> None:
    conn.execute("SET TIME ZONE 'UTC'")  # the answer must not depend on the session's zone
    row = conn.execute("SELECT gridgeo.incident_deadline(%s, %s) = %s::timestamptz",
                       (accepted, colour, deadline)).fetchone()
    assert row == (True,)


@pytest.mark.parametrize("seconds,overdue", [(-1, True), (1, False)])
@pytest.mark.parametrize("colour,span", [("yellow", "1 day"), ("orange", "7 days"),
                                         ("red", "1 month")])
def test_overdue_around_the_deadline(conn: psycopg.Connection, colour: str,
                                     span: str, seconds: int, overdue: bool) -> None:
    accepted = conn.execute(
        "SELECT ((now() AT TIME ZONE 'Asia/Shanghai' - %s::interval) AT TIME ZONE"
        " 'Asia/Shanghai') + make_interval(secs => %s)", (span, seconds)).fetchone()
    assert accepted is not None
    item = insert_in_state(conn, "in_progress", accepted[0].isoformat(), colour)
    row = conn.execute("SELECT overdue FROM gridgeo.incidents_view WHERE id = %s",
                       (item,)).fetchone()
    assert row == (overdue,)


def test_final_and_unaccepted_incidents_are_never_overdue(
        conn: psycopg.Connection) -> None:
    old = "2025-01-01T00:00:00+08:00"
    ids = [insert_in_state(conn, "reported"), insert_in_state(conn, "invalid", old),
           insert_in_state(conn, "closed", old), insert_in_state(conn, "dispatched", old)]
    rows = conn.execute("SELECT id, overdue FROM gridgeo.incidents_view WHERE id = ANY(%s)"
                        " ORDER BY id", (ids,)).fetchall()
    assert [r[1] for r in rows] == [False, False, False, True]


@pytest.mark.parametrize("accepted_ago,on_time", [("2 days", False), ("1 hour", True)])
def test_closure_on_time_is_recorded_when_closing(
        conn: psycopg.Connection, accepted_ago: str, on_time: bool) -> None:
    accepted = conn.execute(f"SELECT now() - interval '{accepted_ago}'").fetchone()
    assert accepted is not None
    item = insert_in_state(conn, "verified", accepted[0].isoformat())
    conn.execute("UPDATE gridgeo.incidents SET state = 'closed' WHERE id = %s", (item,))
    row = conn.execute("SELECT i.closed_on_time, v.closed_on_time FROM gridgeo.incidents i"
                       " JOIN gridgeo.incidents_view v USING (id) WHERE id = %s",
                       (item,)).fetchone()
    assert row == (on_time, on_time)


def test_overdue_is_filterable(base_url: str, conn: psycopg.Connection) -> None:
    response = requests.get(f"{base_url}/collections/incidents/items",
                            params={"overdue": "true", "limit": "1000"},
                            headers={"Accept": "application/geo+json"}, timeout=30)
    assert response.status_code == 200
    expected = conn.execute("SELECT count(*) FROM gridgeo.incidents_view WHERE overdue"
                            ).fetchone()
    assert expected is not None
    assert response.json()["numberMatched"] == expected[0]
    assert all(f["properties"]["overdue"] for f in response.json()["features"])


def test_the_police_grid_comes_from_the_crosswalk_when_there_is_one(
        conn: psycopg.Connection) -> None:
    conn.execute(
        "INSERT INTO gridgeo.police_grids (code, name, station_code, geom) VALUES"
        " ('410399J77002', '田野二警格', 'T977PS', ST_GeomFromText("
        "'MULTIPOLYGON(((111.60 33.60, 111.61 33.60, 111.61 33.61, 111.60 33.60)))', 4490))")
    conn.execute(
        "INSERT INTO gridgeo.grid_police_crosswalk (id, grid_code, grid_level, police_grid_code,"
        " area_m2, grid_share, police_grid_share, dominant, sliver, geom) VALUES"
        " (%(unit)s || '~410399J77002', %(unit)s, 'unit', '410399J77002', 1, 1, 1, true, false,"
        " ST_GeomFromText('MULTIPOLYGON(((111.60 33.60, 111.61 33.60, 111.61 33.61,"
        " 111.60 33.60)))', 4490))", {"unit": UNIT})
    item = insert_in_state(conn, "reported")
    row = conn.execute("SELECT police_grid_code FROM gridgeo.incidents WHERE id = %s",
                       (item,)).fetchone()
    assert row == ("410399J77002",)


def test_put_keeps_the_case_number_and_state(base_url: str) -> None:
    created = create(base_url)
    item = created["id"]
    assert patch(base_url, item, state="accepted").status_code == 200
    replaced = requests.put(f"{base_url}/collections/incidents/items/{item}",
                            json=incident(title="改了标题"),
                            headers={**EDITOR, "If-Match": etag(base_url, item)}, timeout=30)
    assert replaced.status_code == 200, replaced.text
    props = replaced.json()["properties"]
    assert (props["case_no"], props["state"], props["title"]) == (
        created["case_no"], "accepted", "改了标题")
    assert props["accepted_at"] is not None
    renumbered = requests.put(f"{base_url}/collections/incidents/items/{item}",
                              json=incident(case_no="410399202601010001"),
                              headers={**EDITOR, "If-Match": replaced.headers["ETag"]},
                              timeout=30)
    assert renumbered.status_code == 400
    assert "'case_no' is set by the server" in renumbered.json()["description"]
