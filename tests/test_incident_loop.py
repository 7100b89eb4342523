"""The closed loop (闭环) as a whole, over HTTP: one case through every branch with its
deadlines from the SLA table, the invalid branch, a police case's response time, the
refusals that write nothing, and the state diagram of the docs against the database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from gridgeo_plugins.incidents.workdays import covered_years, sync_calendar

from tests.conftest import EDITOR, ROLE_KEYS
from tests.field_town import CATEGORY, INSPECTOR_NO
from tests.test_incidents import create, patch, staff_token
from tests.test_sla_rules import rules_in_place

WORKER, TOWN_OFFICE, POLICE_STATION = "T977W1", "T977", "T977PS"
POLICE_CATEGORY = "t977_brawl"
VIEWER = {"Authorization": "Bearer " + next(k for k, r in ROLE_KEYS.items() if r == "viewer")}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "field-operations.md"


@pytest.fixture()
def base_url(field_town) -> str:  # type: ignore[no-untyped-def]
    return str(field_town.base_url)


@pytest.fixture()
def category_rule(base_url: str) -> Iterator[None]:
    """The field category's own deadlines (2 hours to accept, 3 days to handle), set
    through the API for the test and the table put back afterwards."""
    with rules_in_place(base_url, {"colour": "yellow", "difficulty": None,
                                   "category_code": CATEGORY, "accept_within": "2 hours",
                                   "handle_within": "3 days"}):
        yield


@pytest.fixture(scope="module")
def police_category(field_town) -> str:  # type: ignore[no-untyped-def]
    """A police matter of the field town (committed: the server must see it; categories
    stay, as the incidents that name them do)."""
    with psycopg.connect(field_town.url, autocommit=True) as conn:
        conn.execute("INSERT INTO gridgeo.incident_categories (code, name_zh, name_en, class,"
                     " police_response_target) VALUES (%s, '田野斗殴', 'field brawl',"
                     " 'street_order', interval '15 minutes') ON CONFLICT (code) DO NOTHING",
                     (POLICE_CATEGORY,))
    return POLICE_CATEGORY


def shown(base_url: str, item: object) -> dict[str, Any]:
    return dict(requests.get(f"{base_url}/collections/incidents/items/{item}", headers=EDITOR,
                             timeout=30).json()["properties"])


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def history(base_url: str, item: object) -> list[tuple[str, str]]:
    features = requests.get(f"{base_url}/collections/incident_events/items",
                            params={"incident_id": str(item), "limit": "100"}, headers=EDITOR,
                            timeout=30).json()["features"]
    events = sorted((f["properties"] for f in features), key=lambda e: e["id"])
    return [(e["kind"], e["to_state"]) for e in events]


def step(base_url: str, item: object, who: dict[str, str] | None = None,
         status: int = 200, **props: object) -> str:
    """One PATCH that must answer ``status``; its sentence when refused."""
    response = patch(base_url, item, None, who, **props)
    assert response.status_code == status, response.text
    return "" if status == 200 else str(response.json()["description"])


def test_a_whole_case_through_every_branch(base_url: str, category_rule: None) -> None:
    item = create(base_url)["id"]
    case = shown(base_url, item)
    # Both clocks come from the category's own rule, not the colour's default.
    assert at(case["accept_deadline_at"]) - at(case["reported_at"]) == timedelta(hours=2)
    assert case["due_at"] == case["accept_deadline_at"] and case["deadline_at"] is None
    step(base_url, item, state="accepted")
    case = shown(base_url, item)
    assert at(case["deadline_at"]) - at(case["accepted_at"]) == timedelta(days=3)
    assert case["due_at"] == case["deadline_at"]
    step(base_url, item, state="dispatched", department_code=TOWN_OFFICE,
         assignee_staff_no=WORKER)
    assert "needs a new dispatch_note" in step(base_url, item, status=400,
                                               department_code=POLICE_STATION)
    step(base_url, item, department_code=POLICE_STATION, dispatch_note="涉及治安，改派派出所")
    step(base_url, item, status=400, state="returned")  # sending back needs a reason
    step(base_url, item, state="returned", state_note="不属于派出所职责")
    step(base_url, item, state="dispatched", department_code=TOWN_OFFICE,
         dispatch_note="退回后改派镇里")
    step(base_url, item, state="in_progress")
    resolver = staff_token(WORKER, "gis_editor")
    step(base_url, item, who=resolver, state="resolved")
    refused = step(base_url, item, who=resolver, status=403, state="verified")
    assert "another person verifies it" in refused
    step(base_url, item, who=staff_token(INSPECTOR_NO, "gis_editor"), state="verified")
    step(base_url, item, state="closed")
    case = shown(base_url, item)
    assert (case["state"], case["resolved_by"], case["verified_by"]) == (
        "closed", WORKER, INSPECTOR_NO)
    assert case["closed_on_time"] is True and case["overdue"] is False
    assert case["due_at"] is None and case["department_code"] == TOWN_OFFICE
    assert history(base_url, item) == [
        ("state", "reported"), ("state", "accepted"), ("dispatch", "dispatched"),
        ("state", "dispatched"), ("reassign", "dispatched"), ("state", "returned"),
        ("dispatch", "dispatched"), ("state", "dispatched"), ("state", "in_progress"),
        ("state", "resolved"), ("state", "verified"), ("state", "closed")]


def test_the_invalid_branch_ends_the_case(base_url: str) -> None:
    item = create(base_url)["id"]
    assert "needs a new state_note" in step(base_url, item, status=400, state="invalid")
    step(base_url, item, state="invalid", state_note="重复上报的照片，现场无垃圾")
    assert "a final state" in step(base_url, item, status=400, state="accepted")
    case = shown(base_url, item)
    assert (case["state"], case["due_at"], case["overdue"]) == ("invalid", None, False)
    assert history(base_url, item) == [("state", "reported"), ("state", "invalid")]


def test_a_police_case_records_its_response_time(base_url: str, police_category: str) -> None:
    item = create(base_url, category_code=police_category, title="村口斗殴")["id"]
    step(base_url, item, state="accepted")
    step(base_url, item, state="dispatched", department_code=POLICE_STATION)
    dispatched = at(shown(base_url, item)["dispatched_at"])
    # On the scene half a minute after the dispatch (a time the command centre enters).
    arrived = (dispatched + timedelta(seconds=30)).isoformat()
    step(base_url, item, arrived_at=arrived)
    case = shown(base_url, item)
    assert (case["police_matter"], case["responded_on_time"]) == (True, True)
    assert float(case["response_minutes"]) == 0.5
    again = (dispatched + timedelta(seconds=40)).isoformat()
    assert "has its arrival recorded already" in step(base_url, item, status=400,
                                                      arrived_at=again)


@pytest.mark.parametrize("who,props,status,sentence", [
    (EDITOR, {"state": "dispatched", "department_code": "NOPE"}, 400,
     "there is no department 'NOPE'"),
    (VIEWER, {"state": "dispatched", "department_code": TOWN_OFFICE}, 403,
     "your role may not write collection incidents"),
    (staff_token(WORKER, "grid_worker"), {"colour": "red", "colour_note": "看着严重"}, 403,
     "your role may not change an incident's colour"),
])
def test_a_refused_step_writes_nothing(base_url: str, who: dict[str, str],
                                       props: dict[str, Any], status: int,
                                       sentence: str) -> None:
    item = create(base_url)["id"]
    step(base_url, item, state="accepted")
    before = shown(base_url, item)
    assert sentence in step(base_url, item, who=who, status=status, **props)
    assert shown(base_url, item) == before
    assert history(base_url, item) == [("state", "reported"), ("state", "accepted")]


# --- the diagram in the docs is the state machine -------------------------------------------

def documented_diagram() -> tuple[set[tuple[str, str]], set[str]]:
    """The transitions and the final states the Mermaid diagram of the docs draws."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"```mermaid\nstateDiagram-v2\n(.*?)```", text, re.S)
    assert block, "docs/field-operations.md has no state diagram"
    arrows = re.findall(r"^\s*(\[\*\]|\w+) --> (\[\*\]|\w+)", block.group(1), re.M)
    moves = {(a, b) for a, b in arrows if "[*]" not in (a, b) and a != b}
    return moves, {a for a, b in arrows if b == "[*]"}


