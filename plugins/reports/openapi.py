"""OpenAPI path items of the /reports routes."""

from __future__ import annotations

from typing import Any

from gridgeo.openapi_ops import answer, in_path, operation, refusal


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def report_paths() -> dict[str, dict[str, Any]]:
    report_id = in_path("reportId", "the report's id, as /reports lists it", pattern="^[0-9]+$")
    not_found = refusal("No such report (or the caller may not read reports).")
    files = {media: {"schema": {"type": "string", "format": "binary"}} for media in (
        "text/html", "application/pdf", "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    return {
        "/reports": {"get": operation(
            "The town's stored reports (weekly, monthly, quarterly), newest first",
            "getTownReports", "reports",
            {"200": answer("The reports with their totals and links to their files."),
             "400": refusal("A filter is wrong; the sentence says which."),
             "404": refusal("The caller may not read reports.")},
            [_query("kind", "weekly, monthly or quarterly", type="string",
                    enum=["weekly", "monthly", "quarterly"]),
             _query("language", "zh or en", type="string", enum=["zh", "en"]),
             _query("limit", "at most this many (500 at most)", type="integer", minimum=0,
                    maximum=500),
             _query("offset", "skip this many", type="integer", minimum=0)])},
        "/reports/{reportId}": {"get": operation(
            "One stored report", "getTownReport", "reports",
            {"200": answer("The report, its totals and links to its files."),
             "404": not_found}, [report_id])},
        "/reports/{reportId}/report.{format}": {"get": {
            **operation("A report's file: worker names only for personal-data roles",
                        "getTownReportFile", "reports", {"404": not_found},
                        [report_id, in_path("format", "html, pdf, csv or xlsx",
                                            enum=["html", "pdf", "csv", "xlsx"])]),
            "responses": {"200": {"description": "The file.", "content": files},
                          "404": not_found}}},
    }
