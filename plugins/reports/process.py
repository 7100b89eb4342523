"""The ``town-report`` process: a period's report made now, stored when the caller may.

With the ``reports`` write right (and ``store`` not false) the documents are made and
stored, replacing that period's earlier ones, and the answer links them; without it
the process answers the totals only (``gridgeo.process_writes`` switches storing off).
Figures are counted as the caller sees incidents, like every other process.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gridgeo_plugins.reports import store
from gridgeo_plugins.reports.figures import town_figures
from gridgeo_plugins.reports.periods import KINDS, Period, PeriodError, last_complete, parse
from gridgeo_plugins.reports.routes import COLLECTION, audience, describe
from gridgeo_plugins.reports.tables import totals_json
from gridgeo_plugins.reports.texts import LANGUAGES
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from gridgeo.db.pool import connection
from gridgeo.identity import current_identity
from gridgeo.process_errors import process_errors
from gridgeo.timezone import local_zone


def _input(title: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"title": title, "description": description, "schema": schema, "minOccurs": 0,
            "maxOccurs": 1}


PROCESS_METADATA = {
    "version": "0.1.0",
    "id": "town-report",
    "title": {"en": "Town report", "zh": "网格化管理周报、月报、季报"},
    "description": {
        "en": "The town's weekly, monthly or quarterly report: accepted, resolved, in "
              "progress, invalid, on time and overdue by category, grid, department and "
              "grid worker, on-time rates by colour, and the cases of the period's colour "
              "(yellow weekly, orange monthly, red quarterly). Stored as HTML, PDF, CSV and "
              "XLSX under /reports when the caller may write reports.",
        "zh": "全镇周报、月报、季报：受理、办结、在办、无效、按时办结、超期数，按类别、网格、部门、"
              "网格员统计，各颜色等级按时办结率；存为 HTML、PDF、CSV、XLSX 文档。"},
    "jobControlOptions": ["sync-execute"],
    "keywords": ["report", "周报", "月报", "季报"],
    "links": [],
    "inputs": {
        "period": _input("Period", "2026-W48 (a week), 2026-11 (a month) or 2026-Q4 (a "
                         "quarter); default: the last complete period of the kind",
                         {"type": "string"}),
        "kind": _input("Kind", "weekly, monthly or quarterly; default: the period's, or "
                       "weekly", {"type": "string", "enum": list(KINDS)}),
        "language": _input("Language", "zh (default) or en",
                           {"type": "string", "enum": list(LANGUAGES), "default": "zh"}),
        "store": _input("Store the documents", "make and store the documents (replacing "
                        "the period's earlier ones); needs the reports write right",
                        {"type": "boolean", "default": True}),
    },
    "writes": {"collection": COLLECTION, "input": "store"},
    "outputs": {"report": {"title": "Report", "schema": {
        "type": "object", "contentMediaType": "application/json"}}},
    "example": {"inputs": {"period": "2026-W48", "language": "zh"}},
}


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ProcessorExecuteError(user_msg=f"{name} must be text; got {value!r}.")
    return value or None


def asked_period(data: dict[str, Any], today: datetime) -> Period:
    label, kind = _text(data, "period"), _text(data, "kind")
    try:
        if label is not None:
            return parse(label, kind)
        if kind is not None and kind not in KINDS:
            raise PeriodError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}.")
    except PeriodError as exc:
        raise ProcessorExecuteError(user_msg=str(exc)) from None
    return last_complete(kind or "weekly", today.date())


def asked_language(data: dict[str, Any]) -> str:
    language = _text(data, "language") or "zh"
    if language not in LANGUAGES:
        raise ProcessorExecuteError(user_msg=f"language must be zh or en; got {language!r}.")
    return language


class TownReport(BaseProcessor):
    def __init__(self, processor_def: dict[str, Any]):
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict[str, Any], outputs: Any = None) -> tuple[str, Any]:
        with process_errors("town-report"):
            return "application/json", self._report(data)

    def _report(self, data: dict[str, Any]) -> dict[str, Any]:
        language = asked_language(data)
        storing = data.get("store", True)
        if not isinstance(storing, bool):
            raise ProcessorExecuteError(user_msg="store must be true or false.")
        with connection() as conn:
            period = asked_period(data, datetime.now(local_zone(conn)))
            figures = town_figures(conn, period)
            answer: dict[str, Any] = {
                "kind": period.kind, "period": period.label, "language": language,
                "start": period.start.isoformat(), "end": period.end.isoformat(),
                "totals": totals_json(figures), "stored": False}
            if storing:
                made_by = current_identity().subject or "anonymous"
                report_id = store.save(conn, figures, language, made_by, replace=True)
                stored = store.found(conn, audience(conn), report_id or 0)
                if stored is not None:
                    answer.update(stored=True, report=describe(stored, _server_url()))
        return answer


def _server_url() -> str:
    from pygeoapi.flask_app import CONFIG

    return str(CONFIG["server"]["url"]).rstrip("/")
