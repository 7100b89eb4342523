"""Dispatch (分拨/交办) through the API: to a department and/or a named staff member,
co-handling departments from the category, reassignment and sending back with a reason,
each step an event; bad targets are 400s with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import requests

from tests.conftest import EDITOR
from tests.field_town import CATEGORY
from tests.test_incidents import create, patch

TOWN_OFFICE, POLICE_STATION, WORKER = "T977", "T977PS", "T977W1"


@pytest.fixture()
def base_url(field_town) -> str:  # type: ignore[no-untyped-def]
    return str(field_town.base_url)


@pytest.fixture()
def cohandled(field_town) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The field category's cases co-handled by the police station (committed: the server
    must see it), removed afterwards."""
    with psycopg.connect(field_town.url, autocommit=True) as conn:
        conn.execute("INSERT INTO gridgeo.incident_category_cohandlers VALUES (%s, %s)"
                     " ON CONFLICT DO NOTHING", (CATEGORY, POLICE_STATION))
        yield
        conn.execute("DELETE FROM gridgeo.incident_category_cohandlers WHERE category_code = %s",
                     (CATEGORY,))


def accepted(base_url: str) -> Any:
    item = create(base_url)["id"]
    assert patch(base_url, item, state="accepted").status_code == 200
    return item


def events(base_url: str, item: object) -> list[dict[str, Any]]:
    features = requests.get(f"{base_url}/collections/incident_events/items",
                            params={"incident_id": str(item), "limit": "100"}, headers=EDITOR,
                            timeout=30).json()["features"]
    return [f["properties"] for f in features if f["properties"]["kind"] != "state"]


def shown(base_url: str, item: object) -> dict[str, Any]:
    return dict(requests.get(f"{base_url}/collections/incidents/items/{item}", headers=EDITOR,
                             timeout=30).json()["properties"])


@pytest.mark.parametrize("props,sentence", [
    ({"department_code": "NOPE"}, "there is no department 'NOPE'; dispatch to a code"),
    ({"assignee_staff_no": "X0"}, "there is no active staff member 'X0'"),
    ({"department_code": TOWN_OFFICE, "cohandling_departments": ["NOPE"]},
     "cohandling_departments names no department 'NOPE'"),
    ({}, "a dispatch names a department_code, an assignee_staff_no or both."),
])
def test_a_bad_dispatch_is_a_400_and_writes_nothing(base_url: str, props: dict[str, Any],
                                                    sentence: str) -> None:
    item = accepted(base_url)
    response = patch(base_url, item, state="dispatched", **props)
    assert response.status_code == 400, response.text
    assert sentence in response.json()["description"]
    after = shown(base_url, item)
    assert (after["state"], after["department_code"], after["dispatched_at"]) == (
        "accepted", None, None)
    assert events(base_url, item) == []


def test_dispatch_reassign_and_send_back(base_url: str, cohandled: None) -> None:
    item = accepted(base_url)
    response = patch(base_url, item, state="dispatched", department_code=TOWN_OFFICE,
                     assignee_staff_no=WORKER)
    assert response.status_code == 200, response.text
    now = shown(base_url, item)
    assert (now["department_name"], now["assignee_name"], now["cohandling_departments"]) == (
        "田野镇", "田野网格员", [POLICE_STATION])
    # Reassigning needs a reason ...
    response = patch(base_url, item, department_code=POLICE_STATION)
    assert response.status_code == 400
    assert "needs a new dispatch_note saying why" in response.json()["description"]
    assert shown(base_url, item)["department_code"] == TOWN_OFFICE
    response = patch(base_url, item, department_code=POLICE_STATION, assignee_staff_no=None,
                     dispatch_note="涉及治安，改派派出所")
    assert response.status_code == 200, response.text
    # ... and so does sending back (回退).
    assert patch(base_url, item, state="returned").status_code == 400
    assert patch(base_url, item, state="returned",
                 state_note="不属于本部门职责").status_code == 200
    log = events(base_url, item)
    assert [(e["kind"], e["to_state"]) for e in log] == [("dispatch", "dispatched"),
                                                         ("reassign", "dispatched")]
    assert log[0]["detail"] == {"department_code": TOWN_OFFICE, "assignee_staff_no": WORKER,
                                "cohandling_departments": [POLICE_STATION]}
    assert log[1]["detail"]["from_department_code"] == TOWN_OFFICE
    assert log[1]["detail"]["from_assignee_staff_no"] == WORKER
    assert log[1]["detail"]["department_code"] == POLICE_STATION
    assert log[1]["note"] == "涉及治安，改派派出所"
    assert all(e["actor"] == "api-key:gis_editor" for e in log)


def test_a_dispatch_to_a_named_person_alone(base_url: str) -> None:
    item = accepted(base_url)
    response = patch(base_url, item, state="dispatched", assignee_staff_no=WORKER)
    assert response.status_code == 200, response.text
    assert shown(base_url, item)["cohandling_departments"] is None


def test_a_final_incident_is_not_reassigned(field_conn: psycopg.Connection) -> None:
    item = field_conn.execute(
        "INSERT INTO gridgeo.incidents (category_code, title, colour, state, reported_at,"
        " geom) VALUES (%s, 't', 'yellow', 'invalid', now(),"
        " ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490)) RETURNING id", (CATEGORY,)
    ).fetchone()
    assert item is not None
    with pytest.raises(psycopg.Error) as refused:
        field_conn.execute("UPDATE gridgeo.incidents SET department_code = %s,"
                           " dispatch_note = 'x' WHERE id = %s", (TOWN_OFFICE, item[0]))
    assert "a final state: it is not reassigned" in str(refused.value.diag.message_primary)
