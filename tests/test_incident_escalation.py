"""The scheduler and escalation (督办): periodic work exactly once per period across
processes, and an unaccepted incident turning overdue and escalated exactly once while two
job workers and two schedulers run at the same time on one database."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from gridgeo.contributions import ScheduledTask
from gridgeo.db.pool import connect
from gridgeo.scheduler import run_once
from tests.conftest import empty_database
from tests.field_town import CATEGORY, UNIT, ensure_field_town

LEADER = "T977L1"


@pytest.fixture(scope="module")
def town_db() -> Iterator[str]:
    """The field town in a database of its own, with a grid leader."""
    with empty_database("escalation") as url:
        with connect(url) as conn:
            ensure_field_town(conn)
            conn.execute("INSERT INTO gridgeo.staff (staff_no, name, role, department_code)"
                         " VALUES (%s, '田野网格长', 'grid_leader', 'T977')", (LEADER,))
            conn.execute("INSERT INTO gridgeo.grid_assignments (grid_code, staff_id, role)"
                         " SELECT %s, id, 'leader' FROM gridgeo.staff WHERE staff_no = %s",
                         (UNIT, LEADER))
            conn.commit()
        yield url


def test_a_period_runs_once_however_many_schedulers_tick(town_db: str) -> None:
    ran: list[str] = []

    def work(conn: psycopg.Connection) -> str:
        conn.execute("SELECT pg_sleep(0.3)")  # both ticks are inside the period at once
        ran.append(threading.current_thread().name)
        return "done"

    task = ScheduledTask("test-once", 3600, work)
    now = datetime.now(UTC)
    outcomes: list[str | None] = []

    def tick() -> None:
        with psycopg.connect(town_db, autocommit=True) as conn:
            outcomes.append(run_once(conn, task, now))

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("done") == 1 and outcomes.count(None) == 2 and len(ran) == 1


def test_a_failed_run_leaves_the_period_to_the_next_tick(town_db: str) -> None:
    def broken(conn: psycopg.Connection) -> str:
        conn.execute("SELECT 1 / 0")
        return "never"

    now = datetime.now(UTC)
    with psycopg.connect(town_db, autocommit=True) as conn:
        assert run_once(conn, ScheduledTask("test-retry", 3600, broken), now) is None
        fixed = ScheduledTask("test-retry", 3600, lambda c: "fixed")
        assert run_once(conn, fixed, now) == "fixed"
        assert run_once(conn, fixed, now) is None


def _start(env: dict[str, str], command: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gridgeo.cli", command], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def test_an_unaccepted_incident_is_escalated_exactly_once(
        town_db: str, tmp_path: Path) -> None:
    with connect(town_db) as conn:
        item = conn.execute(
            "INSERT INTO gridgeo.incidents (category_code, title, colour, geom) VALUES"
            " (%s, '井盖缺失', 'yellow', ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490))"
            " RETURNING id", (CATEGORY,)).fetchone()[0]  # type: ignore[index]
        # Time moves in the database: reported 5 hours ago, past the 4-hour acceptance.
        conn.execute("UPDATE gridgeo.incidents SET reported_at = now() - interval '5 hours'"
                     " WHERE id = %s", (item,))
        conn.commit()
    env = {**os.environ, "GRIDGEO_DATABASE_URL": town_db, "GRIDGEO_HOME": str(tmp_path),
           "GRIDGEO_ESCALATION_SWEEP_SECONDS": "1", "GRIDGEO_SCHEDULER_TICK_SECONDS": "0.2"}
    log = tmp_path / "processes.log"
    processes = [_start(env, "worker", log), _start(env, "worker", log),
                 _start(env, "scheduler", log), _start(env, "scheduler", log)]
    try:
        deadline = time.monotonic() + 90
        swept = 0
        with psycopg.connect(town_db, autocommit=True) as conn:
            while time.monotonic() < deadline and swept < 4:
                swept = conn.execute(  # type: ignore[index]
                    "SELECT count(*) FROM gridgeo.scheduled_runs"
                    " WHERE task = 'incident-escalation' AND finished IS NOT NULL").fetchone()[0]
                time.sleep(0.3)
        assert swept >= 4, log.read_text()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
    with connect(town_db) as conn:  # maintenance: incidents_view is under row-level security
        runners = conn.execute("SELECT count(DISTINCT runner) FROM gridgeo.scheduled_runs"
                               " WHERE task = 'incident-escalation'").fetchone()
        events = conn.execute(
            "SELECT kind, actor, detail FROM gridgeo.incident_events WHERE incident_id = %s"
            " AND kind IN ('warning', 'escalation')", (item,)).fetchall()
        view = conn.execute("SELECT overdue, escalation_level FROM gridgeo.incidents_view"
                            " WHERE id = %s", (item,)).fetchone()
    assert runners is not None and runners[0] >= 1
    assert len(events) == 1, events
    kind, actor, detail = events[0]
    assert (kind, actor, detail["level"], detail["to"]) == (
        "escalation", "scheduler", 1, "grid_leader")
    assert [(t["kind"], t["code"]) for t in detail["told"]] == [("staff", LEADER)]
    assert view == (True, 1)


def test_the_ladder_goes_up_a_level_each_interval(town_db: str) -> None:
    with connect(town_db) as conn:
        item = conn.execute(
            "INSERT INTO gridgeo.incidents (category_code, title, colour, reported_at, geom)"
            " VALUES (%s, 't', 'yellow', now() - interval '1 day',"
            " ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490)) RETURNING id",
            (CATEGORY,)).fetchone()[0]  # type: ignore[index]
        conn.execute("UPDATE gridgeo.deployment SET value = '0 seconds'"
                     " WHERE key = 'escalation_every'")
        for _ in range(6):
            conn.execute("SELECT gridgeo.incident_escalation_sweep()")
        levels = conn.execute("SELECT detail->>'to' FROM gridgeo.incident_events"
                              " WHERE incident_id = %s AND kind = 'escalation' ORDER BY id",
                              (item,)).fetchall()
        conn.rollback()
    assert [r[0] for r in levels] == ["grid_leader", "village", "town", "county_department"]


def test_a_near_due_case_warns_its_holder_once(town_db: str) -> None:
    with connect(town_db) as conn:
        item = conn.execute(
            "INSERT INTO gridgeo.incidents (category_code, title, colour, reported_at, geom)"
            " VALUES (%s, 't', 'yellow', now() - interval '3 hours 30 minutes',"
            " ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490)) RETURNING id",
            (CATEGORY,)).fetchone()[0]  # type: ignore[index]
        for _ in range(2):
            conn.execute("SELECT gridgeo.incident_escalation_sweep()")
        warnings = conn.execute("SELECT detail->'told' FROM gridgeo.incident_events"
                                " WHERE incident_id = %s AND kind = 'warning'",
                                (item,)).fetchall()
        conn.rollback()
    assert [[t["code"] for t in w[0]] for w in warnings] == [["T977W1"]]
