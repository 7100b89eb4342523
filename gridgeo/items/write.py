"""Create, replace, patch and delete items: one transaction each, If-Match honoured.

The URL names the item; a body id that disagrees is refused. The row's ``xmin``
(its version) is the ETag: a stale If-Match is a 412, never a lost update; where the
collection requires If-Match, a change without one is a 428. The answer to a write is
read inside the write's transaction, so its body and ETag are the version written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from gridgeo.db.pool import connection
from gridgeo.errors import NotFound, RequestError, trigger_refusal
from gridgeo.items.validate import ValidFeature
from gridgeo.provider.columns import TableInfo
from gridgeo.provider.ids import id_equals, well_formed

LOGGER = logging.getLogger(__name__)
Answer = TypeVar("Answer")
# Builds a write's answer in the write's transaction from the item id and its new ETag.
Answerer = Callable[[psycopg.Connection, str, str], Answer]


@dataclass(frozen=True)
class WriteTarget:
    """The table behind a collection and which of its columns a client may write."""

    collection: str
    table: str
    id_field: str
    geometry_column: str
    info: TableInfo
    writable: frozenset[str]
    if_match_required: bool = False  # collection.yml ``if_match: required``


def etag(version: str) -> str:
    return f'"{version}"'


def _geometry_sql(feature: ValidFeature, target: WriteTarget) -> sql.Composable:
    geom: sql.Composable = sql.SQL("ST_SetSRID(ST_GeomFromWKB(%s), {})").format(
        sql.Literal(feature.geometry_srid))
    if feature.geometry_srid != 4490:
        geom = sql.SQL("ST_Transform({}, 4490)").format(geom)
    if target.info.geometry_type.startswith("MULTI"):
        geom = sql.SQL("ST_Multi({})").format(geom)
    return geom


def _assignments(feature: ValidFeature, target: WriteTarget,
                 replace: bool) -> tuple[list[sql.Composable], list[Any]]:
    values = dict(feature.properties)
    if replace:  # PUT: what the body leaves out becomes NULL
        values = {name: values.get(name) for name in sorted(target.writable)}
    parts: list[sql.Composable] = [sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values]
    params: list[Any] = list(values.values())
    if feature.geometry_wkb is not None:
        parts.append(sql.SQL("{} = {}").format(sql.Identifier(target.geometry_column),
                                               _geometry_sql(feature, target)))
        params.append(feature.geometry_wkb)
    return parts, params


def _table(target: WriteTarget) -> sql.Composable:
    return sql.SQL("gridgeo.{}").format(sql.Identifier(target.table))


def _id_is(target: WriteTarget) -> sql.Composable:
    """``id = %s`` with the parameter in the id column's type: the primary key answers."""
    return id_equals(sql.Identifier(target.id_field), target.info.columns[target.id_field].pg_type)


def _existing(target: WriteTarget, item_id: str) -> None:
    """A NotFound for an id that cannot name an item of the table at all."""
    if not well_formed(item_id, target.info.columns[target.id_field].pg_type):
        raise NotFound(f"No item with id {item_id} in collection {target.collection}.")


def require_precondition(target: WriteTarget, if_match: str | None) -> None:
    """428 when the collection requires If-Match and the change names no version it
    read: without one, two writers would silently overwrite each other (RFC 6585)."""
    if not target.if_match_required:
        return
    if if_match is None or not if_match.strip():
        raise RequestError(f"changes to {target.collection} need an If-Match header with the "
                           "ETag of the item as you read it; GET the item, then send its ETag.",
                           428, "PreconditionRequired")
    if if_match.strip() == "*":
        raise RequestError(f"If-Match: * names no version; changes to {target.collection} need "
                           "the ETag of the item as you read it.", 428, "PreconditionRequired")


def create(target: WriteTarget, feature: ValidFeature, answer: Answerer[Answer]) -> Answer:
    """Insert; returns ``answer`` for the new id and its ETag, built before the commit."""
    names = [sql.Identifier(k) for k in feature.properties]
    values: list[sql.Composable] = [sql.Placeholder()] * len(names)
    params: list[Any] = list(feature.properties.values())
    if feature.geometry_wkb is not None:
        names.append(sql.Identifier(target.geometry_column))
        values.append(_geometry_sql(feature, target))
        params.append(feature.geometry_wkb)
    stmt = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}::text, xmin::text").format(
        _table(target), sql.SQL(", ").join(names), sql.SQL(", ").join(values),
        sql.Identifier(target.id_field))
    with database_write_errors(target), connection() as conn:
        row = conn.execute(stmt, params).fetchone()
        assert row is not None
        return answer(conn, row[0], etag(row[1]))


def lock_statement(target: WriteTarget) -> sql.Composed:
    """Reads and locks one row's version: what If-Match is compared with."""
    return sql.SQL("SELECT xmin::text FROM {} WHERE {} FOR UPDATE").format(
        _table(target), _id_is(target))


