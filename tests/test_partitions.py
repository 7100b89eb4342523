"""History partitioned by month (#21, core/013): the audit log is range-partitioned on its
time and keeps its guarantees, partitions are made ahead by a scheduled task (which also
moves stray rows out of the DEFAULT partition), a time-bounded query reads only its
months, and ``gridgeo.partition_by_month`` converts a table with rows and a view. Incident
events (core/015) and inspections (inspections/005) keep the keys that reference them."""

from __future__ import annotations

import re
import uuid
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
from tests.field_town import ADDRESS_CODES, FieldTown

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


# -- inspections (inspections/005) -----------------------------------------------------------

def test_inspections_are_partitioned_by_month_and_referenced_by_their_whole_keys(
        history_db: str) -> None:
    with connect(history_db) as conn:
        key = conn.execute("SELECT pg_get_partkeydef('gridgeo.inspections'::regclass)").fetchone()
        assert key == ("RANGE (scanned_at)",)
        keys = {r[0] for r in conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conparentid = 0 AND"
            " (conrelid = 'gridgeo.inspections'::regclass AND contype IN ('p', 'u')"
            "  OR confrelid = 'gridgeo.inspections'::regclass)")}
        assert keys == {
            "PRIMARY KEY (id, scanned_at)", "UNIQUE (scan_uuid, scanned_at)",
            "FOREIGN KEY (inspection_id, inspection_scanned_at) REFERENCES"
            " inspections(id, scanned_at) MATCH FULL",
            "FOREIGN KEY (scan_uuid, scanned_at) REFERENCES inspections(scan_uuid, scanned_at)"
            " ON UPDATE CASCADE ON DELETE CASCADE"}
        parts = {r[0] for r in conn.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits"
            " WHERE inhparent = 'gridgeo.inspections'::regclass")}
        this_month = datetime.now(SHANGHAI).strftime("y%Ym%m")
        assert {"inspections_default", f"inspections_{this_month}"} <= parts


def _this_month_moment() -> datetime:
    """72 minutes ago, or this month's first second if that was last month: a test
    database has partitions from this month on."""
    now = datetime.now(SHANGHAI)
    return max(now - timedelta(minutes=72), now.replace(day=1, hour=0, minute=0, second=1,
                                                        microsecond=0))


def test_a_scan_lands_in_its_month_a_retry_is_idempotent_and_its_uuid_is_its_own(
        field_town: FieldTown) -> None:
    from tests.test_field_api import staff_token
    from tests.test_scans import greenhouse_scan, post

    body = {**greenhouse_scan(0), "scanned_at": _this_month_moment().isoformat()}
    first = post(field_town.base_url, body)
    assert first.status_code == 201, first.text
    retry = post(field_town.base_url, body)
    assert (retry.status_code, retry.json()["status"]) == (200, "duplicate")
    assert retry.json()["inspection_id"] == first.json()["inspection_id"]
    later = {**body, "scanned_at": (_this_month_moment() + timedelta(seconds=30)).isoformat()}
    reused = post(field_town.base_url, later, headers=staff_token("T977W1"))
    assert reused.status_code == 409 and "make a new UUID" in reused.json()["description"]
    with connect(field_town.url) as conn:
        rows = conn.execute("SELECT tableoid::regclass::text FROM gridgeo.inspections"
                            " WHERE scan_uuid = %s", (body["scan_uuid"],)).fetchall()
        month = datetime.fromisoformat(body["scanned_at"]).strftime("y%Ym%m")
        assert rows == [(f"inspections_{month}",)]


_DOOR_SCAN = ("INSERT INTO gridgeo.inspections (scan_uuid, target_collection, target_code,"
              " scanned_at, result, geom) SELECT %s, 'addresses', a.address_code, %s, 'ok',"
              " a.geom FROM gridgeo.addresses a WHERE a.address_code = %s"
              " ON CONFLICT (scan_uuid, scanned_at) DO NOTHING RETURNING id")


