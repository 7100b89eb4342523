"""Police cases: a police matter's dispatch and arrival times, its response target (15
minutes) and the on-time response rate of the incident-report process."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest
from gridgeo_plugins.incidents.report import as_csv, as_json, period_report

POLICE_CATEGORY = "t977_dispute"


@pytest.fixture()
def conn(field_conn: psycopg.Connection) -> psycopg.Connection:
    field_conn.execute(
        "INSERT INTO gridgeo.incident_categories (code, name_zh, name_en, class,"
        " police_response_target) VALUES (%s, '田野纠纷', 'field dispute', 'extension',"
        " interval '15 minutes')", (POLICE_CATEGORY,))
    return field_conn


def dispatched(conn: psycopg.Connection, ago: str, category: str = POLICE_CATEGORY) -> int:
    """A case a loader brings in dispatched ``ago`` (trusted: no API caller)."""
    row = conn.execute(
        "INSERT INTO gridgeo.incidents (category_code, title, colour, state, reported_at,"
        " accepted_at, dispatched_at, geom) VALUES (%s, 't', 'yellow', 'dispatched',"
        " now() - %s::interval - interval '2 minutes', now() - %s::interval - interval '1 minute',"
        " now() - %s::interval, ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490)) RETURNING id",
        (category, ago, ago, ago)).fetchone()
    assert row is not None
    return int(row[0])


def as_caller(conn: psycopg.Connection) -> None:
    conn.execute("SELECT set_config('gridgeo.actor', 'T977W1', true),"
                 " set_config('gridgeo.roles', 'gis_editor', true)")


def arrive(conn: psycopg.Connection, item: int, after: str) -> None:
    conn.execute("UPDATE gridgeo.incidents SET arrived_at = dispatched_at + %s::interval"
                 " WHERE id = %s", (after, item))


def test_response_times_and_the_reported_on_time_rate(conn: psycopg.Connection) -> None:
    # Other tests may commit police cases in the shared field town: count on top of them.
    before = police_figures(conn)
    quick, slow = dispatched(conn, "20 minutes"), dispatched(conn, "40 minutes")
    dispatched(conn, "2 minutes")  # not due yet: neither on time nor late
    dispatched(conn, "1 hour")     # no arrival, target long past: late
    as_caller(conn)
    arrive(conn, quick, "10 minutes")
    arrive(conn, slow, "20 minutes 30 seconds")
    rows = conn.execute("SELECT police_matter, response_minutes, responded_on_time"
                        " FROM gridgeo.incidents_view WHERE id = ANY(%s) ORDER BY id",
                        ([quick, slow],)).fetchall()
    assert [(r[0], float(r[1]), r[2]) for r in rows] == [(True, 10.0, True), (True, 20.5, False)]
    responses, on_time = before[0] + 3, before[1] + 1
    rate = round(on_time / responses, 4)
    assert police_figures(conn) == (responses, on_time, rate)
    today = date.today()
    assert f"summary,police_on_time_rate,{rate}" in as_csv(
        period_report(conn, today - timedelta(days=1), today + timedelta(days=1), None))


def police_figures(conn: psycopg.Connection) -> tuple[int, int, float | None]:
    """The incident report's police responses, on-time count and rate around today."""
    today = date.today()
    report = as_json(period_report(conn, today - timedelta(days=1), today + timedelta(days=1),
                                   None))
    return (report["police_responses"], report["police_on_time"],
            report["police_on_time_rate"])


@pytest.mark.parametrize("setup,sentence", [
    ("other category", "arrived_at is recorded for police matters only"),
    ("before dispatch", "arrived_at must lie between the dispatch"),
    ("twice", "has its arrival recorded already"),
])
def test_a_bad_arrival_is_refused(conn: psycopg.Connection, setup: str, sentence: str) -> None:
    category = "t977_rubbish" if setup == "other category" else POLICE_CATEGORY
    item = dispatched(conn, "20 minutes", category)
    as_caller(conn)
    if setup == "twice":
        arrive(conn, item, "5 minutes")
    with pytest.raises(psycopg.Error) as refused:
        arrive(conn, item, "-1 minute" if setup == "before dispatch" else "6 minutes")
    assert refused.value.sqlstate == "GG400"
    assert sentence in str(refused.value.diag.message_primary)
