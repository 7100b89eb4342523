"""Stored reports: a row per period, kind and language; files in the attachment store.

Files are content-addressed (``<sha256>.report`` keys in ``gridgeo.storage``), so every
web node reads the same bytes through whichever store the deployment has. Blobs are put
before their rows commit: a rolled-back write leaves at most an unreferenced blob, never
a row without its file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import psycopg
from gridgeo_plugins.reports import documents
from gridgeo_plugins.reports.figures import Figures
from gridgeo_plugins.reports.tables import totals_json
from gridgeo_plugins.reports.texts import words

from gridgeo.storage import get_store

AUDIENCES = ("personal", "public")


@dataclass(frozen=True)
class StoredReport:
    id: int
    kind: str
    period_start: date
    period_end: date
    language: str
    made_at: datetime
    made_by: str
    totals: dict[str, Any]
    formats: tuple[str, ...]  # of the caller's audience


def blob_key(sha256: str) -> str:
    return f"{sha256}.report"


def put_file(data: bytes) -> tuple[str, int]:
    sha256 = hashlib.sha256(data).hexdigest()
    get_store().put(blob_key(sha256), data)
    return sha256, len(data)


def town_name(conn: psycopg.Connection, language: str) -> str:
    row = conn.execute("SELECT name FROM gridgeo.grids WHERE level = 'town' ORDER BY code"
                       " LIMIT 1").fetchone()
    return str(row[0]) if row else words(language)["town"]


def rendered(figures: Figures, language: str, town: str) -> dict[tuple[str, str], bytes]:
    """HTML, CSV and XLSX for each audience (the PDF waits until it is first asked for)."""
    files = {}
    for audience in AUDIENCES:
        shown = figures if audience == "personal" else figures.for_public()
        with_workers = audience == "personal"
        files[(audience, "html")] = documents.as_html(shown, language, town,
                                                      with_workers).encode()
        files[(audience, "csv")] = documents.as_csv(shown, language, with_workers).encode()
        files[(audience, "xlsx")] = documents.as_xlsx(shown, language, with_workers)
    return files


def save(conn: psycopg.Connection, figures: Figures, language: str, made_by: str,
         replace: bool) -> int | None:
    """Store the report's files and row; the row's id, or None when the period already
    has its report and ``replace`` is off (the scheduler's once-per-period rule)."""
    period = figures.period
    row = conn.execute(
        "INSERT INTO gridgeo.town_reports (kind, period_start, period_end, language, made_by,"
        " totals) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (kind, period_start, language)"
        + (" DO UPDATE SET made_at = now(), made_by = EXCLUDED.made_by,"
           " totals = EXCLUDED.totals" if replace else " DO NOTHING") + " RETURNING id",
        (period.kind, period.start, period.end, language, made_by,
         orjson.dumps(totals_json(figures)).decode())).fetchone()
    if row is None:
        return None
    report_id = int(row[0])
    conn.execute("DELETE FROM gridgeo.town_report_files WHERE report_id = %s", (report_id,))
    for (audience, fmt), data in rendered(figures, language,
                                          town_name(conn, language)).items():
        add_file(conn, report_id, audience, fmt, data)
    return report_id


def add_file(conn: psycopg.Connection, report_id: int, audience: str, fmt: str,
             data: bytes) -> None:
    sha256, length = put_file(data)
    conn.execute("INSERT INTO gridgeo.town_report_files (report_id, audience, format, sha256,"
                 " length) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 (report_id, audience, fmt, sha256, length))


_SELECT = """
SELECT r.id, r.kind, r.period_start, r.period_end, r.language, r.made_at, r.made_by,
       r.totals, coalesce(array_agg(f.format ORDER BY f.format)
                          FILTER (WHERE f.format IS NOT NULL), '{}')
  FROM gridgeo.town_reports r
  LEFT JOIN gridgeo.town_report_files f ON f.report_id = r.id AND f.audience = %(audience)s
"""


def listed(conn: psycopg.Connection, audience: str, kind: str | None, language: str | None,
           limit: int, offset: int) -> list[StoredReport]:
    rows = conn.execute(
        _SELECT + " WHERE (%(kind)s::text IS NULL OR r.kind = %(kind)s)"
        " AND (%(language)s::text IS NULL OR r.language = %(language)s)"
        " GROUP BY r.id ORDER BY r.period_start DESC, r.kind, r.language, r.id"
        " LIMIT %(limit)s OFFSET %(offset)s",
        {"audience": audience, "kind": kind, "language": language, "limit": limit,
         "offset": offset}).fetchall()
    return [_stored(row) for row in rows]


def found(conn: psycopg.Connection, audience: str, report_id: int) -> StoredReport | None:
    row = conn.execute(_SELECT + " WHERE r.id = %(id)s GROUP BY r.id",
                       {"audience": audience, "id": report_id}).fetchone()
    return _stored(row) if row else None


def _stored(row: tuple[Any, ...]) -> StoredReport:
    formats = set(row[8])
    if "html" in formats:
        formats.add("pdf")  # made from the HTML when first asked for
    return StoredReport(id=row[0], kind=row[1], period_start=row[2], period_end=row[3],
                        language=row[4], made_at=row[5], made_by=row[6], totals=row[7],
                        formats=tuple(sorted(formats)))


def file_sha(conn: psycopg.Connection, report_id: int, audience: str, fmt: str) -> str | None:
    row = conn.execute("SELECT sha256 FROM gridgeo.town_report_files WHERE report_id = %s"
                       " AND audience = %s AND format = %s",
                       (report_id, audience, fmt)).fetchone()
    return str(row[0]) if row else None


def read_file(sha256: str) -> bytes | None:
    return get_store().get(blob_key(sha256))
