"""``/reports``: the stored town reports, their files, for the roles that may read them.

Access follows the ``reports`` rules (a collection's defaults, overridable in
pygeoapi-config.yml ``resources: reports: access:``): staff read; roles with personal-data
rights receive the files that name grid workers, others the files without them.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import psycopg
from flask import Blueprint, Response, request
from gridgeo_plugins.reports import documents, store
from gridgeo_plugins.reports.periods import KINDS
from gridgeo_plugins.reports.texts import LANGUAGES

from gridgeo.db.pool import connection
from gridgeo.errors import NotFound, RequestError
from gridgeo.identity import current_identity
from gridgeo.security.access import may_see_personal, require_for

LOGGER = logging.getLogger(__name__)
blueprint = Blueprint("gridgeo_reports", __name__)
COLLECTION = "reports"
MAX_LIMIT = 500


def _config() -> dict[str, Any]:
    from pygeoapi.flask_app import CONFIG

    return CONFIG  # type: ignore[no-any-return]


def audience(conn: psycopg.Connection) -> str:
    """Which files the caller receives: 'personal' (worker names, sensitive categories
    named) for roles with the reports personal rule that also handle sensitive categories
    (the database's own rule, gridgeo.deployment sensitive_roles), else 'public'."""
    resource = _config()["resources"].get(COLLECTION) or {"type": "collection"}
    if not may_see_personal(current_identity(), COLLECTION, resource):
        return "public"
    row = conn.execute("SELECT gridgeo.request_handles_sensitive()").fetchone()
    return "personal" if row and row[0] else "public"


def _server_url() -> str:
    return str(_config()["server"]["url"]).rstrip("/")


def describe(report: store.StoredReport, server: str) -> dict[str, Any]:
    base = f"{server}/reports/{report.id}"
    return {"id": report.id, "kind": report.kind,
            "period": {"start": report.period_start.isoformat(),
                       "end": report.period_end.isoformat()},
            "language": report.language, "made_at": report.made_at.isoformat(),
            "totals": report.totals,
            "links": [{"rel": "self", "type": "application/json", "href": base}] + [
                {"rel": "alternate", "type": documents.MEDIA_TYPES[fmt].split(";")[0],
                 "title": fmt.upper(), "href": f"{base}/report.{fmt}"}
                for fmt in report.formats]}


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), mimetype="application/json")


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise RequestError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return value


def _integer(name: str, default: int, most: int) -> int:
    raw = request.args.get(name, str(default))
    if not raw.isdigit() or int(raw) > most:
        raise RequestError(f"{name} must be a whole number from 0 to {most}; got {raw!r}.")
    return int(raw)


@blueprint.get("/reports")
def listing() -> Response:
    require_for(COLLECTION, "read")
    kind, language = _choice("kind", KINDS), _choice("language", LANGUAGES)
    limit, offset = _integer("limit", 50, MAX_LIMIT), _integer("offset", 0, 10**9)
    with connection(read=True) as conn:
        reports = store.listed(conn, audience(conn), kind, language, limit, offset)
    server = _server_url()
    return _json({"reports": [describe(r, server) for r in reports],
                  "links": [{"rel": "self", "type": "application/json",
                             "href": f"{server}/reports"}]})


def _report(report_id: int) -> tuple[store.StoredReport, str]:
    """The report as the caller receives it, and which files those are."""
    require_for(COLLECTION, "read")
    with connection(read=True) as conn:
        who = audience(conn)
        report = store.found(conn, who, report_id)
    if report is None:
        raise NotFound(f"No report with id {report_id}; GET /reports lists them.")
    return report, who


@blueprint.get("/reports/<int:report_id>")
def one(report_id: int) -> Response:
    return _json(describe(_report(report_id)[0], _server_url()))


def _pdf_sha(report_id: int, who: str) -> str:
    """The PDF's hash, rendering it from the stored HTML the first time it is asked for
    (one render per document; a race between nodes keeps the first row)."""
    with connection() as conn:
        sha = store.file_sha(conn, report_id, who, "pdf")
        if sha is not None:
            return sha
        html_sha = store.file_sha(conn, report_id, who, "html")
    html = store.read_file(html_sha) if html_sha else None
    if html is None:
        raise _missing(report_id, "html")
    with connection() as conn:
        store.add_file(conn, report_id, who, "pdf", documents.as_pdf(html.decode()))
        return store.file_sha(conn, report_id, who, "pdf") or ""


def _missing(report_id: int, fmt: str) -> RequestError:
    LOGGER.error("report %s: its %s file is missing from the store", report_id, fmt)
    return RequestError(f"the {fmt} file of report {report_id} is not in storage; tell the "
                        "administrator (the server log names it).", 500, "ServerError")


@blueprint.get("/reports/<int:report_id>/report.<fmt>")
def download(report_id: int, fmt: str) -> Response:
    report, who = _report(report_id)
    if fmt not in report.formats:
        raise NotFound(f"report {report_id} has no {fmt} file; it has "
                       f"{', '.join(report.formats)}.")
    if fmt == "pdf":
        sha: str | None = _pdf_sha(report_id, who)
    else:
        with connection(read=True) as conn:
            sha = store.file_sha(conn, report_id, who, fmt)
    data = store.read_file(sha) if sha else None
    if data is None:
        raise _missing(report_id, fmt)
    response = Response(data, mimetype=documents.MEDIA_TYPES[fmt])
    response.headers["ETag"] = f'"{sha}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    if fmt == "html":  # a document, not a page: no scripts, nothing loaded from elsewhere
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
    name = f"{report.kind}-{report.period_start}-{report.language}.{fmt}"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response
