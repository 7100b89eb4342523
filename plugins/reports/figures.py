"""The town's figures for one period: one query for every table, chart and format.

Cases are those reported in the period (local days). Each counts once in the totals
(accepted = resolved + in progress + invalid, as towns publish them) and once in each
breakdown: by category, unit grid, department and grid worker, and by colour with its
on-time rate. The report kind's colour also lists its cases one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import psycopg
from gridgeo_plugins.reports.periods import Period

from gridgeo.timezone import local_zone

MEASURES = ("accepted", "resolved", "in_progress", "invalid", "on_time", "overdue")
BREAKDOWNS = ("category", "grid", "department", "worker", "colour")

# Every row's outcome first, then all groupings in one pass (GROUPING SETS).
_CASES = """
WITH cases AS (
    SELECT v.case_no, v.colour, v.state, v.category_code, v.category_name,
           c.name_en AS category_name_en, v.grid_code, g.name AS grid_name,
           v.department_code, v.department_name, v.grid_worker_id, v.grid_worker_name,
           v.deadline_at, c.sensitive,
           CASE WHEN v.state IN ('resolved', 'verified', 'closed') THEN 'resolved'
                WHEN v.state IN ('invalid', 'duplicate') THEN 'invalid'
                ELSE 'in_progress' END AS outcome,
           v.state IN ('resolved', 'verified', 'closed')
               AND coalesce(v.closed_on_time, v.resolved_at <= v.deadline_at, true) AS on_time,
           -- late: resolved after the handling deadline, or open past its current one (a
           -- resolved case's later deadlines, to verify and close, are not the worker's)
           CASE WHEN v.state IN ('resolved', 'verified', 'closed')
                THEN NOT coalesce(v.closed_on_time, v.resolved_at <= v.deadline_at, true)
                WHEN v.state IN ('invalid', 'duplicate') THEN false
                ELSE v.overdue END AS overdue
      FROM gridgeo.incidents_view v
      JOIN gridgeo.incident_categories c ON c.code = v.category_code
      LEFT JOIN gridgeo.grids g ON g.code = v.grid_code
     WHERE v.reported_at >= %(t0)s AND v.reported_at < %(t1)s
)
"""
_FIGURES = _CASES + """
SELECT CASE WHEN GROUPING(category_code) = 0 THEN 'category'
            WHEN GROUPING(grid_code) = 0 THEN 'grid'
            WHEN GROUPING(department_code) = 0 THEN 'department'
            WHEN GROUPING(grid_worker_id) = 0 THEN 'worker'
            WHEN GROUPING(colour) = 0 THEN 'colour' ELSE 'town' END AS breakdown,
       coalesce(category_code, grid_code, department_code, grid_worker_id::text, colour),
       CASE WHEN GROUPING(category_code) = 0 THEN min(category_name)
            WHEN GROUPING(grid_code) = 0 THEN min(grid_name)
            WHEN GROUPING(department_code) = 0 THEN min(department_name)
            WHEN GROUPING(grid_worker_id) = 0 THEN min(grid_worker_name) END,
       CASE WHEN GROUPING(category_code) = 0 THEN min(category_name_en) END,
       CASE WHEN GROUPING(category_code) = 0 THEN bool_or(sensitive) ELSE false END,
       count(*), count(*) FILTER (WHERE outcome = 'resolved'),
       count(*) FILTER (WHERE outcome = 'in_progress'),
       count(*) FILTER (WHERE outcome = 'invalid'),
       count(*) FILTER (WHERE on_time), count(*) FILTER (WHERE overdue)
  FROM cases
 GROUP BY GROUPING SETS ((), (category_code), (grid_code), (department_code),
                         (grid_worker_id), (colour))
 ORDER BY 1, 2 NULLS LAST
"""
_COLOUR_CASES = _CASES + """
SELECT case_no, category_name, category_name_en, grid_code, grid_name, state, deadline_at,
       on_time, overdue, sensitive
  FROM cases WHERE colour = %(colour)s ORDER BY case_no
"""


@dataclass
class Row:
    """One line of a table: a key (code), its name, and the six measures."""

    key: str | None
    name: str | None
    counts: dict[str, int]
    name_en: str | None = None
    sensitive: bool = False  # a sensitive category (or all of them, merged)

    @property
    def on_time_rate(self) -> float | None:
        resolved = self.counts["resolved"]
        return round(self.counts["on_time"] / resolved, 4) if resolved else None


@dataclass
class Figures:
    period: Period
    made_at: datetime
    town: Row = field(default_factory=lambda: Row(None, None, dict.fromkeys(MEASURES, 0)))
    breakdowns: dict[str, list[Row]] = field(
        default_factory=lambda: {name: [] for name in BREAKDOWNS})
    colour_cases: list[dict[str, Any]] = field(default_factory=list)

    def for_public(self) -> Figures:
        """The figures for everyone but the roles that see personal data and sensitive
        categories: no worker names, and sensitive categories counted in one line, never
        named (docs/security.md)."""
        categories = [row for row in self.breakdowns["category"] if not row.sensitive]
        hidden = [row for row in self.breakdowns["category"] if row.sensitive]
        if hidden:
            categories.append(Row(None, None, {m: sum(r.counts[m] for r in hidden)
                                               for m in MEASURES}, sensitive=True))
        cases = [{**case, "category": None, "category_en": None} if case["sensitive"]
                 else case for case in self.colour_cases]
        return Figures(self.period, self.made_at, self.town,
                       {**self.breakdowns, "worker": [], "category": categories}, cases)


def _bounds(conn: psycopg.Connection, period: Period) -> dict[str, Any]:
    zone = local_zone(conn)  # a period's days begin at the deployment's local midnight
    return {"t0": datetime.combine(period.start, time.min, zone),
            "t1": datetime.combine(period.end + timedelta(days=1), time.min, zone),
            "colour": period.colour}


def town_figures(conn: psycopg.Connection, period: Period) -> Figures:
    """The figures of ``period`` as the connection's identity may see them."""
    params = _bounds(conn, period)
    figures = Figures(period, datetime.now(local_zone(conn)))
    for breakdown, key, name, name_en, sensitive, *counts in conn.execute(
            _FIGURES, params).fetchall():
        row = Row(key, name, dict(zip(MEASURES, counts, strict=True)), name_en, sensitive)
        if breakdown == "town":
            figures.town = row
        else:
            figures.breakdowns[breakdown].append(row)
    figures.colour_cases = [
        {"case_no": r[0], "category": r[1], "category_en": r[2], "grid_code": r[3],
         "grid_name": r[4], "state": r[5],
         "deadline_at": r[6].astimezone(params["t0"].tzinfo) if r[6] else None,
         "on_time": r[7], "overdue": r[8], "sensitive": r[9]}
        for r in conn.execute(_COLOUR_CASES, params).fetchall()]
    return figures
