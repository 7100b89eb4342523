"""The demo town's closed loop is live on its reference day: cases reported every day of
the last two weeks, some near their deadline and some overdue at the reference time, and
the escalation sweep run at load, so overdue cases carry escalations the API can filter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
import requests

from gridgeo.demo.town import REFERENCE
from tests.conftest import EDITOR

# The clocks as they stood at the reference time (every stage time of the demo is before it).
AT_REFERENCE = """
SELECT count(*) FILTER (WHERE %(ref)s >= d.started_at + (d.due_at - d.started_at) * 0.8
                          AND %(ref)s < d.due_at) AS near_due,
       count(*) FILTER (WHERE %(ref)s >= d.due_at) AS overdue
  FROM gridgeo.incidents i,
       gridgeo.incident_due(i.state, i.reported_at, i.accepted_at, i.colour, i.grid_code,
                            i.category_code) d
 WHERE i.reported_at < %(ref)s AND i.state = 'in_progress'"""


def test_the_demo_is_live_on_its_reference_day(conn: psycopg.Connection) -> None:
    days = conn.execute(
        "SELECT count(DISTINCT (reported_at AT TIME ZONE 'Asia/Shanghai')::date)"
        " FROM gridgeo.incidents WHERE reported_at >= %s AND reported_at < %s",
        (REFERENCE - timedelta(days=14), REFERENCE)).fetchone()
    assert days is not None and days[0] >= 12
    clocks = conn.execute(AT_REFERENCE, {"ref": REFERENCE}).fetchone()
    assert clocks is not None
    near_due, overdue = clocks
    assert near_due >= 4 and overdue >= 4
    states = {r[0] for r in conn.execute("SELECT DISTINCT state FROM gridgeo.incidents")}
    assert len(states) == 11
    stored = conn.execute("SELECT value FROM gridgeo.deployment"
                          " WHERE key = 'demo_reference_time'").fetchone()
    assert stored == (REFERENCE.isoformat(),)


def test_the_demo_load_swept_its_overdue_cases(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT e.actor, e.detail->>'level', jsonb_array_length(e.detail->'told') > 0"
        " FROM gridgeo.incident_events e WHERE e.kind = 'escalation'").fetchall()
    assert len(rows) >= 50
    assert {(actor, level) for actor, level, _ in rows} == {("scheduler", "1")}
    assert sum(told for _, _, told in rows) >= len(rows) * 0.9


def items(base_url: str, **params: str) -> dict[str, Any]:
    response = requests.get(f"{base_url}/collections/incidents/items",
                            params={"limit": "10000", **params},
                            headers={**EDITOR, "Accept": "application/geo+json"}, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("name,value", [("escalation_level", "1"), ("overdue", "true")])
def test_the_loops_marks_are_filterable(base_url: str, name: str, value: str) -> None:
    every = items(base_url, properties=name)["features"]
    wanted = sum(str(f["properties"][name]).lower() == value for f in every)
    found = items(base_url, properties=name, **{name: value})
    assert wanted > 0 and found["numberMatched"] == wanted
    assert all(str(f["properties"][name]).lower() == value for f in found["features"])
