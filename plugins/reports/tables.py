"""The report as tables (title, header, rows): what HTML, CSV and XLSX all print."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridgeo_plugins.incidents.chart import LABELS as STATE_LABELS
from gridgeo_plugins.reports.figures import MEASURES, Figures, Row
from gridgeo_plugins.reports.texts import words

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    name: str  # a stable sheet and CSV section name
    title: str
    header: list[str]
    rows: list[list[Cell]]


def _rate(row: Row) -> str:
    return "-" if row.on_time_rate is None else f"{row.on_time_rate:.1%}"


def _measure_header(w: dict[str, str]) -> list[str]:
    return [w[m] for m in MEASURES] + [w["on_time_rate"]]


def _measure_cells(row: Row) -> list[Cell]:
    return [*(row.counts[m] for m in MEASURES), _rate(row)]


def _row_name(row: Row, breakdown: str, language: str, w: dict[str, str]) -> str:
    if breakdown == "colour":
        return w.get(row.key or "", row.key or "")
    if breakdown == "category" and row.key is None and row.sensitive:
        return w["sensitive_categories"]
    if breakdown == "category" and language == "en" and row.name_en:
        return row.name_en
    return row.name or w["unassigned"]


def _breakdown(figures: Figures, breakdown: str, language: str) -> Table:
    w = words(language)
    keyed = breakdown in ("category", "grid", "department")
    header = ([w["key"]] if keyed else []) + [w["name"]] + _measure_header(w)
    rows = [([row.key or "-"] if keyed else []) + [_row_name(row, breakdown, language, w)]
            + _measure_cells(row) for row in figures.breakdowns[breakdown]]
    return Table(breakdown, w[breakdown], header, rows)


def _state(state: str, language: str) -> str:
    return STATE_LABELS.get(state, state) if language == "zh" else state.replace("_", " ")


def _colour_cases(figures: Figures, language: str) -> Table:
    w = words(language)
    colour = figures.period.colour
    title = w["colour_cases"].format(colour=w[colour], rhythm=w[f"rhythm_{colour}"])
    header = [w["case_no"], w["category_column"], w["grid_column"], w["state"],
              w["deadline"], w["on_time"], w["overdue"]]
    rows: list[list[Cell]] = [
        [c["case_no"], (c["category_en"] if language == "en" else c["category"])
         or w["sensitive_categories"],
         c["grid_name"] or c["grid_code"] or "-", _state(c["state"], language),
         c["deadline_at"].strftime("%Y-%m-%d %H:%M") if c["deadline_at"] else "-",
         w["yes"] if c["on_time"] else w["no"], w["yes"] if c["overdue"] else w["no"]]
        for c in figures.colour_cases]
    return Table("colour_cases", title, header, rows)


def totals_table(figures: Figures, language: str) -> Table:
    w = words(language)
    rows: list[list[Cell]] = [[w[m], figures.town.counts[m]] for m in MEASURES]
    rows.append([w["on_time_rate"], _rate(figures.town)])
    return Table("totals", w["totals"], [w["figure"], w["count"]], rows)


def report_tables(figures: Figures, language: str, with_workers: bool) -> list[Table]:
    """Totals, the breakdowns (workers only ``with_workers``), the colour's cases."""
    names = [b for b in ("category", "grid", "department", "worker", "colour")
             if with_workers or b != "worker"]
    return [totals_table(figures, language),
            *(_breakdown(figures, name, language) for name in names),
            _colour_cases(figures, language)]


def totals_json(figures: Figures) -> dict[str, Any]:
    """The totals and on-time rates by colour, as the listing and process answer say them."""
    return {**figures.town.counts, "on_time_rate": figures.town.on_time_rate,
            "on_time_rate_by_colour": {row.key: row.on_time_rate
                                       for row in figures.breakdowns["colour"]}}
