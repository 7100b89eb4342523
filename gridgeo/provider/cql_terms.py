"""Typed SQL fragments that CQL2 expressions compile to, and the error a bad filter raises.

Every value reaches the database as a bound parameter: a fragment carries its SQL text
(with ``%s`` placeholders) and the values for those placeholders, in order.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from psycopg import sql

Kind = Literal["text", "number", "boolean", "date", "timestamp", "geometry", "json", "other"]

TEMPORAL_KINDS: frozenset[Kind] = frozenset({"date", "timestamp"})

_KINDS: dict[str, Kind] = {
    "text": "text", "character varying": "text", "varchar": "text", "character": "text",
    "char": "text", "bpchar": "text", "citext": "text", "name": "text",
    "smallint": "number", "integer": "number", "bigint": "number", "numeric": "number",
    "real": "number", "double precision": "number",
    "boolean": "boolean",
    "date": "date",
    "timestamp with time zone": "timestamp", "timestamp without time zone": "timestamp",
    "geometry": "geometry", "geography": "geometry",
    "json": "json", "jsonb": "json",
    "uuid": "text",
}
# Text-like types that compare as text only after a cast (a uuid column against 'abc'
# would otherwise be a database error, not a non-match).
_CAST_TO_TEXT = frozenset({"uuid"})

_KIND_WORDS: dict[Kind, str] = {
    "text": "text", "number": "a number", "boolean": "a boolean", "date": "a date",
    "timestamp": "a timestamp", "geometry": "a geometry", "json": "a JSON object",
    "other": "of a type filters cannot compare",
}


class CqlError(ValueError):
    """A filter that cannot be compiled; the message is one sentence saying what to fix."""


@dataclass(frozen=True)
class Term:
    """A compiled expression: SQL, its bound values in placeholder order, and its kind."""

    sql: sql.Composable
    params: tuple[Any, ...]
    kind: Kind
    label: str
    value: Any = None
    is_literal: bool = False


def compose(template: str, *parts: Term) -> tuple[sql.Composable, tuple[Any, ...]]:
    """Fill each ``{}`` of ``template`` with a part's SQL; values follow in the same order.

    ``template`` is fixed SQL written here, never user text; it must not contain ``%``.
    """
    composed = sql.SQL(template).format(*(part.sql for part in parts))
    return composed, tuple(value for part in parts for value in part.params)


def derived(template: str, kind: Kind, label: str, *parts: Term) -> Term:
    """A new term computed from ``parts`` by the SQL in ``template``."""
    text, params = compose(template, *parts)
    return Term(text, params, kind, label)


def kind_word(kind: Kind) -> str:
    return _KIND_WORDS[kind]


def column_kind(pg_type: str) -> Kind:
    """The comparison family of a PostgreSQL type name as ``format_type`` prints it."""
    base = pg_type.split("(")[0].strip().lower()
    if base.endswith("[]"):
        return "other"
    return _KINDS.get(base, "other")


def column_term(name: str, pg_type: str) -> Term:
    """The term for a queryable column of the row alias ``t``."""
    column = sql.SQL("t.{}").format(sql.Identifier(name))
    if pg_type.split("(")[0].strip().lower() in _CAST_TO_TEXT:
        column = sql.SQL("CAST({} AS text)").format(column)
    return Term(column, (), column_kind(pg_type), f"property '{name}'")


def unknown_property(name: str, queryables: Mapping[str, str] | list[str]) -> CqlError:
    names = ", ".join(sorted(queryables)) or "(none)"
    return CqlError(f"unknown property '{name}' in filter; queryable properties are: {names}")


# -- literals ---------------------------------------------------------------------------

def text_literal(value: str) -> Term:
    return Term(sql.SQL("CAST(%s AS text)"), (value,), "text", f"the text '{value}'",
                value, True)


def number_literal(value: float) -> Term:
    try:
        as_float = float(value)
    except OverflowError:
        as_float = math.inf
    if not math.isfinite(as_float):
        raise CqlError("a number in the filter is too large to be a number; "
                       "use one below 1e308")
    number: int | float = int(as_float) if as_float.is_integer() and abs(as_float) < 2**53 \
        else as_float
    return Term(sql.SQL("%s"), (number,), "number", f"the number {number}", number, True)


def boolean_literal(value: bool) -> Term:
    word = "TRUE" if value else "FALSE"
    return Term(sql.SQL("CAST(%s AS boolean)"), (value,), "boolean", word, value, True)


def date_literal(value: dt.date) -> Term:
    return Term(sql.SQL("CAST(%s AS date)"), (value,), "date",
                f"DATE('{value.isoformat()}')", value, True)


def timestamp_literal(value: dt.datetime) -> Term:
    return Term(sql.SQL("CAST(%s AS timestamptz)"), (value,), "timestamp",
                f"TIMESTAMP('{value.isoformat()}')", value, True)


def parse_date(text: str) -> dt.date:
    """A CQL2 date (``YYYY-MM-DD``)."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise CqlError(f"'{text}' is not a valid date; write it as DATE('YYYY-MM-DD')") \
            from None


def parse_timestamp(text: str) -> dt.datetime:
    """A CQL2 timestamp (RFC 3339); one without a UTC offset is taken as UTC."""
    try:
        if len(text) < 19 or text[10] not in "Tt ":
            raise ValueError(text)
        value = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except (TypeError, ValueError):
        raise CqlError(f"'{text}' is not a valid timestamp; write it as "
                       "TIMESTAMP('YYYY-MM-DDThh:mm:ssZ')") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def instant_literal(text: str) -> Term:
    """A date or timestamp literal from a bare string, as CQL2 writes interval ends."""
    if len(text) == 10:
        return date_literal(parse_date(text))
    return timestamp_literal(parse_timestamp(text))
