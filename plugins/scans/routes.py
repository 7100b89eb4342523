"""Scan routes: one scan, or an offline batch answered scan by scan."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from flask import Blueprint, Response, request
from gridgeo_plugins.scans.parse import Scan, parse_scan

from gridgeo.db.pool import connection
from gridgeo.errors import RequestError, write_refusal
from gridgeo.idempotency import idempotent
from gridgeo.identity import current_identity
from gridgeo.security.access import require_for

blueprint = Blueprint("gridgeo_scans", __name__)
MAX_BATCH = 500
MAX_BODY_BYTES = 2 * 1024 * 1024

# A phone's retry repeats scan_uuid and scanned_at (it stamps the time): the key on both
# makes it nothing. A UUID reused with another time, even in a month or grid this caller
# cannot read, is refused by the database (gridgeo.scan_uuids, inspections/005) with a 409.
_INSERT = """
INSERT INTO gridgeo.inspections (scan_uuid, target_collection, target_code, inspector,
    scanned_at, accuracy_m, result, note, photos, geom)
VALUES (%(uuid)s, %(collection)s, %(code)s, %(inspector)s, %(scanned_at)s, %(accuracy)s,
        %(result)s, %(note)s, %(photos)s::jsonb, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490))
ON CONFLICT (scan_uuid, scanned_at) DO NOTHING
RETURNING id
"""
_OUTCOME = """
SELECT i.id, i.inspector, i.flagged, i.flag_reason, i.distance_m, c.case_no
  FROM gridgeo.inspections i LEFT JOIN gridgeo.incidents c ON c.id = i.incident_id
 WHERE i.scan_uuid = %s
"""


def _json(body: Any, status: int) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _inspector() -> str:
    # Whoever may write inspections may scan (grid workers in their own grids: the
    # database's row scope refuses the rest with a sentence).
    require_for("inspections", "write")
    identity = current_identity()
    assert identity.subject is not None
    return identity.subject


def _outcome(conn: psycopg.Connection, scan_uuid: str, status: str, inspector: str
             ) -> dict[str, Any]:
    row = conn.execute(_OUTCOME, (scan_uuid,)).fetchone()
    if row is None or row[1] != inspector:
        # The UUID is taken by a scan this caller cannot see (another grid) or did not
        # make: say only that it is taken, nothing of the other scan.
        raise RequestError(f"scan_uuid {scan_uuid} is already used by another scan; make a "
                           "new UUID for every scan.", 409, "Conflict")
    return {"scan_uuid": scan_uuid, "status": status, "http_status": 201 if status == "created"
            else 200, "inspection_id": row[0], "flagged": row[2], "flag_reason": row[3],
            "distance_m": row[4], "incident_case_no": row[5]}


def record_scan(conn: psycopg.Connection, scan: Scan, inspector: str) -> dict[str, Any]:
    """Insert one scan inside its own savepoint; created, duplicate (a replay) or refused."""
    try:
        with conn.transaction():
            existing = conn.execute("SELECT inspector FROM gridgeo.inspections"
                                    " WHERE scan_uuid = %s", (scan.scan_uuid,)).fetchone()
            if existing is not None and existing[0] != inspector:
                raise RequestError(f"scan_uuid {scan.scan_uuid} belongs to another inspector's "
                                   "scan; make a new UUID for every scan.", 409, "Conflict")
            if existing is not None:
                return _outcome(conn, scan.scan_uuid, "duplicate", inspector)
            row = conn.execute(_INSERT, {
                "uuid": scan.scan_uuid, "collection": scan.target_collection,
                "code": scan.target_code, "inspector": inspector,
                "scanned_at": scan.scanned_at, "accuracy": scan.accuracy_m,
                "result": scan.result, "note": scan.note,
                "photos": orjson.dumps(scan.photos).decode(), "lon": scan.lon,
                "lat": scan.lat}).fetchone()
            return _outcome(conn, scan.scan_uuid, "created" if row else "duplicate", inspector)
    except psycopg.Error as exc:
        raise write_refusal(exc, "the scan was refused.",
                            "the scan could not be stored; nothing was changed.") from None


def _refused(scan_uuid: Any, exc: RequestError) -> dict[str, Any]:
    return {"scan_uuid": scan_uuid, "status": "refused", "http_status": exc.status,
            "message": exc.message}


def _body() -> Any:
    data = request.get_data()
    if len(data) > MAX_BODY_BYTES:
        raise RequestError(f"the body is {len(data):,} bytes; the limit is {MAX_BODY_BYTES:,}.",
                           413, "PayloadTooLarge")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"the body is not valid JSON: {exc}.") from None


def _begin(conn: psycopg.Connection, inspector: str) -> None:
    conn.execute("SELECT set_config('gridgeo.actor', %s, true)", (inspector,))


@blueprint.post("/scans")
@idempotent
def scan_one() -> Response:
    """One scan: 201 when recorded, 200 when it was recorded before, else a 4xx sentence."""
    inspector = _inspector()
    scan = parse_scan(_body())
    with connection() as conn:
        _begin(conn, inspector)
        outcome = record_scan(conn, scan, inspector)
    return _json(outcome, outcome["http_status"])


@blueprint.post("/scans/batch")
@idempotent
def scan_batch() -> Response:
    """Scans uploaded after working offline: every scan is answered on its own."""
    inspector = _inspector()
    body = _body()
    scans = body.get("scans") if isinstance(body, dict) else None
    if not isinstance(scans, list) or not scans:
        raise RequestError('the body must be {"scans": [ ... ]} with at least one scan.')
    if len(scans) > MAX_BATCH:
        raise RequestError(f"{len(scans)} scans in one batch; send at most {MAX_BATCH}.")
    results = []
    # Oldest first, so each scan's speed check sees the scans made before it.
    parsed: list[tuple[int, Scan | RequestError]] = []
    for index, doc in enumerate(scans):
        try:
            parsed.append((index, parse_scan(doc)))
        except RequestError as exc:
            parsed.append((index, exc))
    ordered = sorted(parsed, key=lambda p: (isinstance(p[1], RequestError),
                                            getattr(p[1], "scanned_at", None) or 0))
    by_index: dict[int, dict[str, Any]] = {}
    with connection() as conn:
        _begin(conn, inspector)
        for index, item in ordered:
            doc = scans[index]
            raw_uuid = doc.get("scan_uuid") if isinstance(doc, dict) else None
            if isinstance(item, RequestError):
                by_index[index] = _refused(raw_uuid, item)
                continue
            try:
                by_index[index] = record_scan(conn, item, inspector)
            except RequestError as exc:
                by_index[index] = _refused(item.scan_uuid, exc)
    results = [by_index[i] for i in range(len(scans))]
    counts = {s: sum(r["status"] == s for r in results)
              for s in ("created", "duplicate", "refused")}
    return _json({"results": results, **counts}, 200)
