"""Deadlines from the moment of reporting: the SLA table (colour x grid difficulty x
category), working days with Chinese public holidays, overdue before acceptance, and the
colour derived from category and grid, changed only by an authorised role with a reason."""

from __future__ import annotations

import logging

import psycopg
import pytest
import requests
from gridgeo_plugins.incidents.workdays import covered_years, sync_calendar, warn_if_uncovered

from tests.conftest import ROLE_KEYS
from tests.field_town import CATEGORY, UNIT
from tests.test_incidents import create, etag, patch

VIEWER = {"X-API-Key": next(k for k, r in ROLE_KEYS.items() if r == "viewer")}


@pytest.fixture()
def conn(field_conn: psycopg.Connection) -> psycopg.Connection:
    return field_conn


@pytest.fixture()
def base_url(field_town) -> str:  # type: ignore[no-untyped-def]
    return str(field_town.base_url)


def deadline(conn: psycopg.Connection, start: str, rule: str) -> str:
    row = conn.execute("SELECT to_char(gridgeo.sla_deadline(%s, %s) AT TIME ZONE"
                       " 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')", (start, rule)).fetchone()
    assert row is not None
    return str(row[0])


def report(conn: psycopg.Connection, ago: str, colour: str | None = "yellow",
           category: str = CATEGORY) -> int:
    """An unaccepted incident in the field town's grid, reported ``ago``."""
    row = conn.execute(
        "INSERT INTO gridgeo.incidents (category_code, title, colour, reported_at, geom)"
        " VALUES (%s, 't', coalesce(%s, gridgeo.incident_colour_to_derive()),"
        " now() - %s::interval, ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490))"
        " RETURNING id", (category, colour, ago)).fetchone()
    assert row is not None
    return int(row[0])


def view(conn: psycopg.Connection, item: int, *columns: str) -> tuple[object, ...]:
    row = conn.execute(f"SELECT {', '.join(columns)} FROM gridgeo.incidents_view"
                       " WHERE id = %s", (item,)).fetchone()
    assert row is not None
    return tuple(row)


# --- working days --------------------------------------------------------------------------

def test_working_days_skip_a_public_holiday_and_count_an_adjusted_weekend(
        conn: psycopg.Connection) -> None:
    sync_calendar(conn)
    # National Day 2024: 1-7 October off; Saturday 12 October worked in exchange.
    assert deadline(conn, "2024-09-30T10:00:00+08:00", "5 working days") == "2024-10-12 10:00"
    # Calendar time runs through the holiday.
    assert deadline(conn, "2024-09-30T10:00:00+08:00", "5 days") == "2024-10-05 10:00"
    # Without the calendar, Monday to Friday only: 1-4 and 7 October.
    conn.execute("DELETE FROM gridgeo.calendar_days")
    assert deadline(conn, "2024-09-30T10:00:00+08:00", "5 working days") == "2024-10-07 10:00"


def test_a_year_the_package_does_not_cover_counts_the_deployments_holidays(
        conn: psycopg.Connection, caplog: pytest.LogCaptureFixture) -> None:
    assert 2003 not in covered_years()
    sync_calendar(conn)
    # Tuesday 30 September 2003: Monday to Friday gives Thursday 2 October ...
    assert deadline(conn, "2003-09-30T10:00:00+08:00", "2 working days") == "2003-10-02 10:00"
    # ... and the deployment's own holidays (1-3 October, Wednesday to Friday) move it on.
    conn.execute("INSERT INTO gridgeo.calendar_days (day, working, name) SELECT d, false, '国庆'"
                 " FROM generate_series('2003-10-01'::date, '2003-10-03', '1 day') d")
    assert deadline(conn, "2003-09-30T10:00:00+08:00", "2 working days") == "2003-10-07 10:00"
    with caplog.at_level(logging.WARNING):
        assert warn_if_uncovered(conn, 2003)
    assert "does not cover 2003" in caplog.text and "the 3 day(s)" in caplog.text
    assert not warn_if_uncovered(conn, 2024)


def test_a_deadline_rule_that_does_not_parse_is_refused(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.Error) as refused:
        conn.execute("INSERT INTO gridgeo.incident_sla (colour, category_code, accept_within,"
                     " handle_within) VALUES ('yellow', %s, '2 fortnights', '1 day')",
                     (CATEGORY,))
    assert refused.value.sqlstate == "GG400"
    assert "'2 fortnights' does not parse" in str(refused.value.diag.message_primary)
    conn.rollback()
    rows = conn.execute("SELECT count(*) FROM gridgeo.incident_sla WHERE category_code = %s",
                        (CATEGORY,)).fetchone()
    assert rows == (0,)


# --- the SLA table -------------------------------------------------------------------------

