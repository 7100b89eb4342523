"""History partitioned by month (#21, core/013): the audit log and the incidents' events
are range-partitioned on their time, keep their guarantees, get partitions made ahead by a
scheduled task (which also moves stray rows out of the DEFAULT partition), and a
time-bounded query reads only its months."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from gridgeo_plugins.core import gridgeo_scheduled_tasks

from gridgeo.db.pool import connect
from gridgeo.scheduler import run_once
from tests.conftest import empty_database

HISTORY = ("audit_log", "incident_events")
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the deployment's zone in a new database
# Three audit rows in three months of 2025 (Shanghai wall clock, the deployment's zone).
OLD_ROWS = ("2025-01-15 10:00+08", "2025-02-15 10:00+08", "2025-03-31 23:30+08")


@pytest.fixture(scope="module")
def history_db() -> Iterator[str]:
    with empty_database("partitions") as url:
        yield url


def _scanned(conn: psycopg.Connection, query: str, params: tuple[Any, ...] = ()) -> set[str]:
    """The tables the plan reads (EXPLAIN, not run)."""
    plan = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()[0]  # type: ignore[index]
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def test_the_history_is_partitioned_by_month_with_its_keys(history_db: str) -> None:
    with connect(history_db) as conn:
        for table in HISTORY:
            kind, key = conn.execute(
                "SELECT c.relkind, pg_get_partkeydef(c.oid) FROM pg_class c"
                " WHERE c.oid = %s::regclass", (f"gridgeo.{table}",)).fetchone()  # type: ignore[misc]
            assert (kind, key) == ("p", "RANGE (at)")
            primary = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                                   " WHERE conrelid = %s::regclass AND contype = 'p'",
                                   (f"gridgeo.{table}",)).fetchone()
            assert primary == ("PRIMARY KEY (id, at)",)
            parts = {r[0] for r in conn.execute(
                "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent ="
                " %s::regclass", (f"gridgeo.{table}",))}
            this_month = datetime.now(SHANGHAI).strftime("y%Ym%m")
            assert f"{table}_default" in parts
            assert len(parts) >= 5 and any(p.endswith(this_month) for p in parts), parts
        # The events' foreign key to their incident and their view survived the move.
        fk = conn.execute("SELECT confrelid::regclass::text FROM pg_constraint WHERE conrelid ="
                          " 'gridgeo.incident_events'::regclass AND contype = 'f'").fetchall()
        assert fk == [("incidents",)]
        assert conn.execute("SELECT count(*) FROM gridgeo.incident_events_view").fetchone() == (0,)


def test_stray_rows_get_their_months_and_a_bounded_query_reads_only_those(
        history_db: str) -> None:
    with connect(history_db) as conn:
        for at in OLD_ROWS:
            conn.execute("INSERT INTO gridgeo.audit_log (at, actor, table_name, operation)"
                         " VALUES (%s, 'test', 'grids', 'INSERT')", (at,))
        conn.commit()
        assert conn.execute("SELECT gridgeo.default_partition_rows()").fetchone() == (3,)
    [task] = gridgeo_scheduled_tasks()
    with connect(history_db, autocommit=True) as conn:  # as the scheduler connects
        assert run_once(conn, task, datetime.now(UTC)) == "3 partition(s) made"
    with connect(history_db) as conn:
        assert conn.execute("SELECT gridgeo.default_partition_rows()").fetchone() == (0,)
        # 23:30 on 31 March in Shanghai is March there (15:30 UTC): the deployment's months.
        assert conn.execute("SELECT count(*) FROM gridgeo.audit_log_y2025m03").fetchone() == (1,)
        february = ("SELECT count(*) FROM gridgeo.audit_log WHERE at >= %s AND at < %s")
        bounds = ("2025-02-01 00:00+08", "2025-03-01 00:00+08")
        assert _scanned(conn, february, bounds) == {"audit_log_y2025m02"}
        assert conn.execute(february, bounds).fetchone() == (1,)
        # The events of this month, through their view (which joins incidents).
        local = datetime.now(SHANGHAI)
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        scanned = _scanned(conn, "SELECT * FROM gridgeo.incident_events_view"
                           " WHERE at >= %s AND at < %s", (start, end))
        assert {t for t in scanned if t.startswith("incident_events")} == {
            f"incident_events_{start:y%Ym%m}"}


def test_the_audit_log_stays_append_only_through_its_partitions(history_db: str) -> None:
    """A request (no maintenance flag) reads no audit row, through the parent or straight
    from a partition: the policies were copied onto every partition."""
    with psycopg.connect(history_db) as request:
        for table in ("audit_log", "audit_log_y2025m02", "audit_log_default"):
            assert request.execute(f"SELECT count(*) FROM gridgeo.{table}").fetchone() == (0,)
        request.execute("INSERT INTO gridgeo.audit_log (actor, table_name, operation)"
                        " VALUES ('request', 'grids', 'INSERT')")  # appending still works
        for change in ("UPDATE gridgeo.audit_log_y2025m02 SET actor = 'forged'",
                       "DELETE FROM gridgeo.audit_log_y2025m02"):
            assert request.execute(change).rowcount == 0
        request.commit()
    with connect(history_db) as conn:  # maintenance sees the row unchanged, and the new one
        assert conn.execute("SELECT actor FROM gridgeo.audit_log_y2025m02").fetchall() == [
            ("test",)]
        assert conn.execute("SELECT count(*) FROM gridgeo.audit_log WHERE actor = 'request'"
                            ).fetchone() == (1,)


def test_the_demo_history_sits_in_its_months(conn: psycopg.Connection) -> None:
    """The demo loader makes the month partitions its months-old history needs."""
    assert conn.execute("SELECT gridgeo.default_partition_rows()").fetchone() == (0,)
    months = conn.execute(
        "SELECT count(DISTINCT gridgeo.month_start(at)), count(*) FROM gridgeo.incident_events"
        ).fetchone()
    parts = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent ="
                         " 'gridgeo.incident_events'::regclass").fetchone()
    assert months is not None and parts is not None and months[1] > 0
    assert parts[0] >= months[0] + 1  # each month of events has its partition, plus DEFAULT
