"""History partitioned by month (#21, core/013): the audit log is range-partitioned on its
time and keeps its guarantees, partitions are made ahead by a scheduled task (which also
moves stray rows out of the DEFAULT partition), a time-bounded query reads only its
months, and ``gridgeo.partition_by_month`` converts a table with rows and a view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from gridgeo_plugins.core import gridgeo_scheduled_tasks

from gridgeo.db.pool import connect
from gridgeo.scheduler import run_once
from tests.conftest import empty_database

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


def test_the_audit_log_is_partitioned_by_month_with_its_keys(history_db: str) -> None:
    with connect(history_db) as conn:
        kind, key = conn.execute(
            "SELECT c.relkind, pg_get_partkeydef(c.oid) FROM pg_class c"
            " WHERE c.oid = 'gridgeo.audit_log'::regclass").fetchone()  # type: ignore[misc]
        assert (kind, key) == ("p", "RANGE (at)")
        primary = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE"
                               " conrelid = 'gridgeo.audit_log'::regclass AND contype = 'p'"
                               ).fetchone()
        assert primary == ("PRIMARY KEY (id, at)",)
        parts = {r[0] for r in conn.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits"
            " WHERE inhparent = 'gridgeo.audit_log'::regclass")}
        this_month = datetime.now(SHANGHAI).strftime("y%Ym%m")
        assert "audit_log_default" in parts and f"audit_log_{this_month}" in parts
        assert len(parts) == 5, parts  # this month, three ahead, DEFAULT


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


def test_a_table_with_rows_and_a_view_is_converted(history_db: str) -> None:
    with connect(history_db) as conn:
        conn.execute("CREATE TABLE gridgeo.sample_history (id bigserial PRIMARY KEY,"
                     " at timestamptz NOT NULL, note text CHECK (note <> ''))")
        conn.execute("CREATE INDEX sample_history_note_idx ON gridgeo.sample_history (note)")
        conn.execute("INSERT INTO gridgeo.sample_history (at, note) SELECT t, 'n' FROM"
                     " generate_series(timestamptz '2024-01-10', '2024-03-20', '1 day') t")
        conn.execute("CREATE VIEW gridgeo.sample_history_view WITH (security_barrier) AS"
                     " SELECT id, at, upper(note) AS loud FROM gridgeo.sample_history")
        conn.execute("SELECT gridgeo.partition_by_month('sample_history', 'at')")
        assert conn.execute("SELECT count(*), max(id) FROM gridgeo.sample_history_view"
                            ).fetchone() == (71, 71)
        # The sequence went with it: the next row follows the moved ones.
        assert conn.execute("INSERT INTO gridgeo.sample_history (at, note) VALUES (now(),"
                            " 'x') RETURNING id").fetchone() == (72,)
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():  # a savepoint
            conn.execute("INSERT INTO gridgeo.sample_history (at, note) VALUES (now(), '')")
        options = conn.execute("SELECT reloptions FROM pg_class WHERE oid ="
                               " 'gridgeo.sample_history_view'::regclass").fetchone()
        assert options == (["security_barrier=true"],)
        bounds = ("2024-02-01 00:00+08", "2024-03-01 00:00+08")
        assert _scanned(conn, "SELECT * FROM gridgeo.sample_history_view WHERE at >= %s"
                        " AND at < %s", bounds) == {"sample_history_y2024m02"}
        conn.rollback()


def test_a_referenced_table_is_refused_with_a_sentence(history_db: str) -> None:
    with connect(history_db) as conn:
        conn.execute("CREATE TABLE gridgeo.sample_cases (id bigserial PRIMARY KEY,"
                     " at timestamptz NOT NULL)")
        conn.execute("CREATE TABLE gridgeo.sample_notes (case_id bigint REFERENCES"
                     " gridgeo.sample_cases (id))")
        with pytest.raises(psycopg.errors.RaiseException, match="referenced by a foreign key"):
            conn.execute("SELECT gridgeo.partition_by_month('sample_cases', 'at')")


def test_incident_events_are_partitioned_and_the_outbox_references_their_whole_key(
        history_db: str) -> None:
    with connect(history_db) as conn:
        key = conn.execute("SELECT pg_get_partkeydef('gridgeo.incident_events'::regclass)"
                           ).fetchone()
        assert key == ("RANGE (at)",)
        keys = {r[0] for r in conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conparentid = 0 AND"
            " (conrelid = 'gridgeo.incident_events'::regclass AND contype = 'p'"
            "  OR confrelid = 'gridgeo.incident_events'::regclass)")}
        assert keys == {"PRIMARY KEY (id, at)", "FOREIGN KEY (event_id, event_at) REFERENCES"
                        " incident_events(id, at) ON DELETE CASCADE"}


def test_stray_events_move_to_their_month_and_keep_their_outbox_rows(history_db: str) -> None:
    """The daily task's function moves a May 2025 event out of DEFAULT without the move's delete
    cascading to the outbox row that references it; a bounded query reads only May."""
    with connect(history_db) as conn:
        incident, case_no = conn.execute(
            "INSERT INTO gridgeo.incidents (category_code, title, colour, geom) SELECT code,"
            " 't', 'yellow', ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490)"
            " FROM gridgeo.incident_categories ORDER BY code LIMIT 1 RETURNING id, case_no"
        ).fetchone()  # type: ignore[misc]
        event = conn.execute(
            "INSERT INTO gridgeo.incident_events (incident_id, case_no, from_state, to_state,"
            " actor, at) VALUES (%s, %s, 'reported', 'reported', 'import',"
            " '2025-05-10 10:00+08') RETURNING id, at", (incident, case_no)).fetchone()
        conn.execute("INSERT INTO gridgeo.notify_outbox (event_id, event_at, incident_id, kind,"
                     " payload) VALUES (%s, %s, %s, 'transition', '{}')", (*event, incident))  # type: ignore[misc]
        conn.commit()
    with connect(history_db) as conn:  # what the task (already run today, above) calls
        assert conn.execute("SELECT gridgeo.keep_partitions_ahead()").fetchone() == (1,)
        conn.commit()
        assert conn.execute("SELECT gridgeo.default_partition_rows()").fetchone() == (0,)
        assert conn.execute("SELECT event_id FROM gridgeo.notify_outbox").fetchall() == [
            (event[0],)]  # type: ignore[index]
        may = ("SELECT * FROM gridgeo.incident_events_view WHERE at >= %s AND at < %s")
        bounds = ("2025-05-01 00:00+08", "2025-06-01 00:00+08")
        assert {t for t in _scanned(conn, may, bounds) if t.startswith("incident_events")
                } == {"incident_events_y2025m05"}
        # The guarantee holds on the moved row: an outbox row needs its event's own time.
        with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
            conn.execute("INSERT INTO gridgeo.notify_outbox (event_id, event_at, incident_id,"
                         " kind, payload) VALUES (%s, now(), %s, 'transition', '{}')",
                         (event[0], incident))  # type: ignore[index]
