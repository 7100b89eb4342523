"""The incidents view computes each row's deadlines once, in expressions the planner
inlines (incidents/014, issue 14), with the answers the deadline functions of
incidents/007 give: for every demo incident, every role's half, and any rule."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import fetch_row

# Every unit, both spellings, odd spacing, working days, and rules the SLA table refuses.
RULES = ["4 hours", " 4 HOURS ", "4\thours", "\t2\n weeks \n", "1 month", "12 Months",
         "1 day", "0 days", "9999 hours", "3 working days", "1 Working Day", "0 working days",
         "5 working  days", "soon", "4 hours extra", "4h", None]
STARTS = ["2026-01-31 01:00+08", "2026-09-30 23:30+08", "2026-12-31 17:00Z", None]

# The view's deadline columns against the functions of 007, row by row.
MISMATCHES = """
SELECT count(*) FILTER (WHERE v.deadline_at IS DISTINCT FROM
                              gridgeo.incident_handle_deadline(i.accepted_at, i.colour,
                                                               i.grid_code, i.category_code)
                           OR v.accept_deadline_at IS DISTINCT FROM
                              gridgeo.incident_accept_deadline(i.reported_at, i.colour,
                                                               i.grid_code, i.category_code)
                           OR v.due_at IS DISTINCT FROM due.due_at
                           OR v.overdue IS DISTINCT FROM coalesce(now() > due.due_at, false)),
       count(*)
  FROM gridgeo.incidents_view v
  JOIN gridgeo.incidents i ON i.id = v.id
  LEFT JOIN LATERAL gridgeo.incident_due(i.state, i.reported_at, i.accepted_at, i.colour,
                                         i.grid_code, i.category_code) due ON true
"""


@pytest.mark.parametrize("role", ["anonymous", "viewer", "admin"])
def test_the_views_deadlines_are_the_deadline_functions_answers(conn: psycopg.Connection,
                                                                 role: str) -> None:
    conn.execute("SELECT set_config('gridgeo.roles', %s, true)", (role,))
    mismatched, rows = fetch_row(conn, MISMATCHES)
    assert rows > 500 and mismatched == 0


# sla_deadline as incidents/007 wrote it (a CTE the planner cannot inline).
AS_007_DID = r"""
SELECT rule, start, gridgeo.sla_deadline(start, rule),
       (WITH parts AS (SELECT regexp_match(lower(rule), '([0-9]+)\s+(working\s+)?(\w+)') AS m,
                              start AT TIME ZONE gridgeo.local_tz() AS local_start)
        SELECT CASE WHEN m[2] IS NOT NULL
                    THEN gridgeo.add_working_days(local_start, m[1]::integer)
                    ELSE local_start + (m[1] || ' ' || m[3])::interval
               END AT TIME ZONE gridgeo.local_tz()
          FROM parts WHERE start IS NOT NULL AND m IS NOT NULL)
  FROM unnest(%s::text[]) rule, unnest(%s::timestamptz[]) start
"""


def test_a_deadline_is_what_it_was_for_any_rule_and_zone(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO gridgeo.deployment (key, value) VALUES ('time_zone', "
                 "'America/New_York') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")
    rows = conn.execute(AS_007_DID, (RULES, STARTS)).fetchall()
    assert len(rows) == len(RULES) * len(STARTS)
    assert [row for row in rows if row[2] != row[3]] == []
    assert sum(row[2] is not None for row in rows) > 20


def test_the_deadline_is_inlined_not_called_per_row(conn: psycopg.Connection) -> None:
    """A call per row cost 0.15 ms (a SQL function the planner could not inline); the
    view's plan must hold the expression itself."""
    conn.execute("SELECT set_config('gridgeo.roles', 'anonymous', true)")
    plan = "\n".join(str(row[0]) for row in conn.execute(
        "EXPLAIN (VERBOSE) SELECT deadline_at, due_at FROM gridgeo.incidents_view"))
    assert "sla_deadline" not in plan and "incident_due" not in plan
    assert "AT TIME ZONE" in plan


@pytest.mark.parametrize("role", ["anonymous", "viewer", "admin"])
def test_a_page_reads_its_rows_through_the_primary_key(conn: psycopg.Connection,
                                                       role: str) -> None:
    """A page (ORDER BY id LIMIT n) computes its n rows only: when the view was a staff
    half UNION ALL a public half, neither half could be pulled up (each joined several
    relations), so every row was computed and then sorted (5.3 s a page at 200,000)."""
    conn.execute("SELECT set_config('gridgeo.roles', %s, true)", (role,))
    conn.execute("SET LOCAL enable_seqscan = off")
    plan = "\n".join(str(row[0]) for row in conn.execute(
        "EXPLAIN SELECT * FROM gridgeo.incidents_view ORDER BY id LIMIT 5"))
    top = plan.splitlines()[:3]
    assert "incidents_pkey" in plan and not any("Sort" in line for line in top), plan