def test_the_most_specific_rule_sets_both_deadlines(conn: psycopg.Connection) -> None:
    item = report(conn, "1 hour")
    conn.execute("UPDATE gridgeo.incidents SET state = 'accepted' WHERE id = %s", (item,))
    spans = ("SELECT accept_deadline_at - reported_at, deadline_at - accepted_at"
             " FROM gridgeo.incidents_view WHERE id = %s")
    assert str(conn.execute(spans, (item,)).fetchone()) == (
        "(datetime.timedelta(seconds=14400), datetime.timedelta(days=1))")
    conn.execute("UPDATE gridgeo.grids SET difficulty = 'C' WHERE code = %s", (UNIT,))
    assert str(conn.execute(spans, (item,)).fetchone()) == (
        "(datetime.timedelta(seconds=14400), datetime.timedelta(days=2))")
    conn.execute("INSERT INTO gridgeo.incident_sla (colour, category_code, accept_within,"
                 " handle_within) VALUES ('yellow', %s, '1 hour', '3 days')", (CATEGORY,))
    assert str(conn.execute(spans, (item,)).fetchone()) == (
        "(datetime.timedelta(seconds=3600), datetime.timedelta(days=3))")


# --- overdue before acceptance -------------------------------------------------------------

@pytest.mark.parametrize("ago,near_due,overdue", [
    ("1 hour", False, False), ("3 hours 30 minutes", True, False), ("5 hours", False, True)])
def test_an_unaccepted_incident_runs_on_the_acceptance_clock(
        conn: psycopg.Connection, ago: str, near_due: bool, overdue: bool) -> None:
    item = report(conn, ago)  # yellow: accepted within 4 hours, warned after 80 %
    assert view(conn, item, "near_due", "overdue") == (near_due, overdue)
    assert view(conn, item, "due_at = accept_deadline_at") == (True,)


def test_acceptance_stops_the_acceptance_clock(conn: psycopg.Connection) -> None:
    item = report(conn, "5 hours")
    conn.execute("UPDATE gridgeo.incidents SET state = 'accepted' WHERE id = %s", (item,))
    assert view(conn, item, "overdue", "due_at = deadline_at") == (False, True)
    ruled_out = report(conn, "5 hours")
    conn.execute("UPDATE gridgeo.incidents SET state = 'invalid', state_note = 'x'"
                 " WHERE id = %s", (ruled_out,))
    assert view(conn, ruled_out, "overdue", "due_at") == (False, None)


# --- colour --------------------------------------------------------------------------------

def test_colour_left_out_comes_from_the_category_and_the_grid(conn: psycopg.Connection) -> None:
    conn.execute("UPDATE gridgeo.incident_categories SET default_colour = 'orange'"
                 " WHERE code = %s", (CATEGORY,))
    assert view(conn, report(conn, "1 minute", None), "colour") == ("orange",)
    conn.execute("UPDATE gridgeo.grids SET difficulty = 'C' WHERE code = %s", (UNIT,))
    assert view(conn, report(conn, "1 minute", None), "colour") == ("red",)
    # Red is the top: a C grid cannot raise it further.
    conn.execute("UPDATE gridgeo.incident_categories SET default_colour = 'red'"
                 " WHERE code = %s", (CATEGORY,))
    assert view(conn, report(conn, "1 minute", None), "colour") == ("red",)
    assert view(conn, report(conn, "1 minute", "yellow"), "colour") == ("yellow",)


def test_an_api_client_leaving_colour_out_gets_the_derived_colour(base_url: str) -> None:
    created = create(base_url)
    assert created["colour"] == "yellow" and created["accept_deadline_at"]


def test_colour_changes_need_an_authorised_role_and_a_reason(
        base_url: str, field_conn: psycopg.Connection) -> None:
    item = create(base_url)["id"]
    refused = requests.patch(f"{base_url}/collections/incidents/items/{item}",
                             json={"properties": {"colour": "red", "colour_note": "x"}},
                             headers={**VIEWER, "If-Match": etag(base_url, item)}, timeout=30)
    assert refused.status_code in (401, 403), refused.text
    no_reason = patch(base_url, item, colour="red")
    assert no_reason.status_code == 400
    assert "needs a new colour_note saying why" in no_reason.text
    done = patch(base_url, item, colour="red", colour_note="上游来水，险情扩大")
    assert done.status_code == 200, done.text
    events = field_conn.execute(
        "SELECT kind, detail, note, actor FROM gridgeo.incident_events WHERE incident_id = %s"
        " AND kind = 'colour'", (item,)).fetchall()
    assert [(e[0], e[1], e[2]) for e in events] == [
        ("colour", {"from": "yellow", "to": "red"}, "上游来水，险情扩大")]
    assert events[0][3]  # who changed it


def test_a_role_outside_the_authorities_may_not_recolour(conn: psycopg.Connection) -> None:
    item = report(conn, "1 minute")
    conn.execute("SELECT set_config('gridgeo.actor', 'T977W1', true),"
                 " set_config('gridgeo.roles', 'grid_worker', true)")
    with pytest.raises(psycopg.Error) as refused:
        conn.execute("UPDATE gridgeo.incidents SET colour = 'red', colour_note = 'why'"
                     " WHERE id = %s", (item,))
    assert refused.value.sqlstate == "GG403"
    assert "ask one of: admin, gis_editor." in str(refused.value.diag.message_primary)

