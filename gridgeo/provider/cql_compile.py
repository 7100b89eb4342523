"""The compiler from a CQL2-JSON tree to a PostgreSQL condition on the row alias ``t``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from gridgeo.provider import cql_spatial as spatial
from gridgeo.provider import cql_temporal as temporal
from gridgeo.provider.cql_terms import (
    TEMPORAL_KINDS,
    CqlError,
    Kind,
    Term,
    boolean_literal,
    column_term,
    date_literal,
    derived,
    instant_literal,
    kind_word,
    number_literal,
    parse_date,
    parse_timestamp,
    text_literal,
    timestamp_literal,
    unknown_property,
)

_COMPARISONS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ARITHMETIC = {
    "+": "({} + {})",
    "-": "({} - {})",
    "*": "({} * {})",
    "/": "(CAST({} AS numeric) / NULLIF(CAST({} AS numeric), 0))",
    "%": "mod(CAST({} AS numeric), NULLIF(CAST({} AS numeric), 0))",
    "div": "div(CAST({} AS numeric), NULLIF(CAST({} AS numeric), 0))",
    "^": "power(CAST({} AS double precision), CAST({} AS double precision))",
}
_FAMILY: dict[Kind, str] = {"date": "temporal", "timestamp": "temporal"}
_SUPPORTED_FUNCTIONS = "CASEI, ACCENTI, S_DWITHIN and the S_*, T_* and arithmetic operators"


@dataclass(frozen=True)
class Schema:
    """What a filter may refer to and how its values map onto the stored rows."""

    columns: Mapping[str, str]
    geometry_column: str
    spatial: spatial.SpatialContext
    unaccent: Callable[[], str | None]


class Compiler:
    """Turns one CQL2-JSON tree into a boolean ``Term``; raises CqlError on any misuse."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._operations: dict[str, Callable[[str, list[Any]], Term]] = {
            "and": self._logical, "or": self._logical, "not": self._negation,
            "like": self._like, "in": self._membership, "between": self._between,
            "isnull": self._is_null, "casei": self._casei, "accenti": self._accenti,
            "s_dwithin": self._within_distance,
            **dict.fromkeys(_COMPARISONS, self._comparison),
            **dict.fromkeys(_ARITHMETIC, self._arithmetic),
            **dict.fromkeys(spatial.PREDICATES, self._spatial),
            **dict.fromkeys(temporal.RELATIONS, self._temporal),
        }

    def condition(self, tree: Any) -> Term:
        """The whole filter, which must be true or false for each row."""
        term = self.expression(tree)
        if term.kind != "boolean":
            raise CqlError(f"the filter must be a condition that is true or false, but it is "
                           f"{term.label}; compare it with something, e.g. name = 'value'")
        return term

    # -- dispatch -----------------------------------------------------------------------

    def expression(self, node: Any) -> Term:
        if isinstance(node, bool):
            return boolean_literal(node)
        if isinstance(node, int | float):
            return number_literal(node)
        if isinstance(node, str):
            return text_literal(node)
        if isinstance(node, dict):
            return self._object(node)
        if isinstance(node, list):
            raise CqlError("a list of values can only follow IN, as in colour IN ('red', 'blue')")
        raise CqlError("NULL is not a value in CQL2; test for it with IS NULL")

    def _object(self, node: dict[str, Any]) -> Term:
        if "op" in node:
            return self._operation(node)
        if "property" in node:
            return self._property(node["property"])
        if "date" in node:
            return date_literal(parse_date(_text(node["date"], "DATE")))
        if "timestamp" in node:
            return timestamp_literal(parse_timestamp(_text(node["timestamp"], "TIMESTAMP")))
        if "interval" in node:
            raise CqlError("INTERVAL(...) can only be an argument of a temporal operator such "
                           "as T_INTERSECTS or T_DURING")
        if "bbox" in node and _bbox_with_property(node):
            return self._bbox_predicate(node["bbox"])
        if spatial.is_geometry_literal(node) or "type" in node:
            return spatial.geometry_literal(node, self.schema.spatial).term
        raise CqlError(f"the filter has a JSON object with keys {sorted(node)} that is not "
                       "CQL2; use op/args, property, date, timestamp, interval, bbox or "
                       "a GeoJSON geometry")

    def _operation(self, node: dict[str, Any]) -> Term:
        op, args = node["op"], node.get("args")
        if not isinstance(op, str) or not isinstance(args, list):
            raise CqlError(f"the operation {op!r} in the filter needs an 'args' list")
        name = op.lower()
        handler = self._operations.get(name)
        if handler is None:
            raise _unknown_function(op)
        return handler(name, args)

    def _property(self, name: Any) -> Term:
        if not isinstance(name, str):
            raise CqlError(f"a property name must be text, not {name!r}")
        if name in self.schema.columns:
            return column_term(name, self.schema.columns[name])
        if name in ("geometry", self.schema.geometry_column):
            return column_term(self.schema.geometry_column, "geometry")
        raise unknown_property(name, [*self.schema.columns, "geometry"])

    # -- logic --------------------------------------------------------------------------

    def _logical(self, op: str, args: list[Any]) -> Term:
        if len(args) < 2:
            raise CqlError(f"{op.upper()} needs at least two conditions")
        parts = [self._boolean(op, arg) for arg in args]
        joint = f" {op.upper()} ".join("{}" for _ in parts)
        return derived(f"({joint})", "boolean", f"{op.upper()} condition", *parts)

    def _negation(self, op: str, args: list[Any]) -> Term:
        _arity(op, args, 1)
        return derived("(NOT {})", "boolean", "NOT condition", self._boolean(op, args[0]))

    def _boolean(self, op: str, node: Any) -> Term:
        term = self.expression(node)
        if term.kind != "boolean":
            raise CqlError(f"{op.upper()} combines conditions, but {term.label} is "
                           f"{kind_word(term.kind)}; compare it first, e.g. name = 'value'")
        return term

    def _is_null(self, op: str, args: list[Any]) -> Term:
        _arity(op, args, 1)
        return derived("({} IS NULL)", "boolean", "IS NULL", self.expression(args[0]))

    # -- comparison ---------------------------------------------------------------------

    def _comparison(self, op: str, args: list[Any]) -> Term:
        _arity(op, args, 2)
        left, right = self._comparable(op, self.expression(args[0]), self.expression(args[1]))
        if left.kind == "boolean" and op not in ("=", "<>"):
            raise CqlError(f"{op} does not order booleans; compare {left.label} with = or <>")
        return derived("({} " + _COMPARISONS[op] + " {})", "boolean", f"{op} comparison",
                       left, right)

    def _comparable(self, op: str, left: Term, right: Term) -> tuple[Term, Term]:
        """Both sides, with a literal adapted to the other side's type, or a CqlError."""
        left, right = _adapt(left, right), _adapt(right, left)
        for side in (left, right):
            _require_comparable(op, side)
        if _family(left.kind) != _family(right.kind):
            subject, other = (right, left) if left.is_literal else (left, right)
            raise CqlError(f"{subject.label} is {kind_word(subject.kind)}, so it cannot be "
                           f"compared with {other.label}; {_example_for(subject.kind)}")
        return left, right

    def _membership(self, op: str, args: list[Any]) -> Term:
        _arity(op, args, 2)
        subject, values = self.expression(args[0]), args[1]
        if not isinstance(values, list) or not values:
            raise CqlError("IN needs a list of values, as in colour IN ('red', 'blue')")
        items = [self._comparable("in", subject, self.expression(v))[1] for v in values]
        subject = self._comparable("in", subject, items[0])[0]
        slots = ", ".join("{}" for _ in items)
        return derived("({} IN (" + slots + "))", "boolean", "IN", subject, *items)

    def _between(self, op: str, args: list[Any]) -> Term:
        _arity(op, args, 3)
        subject, low, high = (self.expression(arg) for arg in args)
        subject, low = self._comparable(op, subject, low)
        subject, high = self._comparable(op, subject, high)
        if _family(subject.kind) not in ("number", "temporal"):
            raise CqlError(f"BETWEEN needs numbers, dates or timestamps, but {subject.label} "
                           f"is {kind_word(subject.kind)}; use >= and <= or IN instead")
        return derived("({} BETWEEN {} AND {})", "boolean", "BETWEEN", subject, low, high)

    # -- text ---------------------------------------------------------------------------

    def _like(self, op: str, args: list[Any]) -> Term:
        _arity(op, args, 2)
        subject, pattern = self.expression(args[0]), self.expression(args[1])
        if subject.kind != "text":
            raise CqlError(f"LIKE matches text, but {subject.label} is "
                           f"{kind_word(subject.kind)}; compare it with =, <, > or BETWEEN")
        if pattern.kind != "text":
            raise CqlError(f"the LIKE pattern must be quoted text such as 'abc%', not "
                           f"{pattern.label}")
        return derived("({} LIKE {})", "boolean", "LIKE", subject, pattern)

    def _casei(self, op: str, args: list[Any]) -> Term:
        argument = self._text_argument(op, args)
        return derived("lower({})", "text", f"CASEI({argument.label})", argument)

    def _accenti(self, op: str, args: list[Any]) -> Term:
        argument = self._text_argument(op, args)
        schema = self.schema.unaccent()
        if schema is None:
            raise CqlError("ACCENTI needs the database extension unaccent, which is not "
                           "installed; remove ACCENTI or ask an administrator to run "
                           "CREATE EXTENSION unaccent")
        text = sql.SQL("{}.unaccent({})").format(sql.Identifier(schema), argument.sql)
        return Term(text, argument.params, "text", f"ACCENTI({argument.label})")

    def _text_argument(self, op: str, args: list[Any]) -> Term:
        _arity(op, args, 1)
        argument = self.expression(args[0])
        if argument.kind != "text":
            raise CqlError(f"{op.upper()} works on text, but {argument.label} is "
                           f"{kind_word(argument.kind)}")
        return argument

    # -- arithmetic ---------------------------------------------------------------------

    def _arithmetic(self, op: str, args: list[Any]) -> Term:
        _arity(op, args, 2)
        operands = [self.expression(arg) for arg in args]
        for operand in operands:
            if operand.kind != "number":
                raise CqlError(f"the operator {op} needs numbers, but {operand.label} is "
                               f"{kind_word(operand.kind)}")
        return derived(_ARITHMETIC[op], "number", f"an arithmetic expression ({op})",
                       *operands)

    # -- space --------------------------------------------------------------------------

    def _spatial(self, op: str, args: list[Any]) -> Term:
        _arity(op, args, 2)
        return spatial.spatial_predicate(op, self.expression(args[0]),
                                         self.expression(args[1]))

    def _within_distance(self, op: str, args: list[Any]) -> Term:
        if len(args) not in (3, 4):
            raise CqlError("S_DWITHIN takes a geometry, another geometry, a distance and an "
                           "optional unit, e.g. S_DWITHIN(geometry, POINT(116.4 39.9), 500, "
                           "meters)")
        metres = spatial.distance_metres(args[2], args[3] if len(args) == 4 else None)
        return spatial.within_distance(self.expression(args[0]), self.expression(args[1]),
                                       metres, self.schema.spatial)

    def _bbox_predicate(self, values: list[Any]) -> Term:
        """The function form BBOX(property, x1, y1, x2, y2): the property meets the box."""
        subject = self.expression(values[0])
        box = spatial.geometry_literal({"bbox": values[1:]}, self.schema.spatial).term
        return spatial.spatial_predicate("s_intersects", subject, box)

    # -- time ---------------------------------------------------------------------------

    def _temporal(self, op: str, args: list[Any]) -> Term:
        _arity(op, args, 2)
        return temporal.temporal_predicate(op, self._interval(op, args[0]),
                                           self._interval(op, args[1]))

    def _interval(self, op: str, node: Any) -> temporal.Interval:
        if isinstance(node, dict) and "interval" in node:
            ends = node["interval"]
            if not isinstance(ends, list) or len(ends) != 2:
                raise CqlError("INTERVAL needs a start and an end, e.g. "
                               "INTERVAL('2024-01-01', '..')")
            return temporal.Interval(self._interval_end(op, ends[0]),
                                     self._interval_end(op, ends[1]))
        term = self.expression(node)
        if term.is_literal and term.kind == "text":
            term = instant_literal(term.value)
        return temporal.instant_interval(op, term)

    def _interval_end(self, op: str, node: Any) -> Term | None:
        if node == "..":
            return None
        term = instant_literal(node) if isinstance(node, str) else self.expression(node)
        return temporal.instant_interval(op, term).start


