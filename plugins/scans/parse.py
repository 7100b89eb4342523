"""A scan as the device sends it, checked for shape before the database sees it."""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from gridgeo.errors import RequestError

COLLECTIONS = {"a": "addresses", "g": "greenhouses", "k": "mine_tunnels"}
_QR_PATH = re.compile(r"/q/(?P<letter>[agk])/(?P<code>[0-9A-Za-z]{1,40})/?$")
MAX_PHOTOS, MAX_NOTE = 10, 2000


@dataclass(frozen=True)
class Scan:
    scan_uuid: str
    target_collection: str
    target_code: str
    scanned_at: datetime
    lon: float
    lat: float
    accuracy_m: float | None
    result: str
    note: str | None
    photos: list[str]


def _target(doc: dict[str, Any]) -> tuple[str, str]:
    """The QR payload the phone read (any host: plates outlive domain names), or
    target_collection + target_code."""
    if doc.get("target") is not None:
        match = _QR_PATH.search(urlparse(str(doc["target"])).path)
        if match is None:
            raise RequestError(f"target {doc['target']!r} is not a gridgeo QR link "
                               "(…/q/a|g|k/<code>).")
        return COLLECTIONS[match["letter"]], str(match["code"])
    collection, code = doc.get("target_collection"), doc.get("target_code")
    if collection not in COLLECTIONS.values() or not isinstance(code, str) or not code:
        raise RequestError("say what was scanned: target (the QR link) or target_collection "
                           f"({', '.join(COLLECTIONS.values())}) and target_code.")
    return str(collection), code


def _time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(f"scanned_at must be an RFC 3339 date-time such as "
                           f"2026-11-25T09:30:00+08:00; got {value!r}.") from None
    if moment.tzinfo is None:
        raise RequestError("scanned_at needs its UTC offset (e.g. +08:00): a device time "
                           "without one is ambiguous.")
    return moment


def _position(value: Any) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not all(math.isfinite(v) for v in value)):
        raise RequestError("position must be [longitude, latitude] in decimal degrees.")
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise RequestError(f"position {value} is out of range; send [longitude, latitude].")
    return lon, lat


def _accuracy(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(
            value) or value < 0:
        raise RequestError(f"accuracy_m must be a number of metres ≥ 0; got {value!r}.")
    return float(value)


def _photos(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_PHOTOS or not all(
            isinstance(p, str) and urlparse(p).scheme in ("http", "https") for p in value):
        raise RequestError(f"photos must be a list of at most {MAX_PHOTOS} http(s) links.")
    return value


def parse_scan(doc: Any) -> Scan:
    """A Scan, or a RequestError whose sentence says what to fix."""
    if not isinstance(doc, dict):
        raise RequestError("a scan must be a JSON object.")
    try:
        scan_uuid = str(uuid.UUID(str(doc.get("scan_uuid"))))
    except ValueError:
        raise RequestError("scan_uuid must be the UUID the device made for this scan.") from None
    collection, code = _target(doc)
    lon, lat = _position(doc.get("position"))
    result, note = doc.get("result"), doc.get("note")
    if not isinstance(result, str) or not result:
        raise RequestError("result is required (e.g. in_use, reopened).")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise RequestError(f"note must be text of at most {MAX_NOTE} characters.")
    return Scan(scan_uuid, collection, code, _time(doc.get("scanned_at")), lon, lat,
                _accuracy(doc.get("accuracy_m")), result, note, _photos(doc.get("photos")))
