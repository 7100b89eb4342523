"""CQL2 filters (OGC API - Features Part 3) compiled to PostgreSQL/PostGIS conditions.

``compile_filter`` reads CQL2 text or CQL2-JSON, checks every property against the
queryable columns, and returns an SQL condition on the row alias ``t`` with its bound
values. Nothing the client wrote is ever spliced into the SQL text. See docs/cql.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from psycopg import sql

from gridgeo.provider.cql_compile import Compiler, Schema
from gridgeo.provider.cql_parse import MAX_DEPTH, MAX_LENGTH, MAX_NODES, read_filter
from gridgeo.provider.cql_spatial import SpatialContext
from gridgeo.provider.cql_terms import CqlError

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "MAX_NODES", "CqlError", "compile_filter",
           "installed_unaccent"]

_unaccent_lock = threading.Lock()
_unaccent_schema: list[str | None] = []


def installed_unaccent() -> str | None:
    """The schema of the database's unaccent extension, or None; looked up once per process."""
    with _unaccent_lock:
        if not _unaccent_schema:
            from gridgeo.db.pool import connection

            with connection() as conn:
                row = conn.execute(
                    "SELECT n.nspname FROM pg_extension e"
                    " JOIN pg_namespace n ON n.oid = e.extnamespace"
                    " WHERE e.extname = 'unaccent'").fetchone()
            _unaccent_schema.append(row[0] if row else None)
        return _unaccent_schema[0]


def compile_filter(text_or_json: str | dict[str, Any], lang: str | None,
                   columns: Mapping[str, str], geometry_column: str,
                   filter_srid: int = 4326, storage_srid: int = 4490,
                   lat_first_filter: bool = False, *,
                   unaccent: Callable[[], str | None] = installed_unaccent,
                   ) -> tuple[sql.Composable, list[Any]]:
    """Compile a CQL2 filter to an SQL boolean expression over ``t`` and its parameters.

    ``lang`` is ``cql2-text`` or ``cql2-json`` (``cql-text``/``cql-json`` are accepted
    too); None guesses JSON for a dict or a string starting with ``{``. ``columns`` maps
    each queryable property to its PostgreSQL type name; the geometry column
    ``geometry_column`` is queryable as ``geometry`` and by its own name. Geometry
    literals are in EPSG ``filter_srid`` (latitude first when ``lat_first_filter``) and
    are transformed to ``storage_srid``. ``unaccent`` names the schema holding the
    unaccent extension (or None), called only when the filter uses ACCENTI.

    Raises CqlError, with one sentence saying what to fix, for an unknown property or
    function, a type mismatch, a malformed filter, or one that is too complex.
    """
    tree = read_filter(text_or_json, lang)
    schema = Schema(
        columns=columns, geometry_column=geometry_column,
        spatial=SpatialContext(int(filter_srid), int(storage_srid), bool(lat_first_filter)),
        unaccent=unaccent,
    )
    condition = Compiler(schema).condition(tree)
    return condition.sql, list(condition.params)
