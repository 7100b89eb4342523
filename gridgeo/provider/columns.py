"""What columns a collection's source relation has, read once per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import psycopg

from gridgeo.db.pool import connection

_JSON_TYPES: dict[str, tuple[str, str | None]] = {
    "integer": ("integer", None), "bigint": ("integer", None), "smallint": ("integer", None),
    "double precision": ("number", None), "real": ("number", None), "numeric": ("number", None),
    "boolean": ("boolean", None),
    "date": ("string", "date"),
    "timestamp with time zone": ("string", "date-time"),
    "timestamp without time zone": ("string", "date-time"),
    "uuid": ("string", "uuid"),
    "jsonb": ("object", None), "json": ("object", None),
    "text[]": ("array", None),
}


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str

    @property
    def json_type(self) -> str:
        return _JSON_TYPES.get(self.pg_type, ("string", None))[0]

    @property
    def json_format(self) -> str | None:
        return _JSON_TYPES.get(self.pg_type, ("string", None))[1]

    def field_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.json_type}
        if self.json_type == "array":
            schema["items"] = {"type": "string"}
        if self.json_format:
            schema["format"] = self.json_format
        return schema


_cache: dict[str, dict[str, Column]] = {}
_lock = threading.Lock()


def columns_of(conn: psycopg.Connection, relation: str) -> dict[str, str]:
    """Column names and types of ``gridgeo.<relation>`` in table order, uncached (empty
    when it does not exist)."""
    return dict(conn.execute(
        "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a"
        " WHERE a.attrelid = to_regclass('gridgeo.' || quote_ident(%s))"
        "   AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (relation,)).fetchall())


def stores_rows(conn: psycopg.Connection, relation: str) -> bool:
    """Whether ``gridgeo.<relation>`` stores rows (a table, partitioned or materialized);
    a view computes them on every read. Uncached."""
    kind = conn.execute("SELECT relkind::text FROM pg_class"
                        " WHERE oid = to_regclass('gridgeo.' || quote_ident(%s))",
                        (relation,)).fetchone()
    return kind is not None and kind[0] in ("r", "p", "m")


def source_columns(source: str) -> dict[str, Column]:
    """Columns of ``gridgeo.<source>`` in table order (geometry included)."""
    with _lock:
        if source not in _cache:
            with connection() as conn:
                rows = list(columns_of(conn, source).items())
            if not rows:
                raise LookupError(
                    f"relation gridgeo.{source} does not exist; run gridgeo db migrate")
            _cache[source] = {name: Column(name, pg_type) for name, pg_type in rows}
        return _cache[source]


_row_versioned: dict[str, bool] = {}


def has_row_versions(relation: str) -> bool:
    """Whether ``gridgeo.<relation>`` stores rows (a table, partitioned or materialized)
    and so has row versions (xmin) to serve as ETags; views have none. Read once."""
    with _lock:
        if relation not in _row_versioned:
            with connection() as conn:
                _row_versioned[relation] = stores_rows(conn, relation)
        return _row_versioned[relation]


_not_null: dict[tuple[str, str], bool] = {}


def never_null(conn: psycopg.Connection, table: str, column: str) -> bool:
    """Whether ``gridgeo.<table>.<column>`` is declared NOT NULL (False for a view, whose
    columns declare nothing). Read once, on the caller's connection: a request that
    holds one must not wait for a second from the pool."""
    with _lock:
        if (table, column) not in _not_null:
            row = conn.execute(
                "SELECT a.attnotnull FROM pg_attribute a"
                " WHERE a.attrelid = to_regclass('gridgeo.' || quote_ident(%s))"
                "   AND a.attname = %s AND NOT a.attisdropped", (table, column)).fetchone()
            _not_null[(table, column)] = bool(row and row[0])
        return _not_null[(table, column)]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _tables.clear()
        _row_versioned.clear()
        _not_null.clear()


@dataclass(frozen=True)
class TableInfo:
    """What writing to a table needs: column types, which are required, the geometry."""

    columns: dict[str, Column]
    required: frozenset[str]
    geometry_type: str
    checks: dict[str, str]  # constraint name -> definition


_tables: dict[str, TableInfo] = {}


def table_info(table: str, geometry_column: str) -> TableInfo:
    """Columns, NOT NULL columns without default, geometry type and CHECK rules of a table."""
    with _lock:
        if table not in _tables:
            with connection() as conn:
                rows = conn.execute(
                    "SELECT a.attname, format_type(a.atttypid, NULL),"
                    " a.attnotnull AND NOT a.atthasdef"
                    " FROM pg_attribute a WHERE a.attrelid = to_regclass('gridgeo.' ||"
                    " quote_ident(%s)) AND a.attnum > 0 AND NOT a.attisdropped"
                    " ORDER BY a.attnum", (table,)).fetchall()
                geometry = conn.execute(
                    "SELECT type FROM geometry_columns WHERE f_table_schema = 'gridgeo'"
                    " AND f_table_name = %s AND f_geometry_column = %s",
                    (table, geometry_column)).fetchone()
                checks = conn.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE conrelid = to_regclass('gridgeo.' || quote_ident(%s))"
                    " AND contype = 'c'", (table,)).fetchall()
            _tables[table] = TableInfo(
                columns={name: Column(name, pg_type) for name, pg_type, _ in rows},
                required=frozenset(name for name, _, required in rows if required),
                geometry_type=geometry[0] if geometry else "GEOMETRY",
                checks=dict(checks))
        return _tables[table]
