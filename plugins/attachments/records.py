"""Attachment rows: the item they belong to, checked as the caller; insert, list, find."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from gridgeo_plugins.attachments.media import PreparedFile

from gridgeo.errors import NotFound, RequestError

# A photo farther than this from its case or scan, or taken longer before it, is flagged
# (as scans far from their target are), not refused: the evidence is kept either way.
MAX_DISTANCE_M = 1000.0
MAX_HOURS_BEFORE = 24.0
STAGES = {"before": "before", "after": "after", "处置前": "before", "处置后": "after"}


@dataclass(frozen=True)
class Attachable:
    """A collection whose items take attachments, and the time its photos are checked
    against (when the case was reported, when the scan was made)."""

    collection: str
    table: str
    column: str  # the attachments column naming the item
    moment: str
    what: str


ATTACHABLE = {
    "incidents": Attachable("incidents", "incidents", "incident_id", "reported_at",
                            "the incident was reported"),
    "inspections": Attachable("inspections", "inspections", "inspection_id", "scanned_at",
                              "the scan was made"),
}
_COLUMNS = ("id, sha256, media_type, length, public_type, public_length, has_thumbnail,"
            " title, stage, width, height, taken_at, ST_X(geom), ST_Y(geom), distance_m,"
            " flagged, flag_reason, uploaded_by, uploaded_at")


@dataclass(frozen=True)
class AttachmentRow:
    id: int
    sha256: str
    media_type: str
    length: int
    public_type: str
    public_length: int
    has_thumbnail: bool
    title: str | None
    stage: str | None
    width: int | None
    height: int | None
    taken_at: datetime | None
    lon: float | None
    lat: float | None
    distance_m: float | None
    flagged: bool
    flag_reason: str | None
    uploaded_by: str
    uploaded_at: datetime


def attachable(collection: str) -> Attachable:
    if collection not in ATTACHABLE:
        raise NotFound(f"items of {collection} take no attachments; incidents and "
                       "inspections do.")
    return ATTACHABLE[collection]


def item_key(item_id: str) -> int:
    if not item_id.isdigit() or len(item_id) > 18:
        raise NotFound(f"no item {item_id}: item ids here are whole numbers.")
    return int(item_id)


def lock_for_writing(conn: psycopg.Connection, target: Attachable, item: int) -> None:
    """Lock the item as the caller: FOR UPDATE passes the table's update policy too, so a
    grid worker attaches only to items of the grids it may change."""
    row = conn.execute(f"SELECT id FROM gridgeo.{target.table} WHERE id = %s FOR UPDATE",
                       (item,)).fetchone()
    if row is None:
        raise RequestError(f"your role may read {target.collection} item {item} but not change "
                           "it, so it may not attach files to it.", 403, "Forbidden")


def _flag_reason(distance_m: float | None, hours_before: float | None,
                 target: Attachable) -> str | None:
    reasons = []
    if distance_m is not None and distance_m > MAX_DISTANCE_M:
        reasons.append(f"the photo was taken {distance_m / 1000:.1f} km from the place "
                       f"(more than {MAX_DISTANCE_M / 1000:g} km)")
    if hours_before is not None and hours_before > MAX_HOURS_BEFORE:
        reasons.append(f"the photo was taken {hours_before:.0f} h before {target.what} "
                       f"(more than {MAX_HOURS_BEFORE:g} h)")
    return "; ".join(reasons) + "." if reasons else None


def insert(conn: psycopg.Connection, target: Attachable, item: int, prepared: PreparedFile,
           title: str | None, stage: str | None, actor: str) -> tuple[int, bool]:
    """The attachment's id and whether it is new (the same bytes on the same item are
    one attachment: a repeated upload answers the first)."""
    photo = prepared.photo
    point = ("ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490)" if photo.lon is not None
             else "NULL::geometry")
    checks = conn.execute(
        f"SELECT round(ST_Distance(i.geom::geography, {point}::geography)::numeric, 1),"
        f" extract(epoch FROM i.{target.moment} - %(taken)s::timestamp::timestamptz) / 3600"
        f" FROM gridgeo.{target.table} i WHERE i.id = %(item)s",
        {"lon": photo.lon, "lat": photo.lat, "taken": photo.taken_at, "item": item}).fetchone()
    assert checks is not None  # the item is locked
    distance = float(checks[0]) if checks[0] is not None else None
    reason = _flag_reason(distance, float(checks[1]) if checks[1] is not None else None, target)
    row = conn.execute(
        f"INSERT INTO gridgeo.attachments ({target.column}, sha256, media_type, length,"
        " public_type, public_length, has_thumbnail, title, stage, width, height, taken_at,"
        " geom, distance_m, flagged, flag_reason, uploaded_by)"
        " VALUES (%(item)s, %(sha)s, %(type)s, %(length)s, %(ptype)s, %(plength)s, %(thumb)s,"
        f" %(title)s, %(stage)s, %(w)s, %(h)s, %(taken)s::timestamp::timestamptz, {point},"
        " %(distance)s, %(flagged)s, %(reason)s, %(actor)s)"
        f" ON CONFLICT ({target.column}, sha256) DO NOTHING RETURNING id",
        {"item": item, "sha": prepared.sha256, "type": prepared.media_type,
         "length": len(prepared.original), "ptype": prepared.public_type,
         "plength": len(prepared.public), "thumb": prepared.thumbnail is not None,
         "title": title, "stage": stage, "w": prepared.width, "h": prepared.height,
         "taken": photo.taken_at, "lon": photo.lon, "lat": photo.lat, "distance": distance,
         "flagged": reason is not None, "reason": reason, "actor": actor}).fetchone()
    if row is not None:
        return int(row[0]), True
    existing = conn.execute(f"SELECT id FROM gridgeo.attachments WHERE {target.column} = %s"
                            " AND sha256 = %s", (item, prepared.sha256)).fetchone()
    assert existing is not None
    return int(existing[0]), False


def listed(conn: psycopg.Connection, target: Attachable, item: int) -> list[AttachmentRow]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM gridgeo.attachments WHERE {target.column} = %s"
                        " ORDER BY id", (item,)).fetchall()
    return [AttachmentRow(*row) for row in rows]


def found(conn: psycopg.Connection, target: Attachable, item: int, ref: str) -> AttachmentRow:
    """One attachment of the item, named by its id or its SHA-256."""
    if ref.isdigit() and len(ref) <= 18:
        where, value = "id = %s", int(ref)
    elif len(ref) == 64 and all(c in "0123456789abcdef" for c in ref.lower()):
        where, value = "sha256 = %s", ref.lower()  # type: ignore[assignment]
    else:
        raise NotFound(f"no attachment {ref}: name one by its id or its SHA-256.")
    row = conn.execute(f"SELECT {_COLUMNS} FROM gridgeo.attachments"
                       f" WHERE {target.column} = %s AND {where}", (item, value)).fetchone()
    if row is None:
        raise NotFound(f"{target.collection} item {item} has no attachment {ref}.")
    return AttachmentRow(*row)


def media_url(conn: psycopg.Connection, target: Attachable, item: int) -> str | None:
    """The photo link a hotline sent with the case (Open311 ``media_url``), if any."""
    if target.table != "incidents":
        return None
    row = conn.execute("SELECT media_url FROM gridgeo.incidents WHERE id = %s",
                       (item,)).fetchone()
    return str(row[0]) if row and row[0] else None


def describe(row: AttachmentRow, href: str, personal: bool) -> dict[str, Any]:
    """An attachment as a caller sees it: who receives the public copy sees neither the
    camera's position nor who uploaded it."""
    doc: dict[str, Any] = {
        "id": row.id, "sha256": row.sha256, "title": row.title, "stage": row.stage,
        "type": row.media_type if personal else row.public_type,
        "length": row.length if personal else row.public_length,
        "original_type": row.media_type, "width": row.width, "height": row.height,
        "taken_at": row.taken_at.isoformat() if row.taken_at else None,
        "distance_m": row.distance_m, "flagged": row.flagged, "flag_reason": row.flag_reason,
        "uploaded_at": row.uploaded_at.isoformat(), "href": href,
        "thumbnail": f"{href}/thumbnail" if row.has_thumbnail else None}
    if personal:
        doc["position"] = [row.lon, row.lat] if row.lon is not None else None
        doc["uploaded_by"] = row.uploaded_by
    return doc