def test_a_uuid_is_one_scans_across_months_even_while_the_first_is_uncommitted(
        field_town: FieldTown) -> None:
    """The key table holds a UUID across partitions, for every writer: a second scan with
    the UUID and another time waits for the first's commit (a lookup would have let it in),
    then is refused with a sentence; the first scan's retry is nothing."""
    scan_uuid, door = str(uuid.uuid4()), ADDRESS_CODES[0]
    first_at = _this_month_moment()
    other_at = first_at - timedelta(days=40)  # another month, in the DEFAULT partition
    with connect(field_town.url) as first, connect(field_town.url) as second:
        first.execute(_DOOR_SCAN, (scan_uuid, first_at, door))
        second.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            second.execute(_DOOR_SCAN, (scan_uuid, other_at, door))
        second.rollback()
        first.commit()
        with pytest.raises(psycopg.Error, match="already used by another scan") as refused:
            second.execute(_DOOR_SCAN, (scan_uuid, other_at, door))
        assert refused.value.sqlstate == "GG409"
        second.rollback()
        assert second.execute(_DOOR_SCAN, (scan_uuid, first_at, door)).fetchall() == []
        first.execute("DELETE FROM gridgeo.inspections WHERE scan_uuid = %s", (scan_uuid,))
        # Deleting the scan frees its UUID (as the single-column key did).
        assert first.execute("SELECT count(*) FROM gridgeo.scan_uuids WHERE scan_uuid = %s",
                             (scan_uuid,)).fetchone() == (0,)
        first.commit()


def test_an_attachment_of_a_scan_carries_the_scans_time_and_keeps_the_scan(
        field_town: FieldTown) -> None:
    with connect(field_town.url) as conn:
        [(scan,)] = conn.execute(_DOOR_SCAN, (uuid.uuid4(), _this_month_moment(),
                                              ADDRESS_CODES[1])).fetchall()
        attach = ("INSERT INTO gridgeo.attachments (inspection_id, sha256, media_type, length,"
                  " public_type, public_length, has_thumbnail, uploaded_by) VALUES (%s,"
                  " repeat('a', 64), 'image/jpeg', 1, 'image/jpeg', 1, false, 'test')"
                  " RETURNING inspection_scanned_at")
        assert conn.execute(attach, (scan,)).fetchone() == conn.execute(
            "SELECT scanned_at FROM gridgeo.inspections WHERE id = %s", (scan,)).fetchone()
        with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
            conn.execute("DELETE FROM gridgeo.inspections WHERE id = %s", (scan,))
        with pytest.raises(psycopg.Error, match="no inspection has the id") as missing, \
                conn.transaction():
            conn.execute(attach, (-1,))
        assert missing.value.sqlstate == "GG404"
        conn.rollback()


def test_a_datetime_page_of_inspections_reads_one_months_partition(
        conn: psycopg.Connection) -> None:
    """As the application reads a page (row-level security on, a gis editor's roles)."""
    from gridgeo.provider.params import build_query
    from tests.test_client_speed import as_app, plan, served_collections

    start = datetime.now(SHANGHAI).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(seconds=1)
    query = build_query({"datetime": f"{start.isoformat()}/{end.isoformat()}"},
                        served_collections()["inspections"])
    as_app(conn, "anonymous,gis_editor")
    text = plan(conn, *query.features())
    assert set(re.findall(r"inspections_(?:y\d{4}m\d{2}|default)", text)) == {
        f"inspections_{start.strftime('y%Ym%m')}"}, text


def test_a_stray_scan_moves_to_its_month_unchanged(field_town: FieldTown) -> None:
    """A scan of a month without a partition waits in DEFAULT; the daily task's function
    moves it with its UUID's key row and its attachment, and the move is no change: the
    audit log records no delete. Rolled back: the field town keeps its partitions."""
    deletes = ("SELECT count(*) FROM gridgeo.audit_log WHERE table_name = 'inspections'"
               " AND operation = 'DELETE'")
    with connect(field_town.url) as conn:
        scanned_at = _this_month_moment() - timedelta(days=400)
        [(scan,)] = conn.execute(_DOOR_SCAN, (uuid.uuid4(), scanned_at,
                                              ADDRESS_CODES[2])).fetchall()
        conn.execute("INSERT INTO gridgeo.attachments (inspection_id, sha256, media_type,"
                     " length, public_type, public_length, has_thumbnail, uploaded_by) VALUES"
                     " (%s, repeat('b', 64), 'image/jpeg', 1, 'image/jpeg', 1, false, 'test')",
                     (scan,))
        before = conn.execute(deletes).fetchone()
        assert conn.execute("SELECT gridgeo.keep_partitions_ahead()").fetchone()[0] >= 1  # type: ignore[index]
        assert conn.execute(
            "SELECT i.tableoid::regclass::text, count(u.*), count(a.*) FROM gridgeo.inspections i"
            " LEFT JOIN gridgeo.scan_uuids u USING (scan_uuid) LEFT JOIN gridgeo.attachments a"
            " ON a.inspection_id = i.id WHERE i.id = %s GROUP BY 1", (scan,)
        ).fetchone() == (f"inspections_{scanned_at.strftime('y%Ym%m')}", 1, 1)
        assert conn.execute(deletes).fetchone() == before
        conn.rollback()