def documented_table() -> set[tuple[str, str]]:
    """The transitions of the 'allowed next states' table of the docs."""
    text = DOCS.read_text(encoding="utf-8")
    table = text[text.index("| from | allowed next states |"):].split("\n\n")[0]
    moves = set()
    for line in table.splitlines()[2:]:
        source, targets = (cell.strip() for cell in line.strip("|").split("|"))
        for target in re.findall(r"^\s*(\w+)", targets.replace(",", "\n"), re.M):
            if target != "none":
                moves.add((source, target))
    return moves


def test_the_docs_draw_the_state_machine(field_conn: psycopg.Connection) -> None:
    legal = set(field_conn.execute(
        "SELECT from_state, to_state FROM gridgeo.incident_transitions").fetchall())
    states = {s for move in legal for s in move}
    final = {s for s in states if field_conn.execute(
        "SELECT gridgeo.incident_state_is_final(%s)", (s,)).fetchone() == (True,)}
    moves, ends = documented_diagram()
    assert moves == legal
    assert ends == final
    assert documented_table() == legal


# --- a case's deadlines across holidays, from the SLA table --------------------------------

CASE_DEADLINES = """
SELECT to_char(accept_deadline_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'),
       to_char(deadline_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')
  FROM gridgeo.incidents_view WHERE id = %s"""