# -- helpers ------------------------------------------------------------------------------

def _arity(op: str, args: list[Any], count: int) -> None:
    if len(args) != count:
        raise CqlError(f"{op.upper()} takes {count} argument{'s' if count > 1 else ''} but "
                       f"the filter gives it {len(args)}")


def _text(value: Any, function: str) -> str:
    if not isinstance(value, str):
        raise CqlError(f"{function} needs quoted text, e.g. {function}('2024-01-31')")
    return value


def _bbox_with_property(node: dict[str, Any]) -> bool:
    values = node["bbox"]
    return isinstance(values, list) and bool(values) and isinstance(values[0], dict)


def _unknown_function(op: str) -> CqlError:
    if op.lower().startswith("a_"):
        return CqlError(f"the array operator {op.upper()} is not supported; "
                        "filter on single values instead")
    return CqlError(f"unknown function '{op}' in filter; supported are {_SUPPORTED_FUNCTIONS}")


def _family(kind: Kind) -> str:
    return _FAMILY.get(kind, kind)


def _require_comparable(op: str, term: Term) -> None:
    if term.kind == "geometry":
        raise CqlError(f"{op} cannot compare geometries such as {term.label}; use S_EQUALS, "
                       "S_INTERSECTS or another spatial operator")
    if term.kind in ("json", "other"):
        raise CqlError(f"{term.label} is {kind_word(term.kind)}; filters can only test it "
                       "with IS NULL")


def _adapt(term: Term, other: Term) -> Term:
    """A text literal read as the other side's type (numbers, dates, booleans), if it is one."""
    if not (term.is_literal and term.kind == "text") or other.kind == "text":
        return term
    value: str = term.value
    try:
        if other.kind == "number":
            return number_literal(float(value.strip()))
        if other.kind in TEMPORAL_KINDS:
            return instant_literal(value)
    except (ValueError, CqlError):
        return term
    if other.kind == "boolean" and value.lower() in ("true", "false"):
        return boolean_literal(value.lower() == "true")
    return term


def _example_for(kind: Kind) -> str:
    examples = {
        "number": "use a number such as 5",
        "text": "quote the value, e.g. 'abc'",
        "boolean": "use TRUE or FALSE",
        "date": "use DATE('YYYY-MM-DD')",
        "timestamp": "use TIMESTAMP('YYYY-MM-DDThh:mm:ssZ')",
    }
    return examples.get(kind, "compare values of the same type")
