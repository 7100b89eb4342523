"""The incident-report process (通报) on the demo town: its CSV against hand-written SQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
import requests

from tests.conftest import ROLE_KEYS

# As admin, who reads every incident (sensitive categories too), like the SQL below.
ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}


def run_report(base_url: str, **inputs: str) -> requests.Response:
    return requests.post(f"{base_url}/processes/incident-report/execution",
                         json={"inputs": inputs}, headers=ADMIN, timeout=60)


def test_report_csv_matches_hand_written_sql(base_url: str,
                                             conn: psycopg.Connection) -> None:
    town = conn.execute("SELECT code FROM gridgeo.grids WHERE level = 'town'"
                        " ORDER BY code LIMIT 1").fetchone()
    assert town is not None
    first = conn.execute("SELECT (min(reported_at) AT TIME ZONE 'Asia/Shanghai')::date"
                         " FROM gridgeo.incidents").fetchone()
    assert first is not None and first[0] is not None
    start, end = first[0].isoformat(), (date.today() + timedelta(days=1)).isoformat()
    response = run_report(base_url, start=start, end=end, area=town[0], format="csv")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_state = {r["key"]: int(r["value"]) for r in rows if r["section"] == "state"}
    summary = {r["key"]: r["value"] for r in rows if r["section"] == "summary"}
    in_town = ("FROM gridgeo.incidents i WHERE left(i.grid_code, 9) = %(town)s"
               " AND i.reported_at >= %(start)s::date AND i.reported_at < %(end)s::date + 1")
    params = {"town": town[0], "start": start, "end": end}
    expected: dict[str, int] = dict(conn.execute(f"SELECT state, count(*) {in_town} GROUP BY state",
                                 params).fetchall())
    assert by_state == expected
    closed = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE closed_at <= gridgeo.incident_handle_deadline("
        " accepted_at, colour, grid_code, category_code)) FROM gridgeo.incidents i"
        " WHERE left(i.grid_code, 9) = %(town)s"
        " AND closed_at >= %(start)s::date AND closed_at < %(end)s::date + 1", params).fetchone()
    assert closed is not None
    assert (int(summary["closed"]), int(summary["closed_on_time"])) == closed
    overdue = conn.execute(
        "SELECT count(*) FROM gridgeo.incidents i WHERE left(i.grid_code, 9) = %(town)s"
        " AND state NOT IN ('closed', 'invalid', 'duplicate')"
        " AND now() > CASE WHEN accepted_at IS NULL THEN gridgeo.incident_accept_deadline("
        " reported_at, colour, grid_code, category_code) ELSE gridgeo.incident_handle_deadline("
        " accepted_at, colour, grid_code, category_code) END", params).fetchone()
    assert overdue is not None and int(summary["overdue_count"]) == overdue[0]
    assert len([r for r in rows if r["section"] == "overdue"]) == overdue[0]


def test_an_iso_week_counts_like_sql_in_every_section(base_url: str,
                                                      conn: psycopg.Connection) -> None:
    # The demo town's reference day is Friday 2026-11-20: ISO week 47, Monday 16 to Sunday 22.
    response = run_report(base_url, week="2026-W47", format="csv")
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    summary = {r["key"]: r["value"] for r in rows if r["section"] == "summary"}
    assert (summary["start"], summary["end"]) == ("2026-11-16", "2026-11-22")
    week = ("FROM gridgeo.incidents WHERE reported_at >= '2026-11-16 00:00+08'"
            " AND reported_at < '2026-11-23 00:00+08'")
    for section, column in (("state", "state"), ("colour", "colour"),
                            ("category", "category_code"), ("grid", "coalesce(grid_code, '-')")):
        got = {r["key"]: int(r["value"]) for r in rows if r["section"] == section}
        query = f"SELECT {column}, count(*) {week} GROUP BY 1"
        expected: dict[str, int] = dict(conn.execute(query).fetchall())
        assert got == expected, section
    assert int(summary["reported"]) == sum(
        int(r["value"]) for r in rows if r["section"] == "state") > 0
    json_body = run_report(base_url, week="2026-W47").json()["value"]
    assert json_body["by_state"] == {r["key"]: int(r["value"]) for r in rows
                                     if r["section"] == "state"}


@pytest.mark.parametrize(("query", "index"), [
    ("_COUNTS", "incidents_reported_idx"), ("_CLOSED", "incidents_closed_idx"),
    ("_POLICE", "incidents_dispatched_idx"), ("_OVERDUE", "incidents_open_idx")])
def test_the_reports_queries_read_their_period_through_an_index(
        conn: psycopg.Connection, query: str, index: str) -> None:
    """A report reads its period (and the open cases), not the whole history: each query's
    condition reaches its index through the view (incidents/016, scripts/bench_scale.py).
    As an admin's request, with table scans priced out: at demo size one may rightly win."""
    from gridgeo_plugins.incidents import report

    conn.execute("SELECT set_config('gridgeo.maintenance', 'off', true),"
                 " set_config('gridgeo.roles', 'admin,anonymous', true)")
    conn.execute("SET LOCAL enable_seqscan = off")
    t1 = datetime.now(UTC)
    params = {"area": None, "t0": t1 - timedelta(days=7), "t1": t1}
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + getattr(report, query), params))
    assert index in plan, plan