def _lock(conn: psycopg.Connection, target: WriteTarget, item_id: str,
          if_match: str | None) -> None:
    row = conn.execute(lock_statement(target), (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"No item with id {item_id} in collection {target.collection}.")
    if if_match is not None and if_match.strip() != "*" and \
            etag(row[0]) not in [t.strip() for t in if_match.split(",")]:
        raise RequestError(f"item {item_id} has changed since you read it (ETag now "
                           f"{etag(row[0])}); fetch it again and reapply your change.",
                           412, "PreconditionFailed")


def update(target: WriteTarget, item_id: str, feature: ValidFeature, replace: bool,
           if_match: str | None, answer: Answerer[Answer]) -> Answer:
    """PUT (replace) or PATCH (merge); returns ``answer`` for the item and its new ETag."""
    require_precondition(target, if_match)
    _existing(target, item_id)
    parts, params = _assignments(feature, target, replace)
    with database_write_errors(target), connection() as conn:
        _lock(conn, target, item_id, if_match)
        if not parts:
            return answer(conn, item_id, current_etag(conn, target, item_id) or "")
        stmt = sql.SQL("UPDATE {} SET {} WHERE {} RETURNING xmin::text").format(
            _table(target), sql.SQL(", ").join(parts), _id_is(target))
        row = conn.execute(stmt, [*params, item_id]).fetchone()
        assert row is not None
        return answer(conn, item_id, etag(row[0]))


def delete(target: WriteTarget, item_id: str, if_match: str | None) -> None:
    require_precondition(target, if_match)
    _existing(target, item_id)
    with database_write_errors(target), connection() as conn:
        _lock(conn, target, item_id, if_match)
        conn.execute(sql.SQL("DELETE FROM {} WHERE {}").format(_table(target), _id_is(target)),
                     (item_id,))


def current_etag(conn: psycopg.Connection, target: WriteTarget, item_id: str) -> str | None:
    row = conn.execute(sql.SQL("SELECT xmin::text FROM {} WHERE {}").format(
        _table(target), _id_is(target)), (item_id,)).fetchone()
    return etag(row[0]) if row else None


_ANY_ARRAY = re.compile(r"'([^']*)'::")
_KEY = re.compile(r"\((?P<column>[^)]*)\)=\((?P<value>.*?)\)(?: is not present in table "
                  r"\"(?P<table>[^\"]+)\")?")


def _key_sentence(detail: str | None, duplicate: bool) -> str:
    match = _KEY.search(detail or "")
    if match is None:
        return ("an item with the same natural code exists already." if duplicate
                else "a referenced item does not exist.")
    column, value = match["column"], match["value"]
    if duplicate:
        return f"an item with {column} {value} exists already."
    return f"{column} {value!r} does not exist in {match['table'] or 'the referenced table'}."


def _check_sentence(target: WriteTarget, constraint: str) -> str:
    definition = target.info.checks.get(constraint, "")
    column = next((c for c in target.info.columns
                   if constraint == f"{target.table}_{c}_check"), None)
    choices = _ANY_ARRAY.findall(definition)
    if column and "ANY (ARRAY[" in definition and choices:
        return f"property {column!r} must be one of: {', '.join(choices)}."
    if column:
        return f"property {column!r} breaks the rule {constraint}."
    return f"the item breaks the rule {constraint} (see the collection's documentation)."


class database_write_errors:
    """Database refusals as 4xx sentences; the transaction is rolled back by the pool."""

    def __init__(self, target: WriteTarget):
        self.target = target

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None or not isinstance(exc, psycopg.Error):
            return
        diag = exc.diag
        LOGGER.info("write refused: %s", exc)
        refusal = trigger_refusal(exc, "the write was refused.")
        if refusal is not None:
            raise refusal from None
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            # A row-level security policy: the item would end outside what the caller reads.
            raise RequestError("your role may not write this item: it would lie outside "
                               "what your role may read (your grids, or a sensitive "
                               "category).", 403, "Forbidden") from None
        if isinstance(exc, psycopg.errors.UniqueViolation):
            raise RequestError(_key_sentence(diag.message_detail, True), 409,
                               "Conflict") from None
        if isinstance(exc, psycopg.errors.CheckViolation):
            raise RequestError(_check_sentence(self.target, diag.constraint_name or "")) \
                from None
        if isinstance(exc, psycopg.errors.NotNullViolation):
            raise RequestError(f"property {diag.column_name!r} is required.") from None
        if isinstance(exc, psycopg.errors.ForeignKeyViolation):
            raise RequestError(_key_sentence(diag.message_detail, False)) from None
        if isinstance(exc, psycopg.errors.DataError | psycopg.errors.InternalError_):
            raise RequestError("a value cannot be stored as given (wrong form or out of "
                               "range); check dates, numbers and the geometry.") from None
        LOGGER.error("write failed: %s", exc)
        raise RequestError("the write failed on the server and nothing was changed.", 500,
                           "ServerError") from None
