"""The weekly notice (通报) as a process: counts, on-time closure, overdue cases, CSV, chart.

Every output format is drawn from one query (``period_report``), so the chart, the CSV and
the JSON always agree. Periods are Shanghai calendar days; "this week" is the ISO week.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from gridgeo_plugins.incidents.chart import bar_chart_svg
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from gridgeo.db.pool import connection
from gridgeo.process_errors import date_range, process_errors
from gridgeo.timezone import local_zone

_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

PROCESS_METADATA = {
    "version": "0.1.0",
    "id": "incident-report",
    "title": {"en": "Incident report", "zh": "事件通报"},
    "description": {
        "en": "Incidents reported in a period and area: counts by state, colour, category and "
              "grid; closures in the period, the share closed on time and the median time to "
              "close; police matters dispatched in the period and the share reached within "
              "their response target; every incident overdue now. As JSON, CSV or an SVG chart.",
        "zh": "某时段、某区域的事件通报：按状态、颜色、类别、网格统计，按时办结率、办结时长中位数"
              "和当前超期事件清单；可输出 JSON、CSV 或 SVG 图。"},
    "jobControlOptions": ["sync-execute"],
    "keywords": ["incident", "report", "通报"],
    "links": [],
    "inputs": {
        "week": {"title": "ISO week", "description": "e.g. 2026-W48; default: this week",
                 "schema": {"type": "string"}, "minOccurs": 0, "maxOccurs": 1},
        "start": {"title": "First day", "description": "YYYY-MM-DD (Shanghai), with end",
                  "schema": {"type": "string", "format": "date"}, "minOccurs": 0,
                  "maxOccurs": 1},
        "end": {"title": "Last day", "description": "YYYY-MM-DD, included",
                "schema": {"type": "string", "format": "date"}, "minOccurs": 0, "maxOccurs": 1},
        "area": {"title": "Area", "description": "a grid code: town, area, village, unit or "
                 "dedicated grid; default: everything", "schema": {"type": "string"},
                 "minOccurs": 0, "maxOccurs": 1},
        "format": {"title": "Format", "schema": {"type": "string",
                                                 "enum": ["json", "csv", "svg"]},
                   "minOccurs": 0, "maxOccurs": 1},
    },
    "outputs": {
        "report": {"title": "Report", "schema": {"type": "object",
                                                 "contentMediaType": "application/json"}},
    },
    "example": {"inputs": {"week": "2026-W48", "format": "json"}},
}


@dataclass
class Report:
    """What the notice says, for one period and area."""

    start: date
    end: date  # included
    area: str | None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    closed: int = 0
    closed_on_time: int = 0
    median_hours_to_close: float | None = None
    overdue: list[dict[str, Any]] = field(default_factory=list)
    # police matters dispatched in the period whose response is due (arrived, or the target
    # passed without arrival), and of those how many arrived within the target
    police_due: int = 0
    police_on_time: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return round(self.closed_on_time / self.closed, 4) if self.closed else None

    @property
    def police_on_time_rate(self) -> float | None:
        return round(self.police_on_time / self.police_due, 4) if self.police_due else None


def parse_period(data: dict[str, Any], today: date) -> tuple[date, date]:
    """The first and last day asked for: an ISO week, start/end, or this ISO week."""
    week, start, end = data.get("week"), data.get("start"), data.get("end")
    if week and (start or end):
        raise ProcessorExecuteError(user_msg="give either week or start and end, not both.")
    if week:
        match = _ISO_WEEK.match(str(week))
        if not match:
            raise ProcessorExecuteError(user_msg=f"week must look like 2026-W48; got {week!r}.")
        try:
            first = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise ProcessorExecuteError(user_msg=f"{week} is not a week of that year.") from None
        return first, first + timedelta(days=6)
    if start or end:
        return date_range(start, end, "2026-11-23")
    first = today - timedelta(days=today.isoweekday() - 1)
    return first, first + timedelta(days=6)


# One scope for every number: incidents whose unit grid lies in the area. NOT MATERIALIZED:
# each query's own period condition must reach the incidents' indexes (incidents/016);
# a materialized scope computed every incident's deadlines first (20 s at 200,000).
_SCOPE = """
WITH area AS (SELECT code, level, kind FROM gridgeo.grids WHERE code = %(area)s),
scope AS NOT MATERIALIZED (
    SELECT v.* FROM gridgeo.incidents_view v
     WHERE %(area)s::text IS NULL
        OR v.grid_code = %(area)s OR v.dedicated_grid_code = %(area)s
        OR left(v.grid_code, 12) = %(area)s OR left(v.grid_code, 9) = %(area)s
        OR (SELECT parent_code FROM gridgeo.grids WHERE code = left(v.grid_code, 12)) = %(area)s
),
period AS (SELECT * FROM scope WHERE reported_at >= %(t0)s AND reported_at < %(t1)s),
closed AS (SELECT * FROM scope WHERE closed_at >= %(t0)s AND closed_at < %(t1)s)
"""
_COUNTS = _SCOPE + """
SELECT 'state', state, count(*) FROM period GROUP BY state
UNION ALL SELECT 'colour', colour, count(*) FROM period GROUP BY colour
UNION ALL SELECT 'category', category_code, count(*) FROM period GROUP BY category_code
UNION ALL SELECT 'grid', coalesce(grid_code, '-'), count(*) FROM period GROUP BY grid_code
"""
_CLOSED = _SCOPE + """
SELECT count(*), count(*) FILTER (WHERE closed_on_time),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - reported_at))
           / 3600.0
  FROM closed
