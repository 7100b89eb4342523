"""Item ids compared in their column's own type, so the primary key's index answers.

``id::text = %s`` reads every row of the table; ``id = %s::integer`` one index entry.
A text that cannot be a value of the id column names no item: a 404, never a cast error.
"""

from __future__ import annotations

import re

from psycopg import sql

# Exclusive bounds of PostgreSQL's integer types.
_INTEGER_BOUNDS = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
# The spellings PostgreSQL's uuid input accepts that matter: hyphens optional, braces too.
_UUID = re.compile(r"\{?[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}\}?")


def id_value(pg_type: str) -> sql.Composable:
    """The bound id cast to its column's type (the cast is on the parameter, never on
    the column, or the index could not be used)."""
    if pg_type == "text":
        return sql.Placeholder()
    return sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(pg_type))


def id_equals(column: sql.Composable, pg_type: str) -> sql.Composable:
    """``column = %s``, the parameter in the column's type."""
    return sql.SQL("{} = {}").format(column, id_value(pg_type))


def well_formed(item_id: str, pg_type: str) -> bool:
    """Whether ``item_id`` can be a value of an id column of ``pg_type`` at all."""
    if pg_type in _INTEGER_BOUNDS:
        bound = _INTEGER_BOUNDS[pg_type]
        return _INTEGER.fullmatch(item_id) is not None and -bound <= int(item_id) < bound
    if pg_type == "uuid":
        return _UUID.fullmatch(item_id) is not None
    return "\x00" not in item_id
