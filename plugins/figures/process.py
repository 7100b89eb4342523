"""The ``assessment-figures`` process: grid_figures or worker_figures for any period.

The same database functions as the collections (``gridgeo.grid_figures_for`` and
``gridgeo.worker_figures_for``), read as the caller: incidents are counted as the caller
reads them, and per-worker rows only for a role that may read ``worker_figures``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from gridgeo.db.pool import connection
from gridgeo.process_errors import date_range, process_errors
from gridgeo.security.access import allowed_for
from gridgeo.timezone import local_zone

FUNCTIONS = {"grid": "grid_figures_for", "worker": "worker_figures_for"}
_DATE = {"type": "string", "format": "date"}

PROCESS_METADATA = {
    "version": "0.1.0",
    "id": "assessment-figures",
    "title": {"en": "Figures per grid and worker", "zh": "网格与网格员考核指标"},
    "description": {
        "en": "For a period of local calendar days (default: this month): per unit grid, or "
              "per grid worker in each grid, greenhouse scan coverage, adit inspections on "
              "time, incidents reported and resolved on time, and patrol distance. The same "
              "figures as the grid_figures and worker_figures collections; per-worker rows "
              "only for roles that may read worker_figures.",
        "zh": "某时段（默认本月）各单元网格或各网格员的考核指标：大棚扫码覆盖率、矿洞按时巡查、"
              "事件上报与按时办结、巡查里程。"},
    "jobControlOptions": ["sync-execute"],
    "keywords": ["assessment", "考核", "figures"],
    "links": [],
    "inputs": {
        "start": {"title": "First day", "description": "YYYY-MM-DD, with end; default: the "
                  "first of this month", "schema": _DATE, "minOccurs": 0, "maxOccurs": 1},
        "end": {"title": "Last day", "description": "YYYY-MM-DD, included",
                "schema": _DATE, "minOccurs": 0, "maxOccurs": 1},
        "level": {"title": "Level", "description": "grid (default) or worker",
                  "schema": {"type": "string", "enum": ["grid", "worker"]},
                  "minOccurs": 0, "maxOccurs": 1},
        "grid": {"title": "Unit grid", "description": "one unit grid's code; default: all",
                 "schema": {"type": "string"}, "minOccurs": 0, "maxOccurs": 1},
    },
    "outputs": {"figures": {"title": "Figures", "schema": {
        "type": "object", "contentMediaType": "application/json"}}},
    "example": {"inputs": {"start": "2026-11-01", "end": "2026-11-30", "level": "grid"}},
}


def parse_period(data: dict[str, Any], today: date) -> tuple[date, date]:
    """start and end as given, or this month."""
    start, end = data.get("start"), data.get("end")
    if not start and not end:
        first = today.replace(day=1)
        following = first.replace(year=first.year + first.month // 12,
                                  month=first.month % 12 + 1)
        return first, date.fromordinal(following.toordinal() - 1)
    return date_range(start, end, "2026-11-01")


def parse_level(data: dict[str, Any]) -> str:
    level = data.get("level") or "grid"
    if level not in FUNCTIONS:
        raise ProcessorExecuteError(user_msg=f"level must be grid or worker; got {level!r}.")
    if level == "worker" and not allowed_for("worker_figures", "read"):
        raise ProcessorExecuteError(
            user_msg="per-worker figures are personal: your role may not read them "
                     "(gis_editor and admin may); ask for level=grid.")
    return str(level)


def figures(conn: psycopg.Connection, level: str, first: date, last: date,
            grid: str | None) -> list[dict[str, Any]]:
    column = "code" if level == "grid" else "grid_code"
    query = sql.SQL("SELECT * FROM gridgeo.{}(%s, %s) f WHERE %s::text IS NULL OR {} = %s"
                    " ORDER BY 1").format(sql.Identifier(FUNCTIONS[level]),
                                          sql.Identifier(column))
    cur = conn.execute(query, (first, last, grid, grid))
    names = [c.name for c in cur.description or () if c.name != "geom"]
    return [{name: _plain(value) for name, value in zip(names, row, strict=False)}
            for row in cur.fetchall()]


def _plain(value: Any) -> Any:
    """JSON values: dates as ISO text, numerics as numbers."""
    if isinstance(value, date):
        return value.isoformat()
    return float(value) if value is not None and type(value).__name__ == "Decimal" else value


class AssessmentFigures(BaseProcessor):
    def __init__(self, processor_def: dict[str, Any]):
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict[str, Any], outputs: Any = None) -> tuple[str, Any]:
        with process_errors("assessment-figures"):
            level = parse_level(data)
            grid = data.get("grid") or None
            if grid is not None and not isinstance(grid, str):
                raise ProcessorExecuteError(user_msg="grid must be a unit grid's code (text).")
            with connection(read=True) as conn:
                first, last = parse_period(data, datetime.now(local_zone(conn)).date())
                rows = figures(conn, level, first, last, grid)
            return "application/json", {"id": "figures", "value": {
                "level": level, "start": first.isoformat(), "end": last.isoformat(),
                "figures": rows}}
