"""What can be imported: each target collection's table, natural key and geometry.

The columns, their types, which are required and the simple rules (allowed words,
code patterns) are read from the database itself, so the importer checks exactly what
the tables enforce and never keeps a second copy of those rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg

# Set by the database (triggers, serials), never taken from a file.
DERIVED = frozenset({"id", "grid_code", "dedicated_grid_code", "police_grid_code", "area_m2",
                     "length_m", "updated_at", "state_changed_at", "closed_on_time"})


@dataclass(frozen=True)
class Target:
    name: str
    table: str
    key: tuple[str, ...]
    geometry: str | None = None     # the table's geometry type, None for plain tables
    update: bool = True             # re-import updates rows; False: insert new ones only
    staff_column: str | None = None  # a staff_no in the file becomes this staff id column
    retirable: bool = False          # rows missing from the source may be retired


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("departments", "departments", ("code",)),
    Target("staff", "staff", ("staff_no",)),
    Target("grids", "grids", ("code",), "MultiPolygon", retirable=True),
    Target("grid_assignments", "grid_assignments", ("grid_code", "staff_no", "role"),
           staff_column="staff_id"),
    Target("police_grids", "police_grids", ("code",), "MultiPolygon", retirable=True),
    Target("police_grid_assignments", "police_grid_assignments",
           ("police_grid_code", "staff_no"), staff_column="staff_id"),
    Target("addresses", "addresses", ("address_code",), "Point"),
    Target("mine_tunnels", "mine_tunnels", ("adit_no",), "Point"),
    Target("greenhouses", "greenhouses", ("gh_no",), "Polygon"),
    # An incident already in gridgeo lives on in its workflow there: never overwritten.
    Target("incidents", "incidents", ("case_no",), "Point", update=False),
)}
# Not tables of rows: the road network is rebuilt whole, the DEM is a file.
SPECIAL_TARGETS = ("roads", "dem")
ORDER = (*TARGETS, *SPECIAL_TARGETS)


@dataclass(frozen=True)
class Column:
    name: str
    type: str        # udt name: text, int4, float8, bool, date, timestamptz...
    required: bool   # NOT NULL without a default
    allowed: tuple[str, ...] = ()  # from a CHECK (col IN (...)) constraint
    patterns: tuple[str, ...] = ()  # from CHECK (col ~ '...') constraints


@dataclass(frozen=True)
class TableShape:
    columns: dict[str, Column] = field(default_factory=dict)

    def importable(self, target: Target) -> list[str]:
        names = [c for c in self.columns if (c not in DERIVED or c in target.key)
                 and c != "geom" and c != target.staff_column]
        return [*names, "staff_no"] if target.staff_column else names

    def required(self, target: Target) -> frozenset[str]:
        """The importable columns every row must fill (NOT NULL, no default)."""
        return frozenset(name for name in self.importable(target)
                         if name in self.columns and self.columns[name].required)


_ANY = re.compile(r"\(\(?(\w+) = ANY \(ARRAY\[(.*?)\]\)\)?\)")
_WORD = re.compile(r"'((?:[^']|'')*)'::text")
_PATTERN = re.compile(r"^CHECK \(\((\w+) ~ '((?:[^']|'')*)'::text\)\)$")


def table_shape(conn: psycopg.Connection, table: str) -> TableShape:
    """The table's columns with the rules its simple CHECK constraints state."""
    rows = conn.execute(
        "SELECT column_name, udt_name, is_nullable = 'NO' AND column_default IS NULL"
        "  FROM information_schema.columns WHERE table_schema = 'gridgeo' AND table_name = %s"
        " ORDER BY ordinal_position", (table,)).fetchall()
    checks = [r[0] for r in conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = ('gridgeo.' || %s)::regclass AND contype = 'c'", (table,))]
    allowed: dict[str, tuple[str, ...]] = {}
    patterns: dict[str, list[str]] = {}
    for check in checks:
        if (m := _ANY.fullmatch(check.removeprefix("CHECK ").strip())) is not None:
            allowed[m.group(1)] = tuple(w.replace("''", "'") for w in _WORD.findall(m.group(2)))
        elif (p := _PATTERN.match(check)) is not None:
            patterns.setdefault(p.group(1), []).append(p.group(2).replace("''", "'"))
    return TableShape({
        name: Column(name, udt, required, allowed.get(name, ()), tuple(patterns.get(name, ())))
        for name, udt, required in rows})