"""
_POLICE = _SCOPE + """
SELECT count(*) FILTER (WHERE s.arrived_at IS NOT NULL
                          OR now() > s.dispatched_at + c.police_response_target),
       count(*) FILTER (WHERE s.responded_on_time)
  FROM scope s JOIN gridgeo.incident_categories c ON c.code = s.category_code
 WHERE s.police_matter AND s.dispatched_at >= %(t0)s AND s.dispatched_at < %(t1)s
"""
# Only an unfinished case can be overdue; saying so lets the open cases' index answer.
_OVERDUE = _SCOPE + """
SELECT case_no, title, colour, state, category_code, grid_code, due_at
  FROM scope WHERE overdue AND state NOT IN ('closed', 'invalid', 'duplicate')
 ORDER BY due_at, case_no
"""


def _check_area(conn: psycopg.Connection, area: str | None) -> None:
    if area is None:
        return
    row = conn.execute("SELECT level FROM gridgeo.grids WHERE code = %s", (area,)).fetchone()
    if row is None:
        raise ProcessorExecuteError(user_msg=f"area {area!r} is not a grid code.")
    if row[0] == "micro":
        raise ProcessorExecuteError(user_msg="incidents are placed in unit grids; give the "
                                    "micro grid's unit grid or a larger area.")


def period_report(conn: psycopg.Connection, start: date, end: date,
                  area: str | None) -> Report:
    """The report's numbers, all from the same scope of incidents."""
    _check_area(conn, area)
    zone = local_zone(conn)  # days begin at the deployment's local midnight
    t0 = datetime.combine(start, datetime.min.time(), zone)
    t1 = datetime.combine(end + timedelta(days=1), datetime.min.time(), zone)
    params = {"area": area, "t0": t0, "t1": t1}
    report = Report(start, end, area)
    for kind in ("state", "colour", "category", "grid"):
        report.counts[kind] = {}
    for kind, key, count in conn.execute(_COUNTS, params).fetchall():
        report.counts[kind][key] = count
    closed, on_time, median = conn.execute(_CLOSED, params).fetchone() or (0, 0, None)
    report.closed, report.closed_on_time = closed, on_time
    report.median_hours_to_close = round(median, 2) if median is not None else None
    report.police_due, report.police_on_time = conn.execute(_POLICE, params).fetchone() or (0, 0)
    report.overdue = [
        {"case_no": r[0], "title": r[1], "colour": r[2], "state": r[3], "category_code": r[4],
         "grid_code": r[5], "deadline_at": r[6].isoformat()}
        for r in conn.execute(_OVERDUE, params).fetchall()]
    return report


def as_json(report: Report) -> dict[str, Any]:
    return {"start": report.start.isoformat(), "end": report.end.isoformat(),
            "area": report.area, "reported": sum(report.counts["state"].values()),
            "by_state": report.counts["state"], "by_colour": report.counts["colour"],
            "by_category": report.counts["category"], "by_grid": report.counts["grid"],
            "closed": report.closed, "closed_on_time": report.closed_on_time,
            "on_time_rate": report.on_time_rate,
            "median_hours_to_close": report.median_hours_to_close,
            "police_responses": report.police_due, "police_on_time": report.police_on_time,
            "police_on_time_rate": report.police_on_time_rate,
            "overdue_count": len(report.overdue), "overdue": report.overdue}


def as_csv(report: Report) -> str:
    """section,key,value rows: counts, the summary, then one row per overdue case."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "value"])
    for kind in ("state", "colour", "category", "grid"):
        for key, count in sorted(report.counts[kind].items()):
            writer.writerow([kind, key, count])
    summary = as_json(report)
    for key in ("start", "end", "area", "reported", "closed", "closed_on_time", "on_time_rate",
                "median_hours_to_close", "police_responses", "police_on_time",
                "police_on_time_rate", "overdue_count"):
        writer.writerow(["summary", key, "" if summary[key] is None else summary[key]])
    for case in report.overdue:
        writer.writerow(["overdue", case["case_no"], case["deadline_at"]])
    return out.getvalue()


def as_svg(report: Report) -> str:
    title = f"事件通报 {report.start.isoformat()} 至 {report.end.isoformat()}"
    if report.area:
        title += f"（{report.area}）"
    groups = [("按状态", report.counts["state"]), ("按颜色", report.counts["colour"]),
              ("超期", {"超期事件": len(report.overdue)})]
    footer = (f"办结 {report.closed} 件，按时 {report.closed_on_time} 件，按时办结率 "
              f"{'-' if report.on_time_rate is None else f'{report.on_time_rate:.0%}'}")
    return bar_chart_svg(title, groups, footer)


class IncidentReport(BaseProcessor):
    def __init__(self, processor_def: dict[str, Any]):
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict[str, Any], outputs: Any = None) -> tuple[str, Any]:
        with process_errors("incident-report"):
            return self._report(data)

    def _report(self, data: dict[str, Any]) -> tuple[str, Any]:
        fmt = data.get("format") or "json"
        if fmt not in ("json", "csv", "svg"):
            raise ProcessorExecuteError(user_msg=f"format must be json, csv or svg; got {fmt!r}.")
        area = data.get("area") or None
        if area is not None and not isinstance(area, str):
            raise ProcessorExecuteError(user_msg="area must be a grid code (text).")
        with connection(read=True) as conn:
            start, end = parse_period(data, datetime.now(local_zone(conn)).date())
            report = period_report(conn, start, end, area)
        if fmt == "csv":
            return "text/csv", as_csv(report)
        if fmt == "svg":
            return "image/svg+xml", as_svg(report)
        return "application/json", {"id": "report", "value": as_json(report)}