def loaded_case(conn: psycopg.Connection, reported: str, accepted: str) -> int:
    """A case a loader brings in, accepted (trusted: no API caller)."""
    conn.execute("INSERT INTO gridgeo.incident_sla (colour, category_code, accept_within,"
                 " handle_within) VALUES ('yellow', %s, '1 working day', '5 working days')",
                 (CATEGORY,))
    row = conn.execute(
        "INSERT INTO gridgeo.incidents (category_code, title, colour, state, reported_at,"
        " accepted_at, geom) VALUES (%s, 't', 'yellow', 'accepted', %s, %s,"
        " ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490)) RETURNING id",
        (CATEGORY, reported, accepted)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_cases_working_day_deadlines_skip_national_day(field_conn: psycopg.Connection
                                                         ) -> None:
    sync_calendar(field_conn)
    # Reported Monday 30 September 2024 09:00, accepted 10:00: 1-7 October are off and
    # Saturday 12 October is worked in exchange (调休).
    item = loaded_case(field_conn, "2024-09-30T09:00:00+08:00", "2024-09-30T10:00:00+08:00")
    assert field_conn.execute(CASE_DEADLINES, (item,)).fetchone() == (
        "2024-10-08 09:00", "2024-10-12 10:00")


def test_a_cases_deadlines_in_a_year_the_package_does_not_cover(
        field_conn: psycopg.Connection) -> None:
    assert 2031 not in covered_years()
    # Tuesday 30 September 2031; the deployment keeps National Day 1-7 October itself.
    field_conn.execute("INSERT INTO gridgeo.calendar_days (day, working, name) SELECT d, false,"
                       " '国庆' FROM generate_series('2031-10-01'::date, '2031-10-07', '1 day') d"
                       " ON CONFLICT (day) DO UPDATE SET working = false")
    item = loaded_case(field_conn, "2031-09-30T09:00:00+08:00", "2031-09-30T10:00:00+08:00")
    assert field_conn.execute(CASE_DEADLINES, (item,)).fetchone() == (
        "2031-10-08 09:00", "2031-10-14 10:00")
