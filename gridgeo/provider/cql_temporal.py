"""Temporal predicates (T_AFTER ... T_OVERLAPPEDBY) as comparisons of interval endpoints.

Each operand is an interval ``[start, end]``; an instant is an interval with equal ends
and ``'..'`` is an open end (-infinity or +infinity). The relations are Allen's, as CQL2
defines them. When a date meets a timestamp, the date stands for its whole day in the
database session's time zone: from its first to its last microsecond.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from gridgeo.provider.cql_terms import TEMPORAL_KINDS, CqlError, Kind, Term, derived, kind_word

# op -> conjunction of (left endpoint, comparison, right endpoint); s = start, e = end.
RELATIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "t_before": (("e", "<", "s"),),
    "t_after": (("s", ">", "e"),),
    "t_meets": (("e", "=", "s"),),
    "t_metby": (("s", "=", "e"),),
    "t_overlaps": (("s", "<", "s"), ("e", ">", "s"), ("e", "<", "e")),
    "t_overlappedby": (("s", ">", "s"), ("s", "<", "e"), ("e", ">", "e")),
    "t_starts": (("s", "=", "s"), ("e", "<", "e")),
    "t_startedby": (("s", "=", "s"), ("e", ">", "e")),
    "t_during": (("s", ">", "s"), ("e", "<", "e")),
    "t_contains": (("s", "<", "s"), ("e", ">", "e")),
    "t_finishes": (("s", ">", "s"), ("e", "=", "e")),
    "t_finishedby": (("s", "<", "s"), ("e", "=", "e")),
    "t_equals": (("s", "=", "s"), ("e", "=", "e")),
    "t_intersects": (("s", "<=", "e"), ("e", ">=", "s")),
    "t_disjoint": (("s", "<=", "e"), ("e", ">=", "s")),  # negated below
}
_NEGATED = frozenset({"t_disjoint"})
# Open ends are fixed SQL constants, never user values.
_OPEN_ENDS = {
    ("s", "timestamp"): "CAST('-infinity' AS timestamptz)",
    ("e", "timestamp"): "CAST('infinity' AS timestamptz)",
    ("s", "date"): "CAST('-infinity' AS date)",
    ("e", "date"): "CAST('infinity' AS date)",
}


@dataclass(frozen=True)
class Interval:
    """Endpoints of a temporal operand; None is an open end."""

    start: Term | None
    end: Term | None

    @property
    def kinds(self) -> set[str]:
        return {end.kind for end in (self.start, self.end) if end is not None}


def instant_interval(op: str, term: Term) -> Interval:
    """An instant operand (a date or timestamp property or literal) as a closed interval."""
    if term.kind not in TEMPORAL_KINDS:
        raise CqlError(f"{op.upper()} compares dates and times, but {term.label} is "
                       f"{kind_word(term.kind)}; use a date or timestamp property, "
                       "DATE('YYYY-MM-DD'), TIMESTAMP(...) or INTERVAL(...)")
    return Interval(term, term)


def temporal_predicate(op: str, left: Interval, right: Interval) -> Term:
    """The SQL condition for ``op`` between two intervals."""
    grain: Kind = "timestamp" if "timestamp" in left.kinds | right.kinds else "date"
    ends = {"left": _widen(left, grain), "right": _widen(right, grain)}
    parts = [_compare(ends["left"], a, cmp, ends["right"], b, grain)
             for a, cmp, b in RELATIONS[op]]
    condition = derived("(" + " AND ".join("{}" for _ in parts) + ")", "boolean",
                        op.upper(), *parts)
    return derived("(NOT {})", "boolean", op.upper(), condition) if op in _NEGATED \
        else condition


def _widen(interval: Interval, grain: Kind) -> Interval:
    """Dates become the first and last microsecond of their day when times are involved."""
    if grain == "date":
        return interval
    start, end = interval.start, interval.end
    if start is not None and start.kind == "date":
        start = derived("CAST({} AS timestamptz)", "timestamp", start.label, start)
    if end is not None and end.kind == "date":
        end = derived("(CAST({} + 1 AS timestamptz) - interval '1 microsecond')",
                      "timestamp", end.label, end)
    return Interval(start, end)


def _compare(left: Interval, left_end: str, cmp: str, right: Interval, right_end: str,
             grain: Kind) -> Term:
    a = _endpoint(left, left_end, grain)
    b = _endpoint(right, right_end, grain)
    return derived("{} " + cmp + " {}", "boolean", "", a, b)


def _endpoint(interval: Interval, which: str, grain: Kind) -> Term:
    term = interval.start if which == "s" else interval.end
    if term is not None:
        return term
    return Term(sql.SQL(_OPEN_ENDS[which, grain]), (), grain, "an open end")
