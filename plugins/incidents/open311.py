"""Open311 GeoReport v2 for the hotline (热线): services, new requests, request status.

A service is an incident category; a service request is an incident with source
``hotline``. The hotline system authenticates with an API key like any other writer
(best one naming the system: {"role": "gis_editor", "system": "12345"}). Reporter names
and phones are stored as the incident's personal fields and never appear in any Open311
answer. ``GET /requests/{case_no}.json`` reads incidents_view like every other path: an
anonymous caller gets the reduced public view (no description, status notes or address,
the place generalised; sensitive categories are not found), staff the full one.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from flask import Blueprint, Response, request
from gridgeo_plugins.incidents.db import require_writer

from gridgeo.db.pool import connection, write_transaction
from gridgeo.errors import NotFound, RequestError
from gridgeo.idempotency import idempotent
from gridgeo.identity import current_identity

blueprint = Blueprint("gridgeo_open311", __name__, url_prefix="/open311/v2")
MAX_TEXT = 4000
FINAL_STATES = ("closed", "invalid", "duplicate")


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


@blueprint.get("/services.json")
def services() -> Response:
    """Every incident category as an Open311 service."""
    with connection() as conn:
        rows = conn.execute("SELECT code, name_zh, name_en, class FROM gridgeo.incident_categories"
                            " ORDER BY class, code").fetchall()
    return _json([{"service_code": code, "service_name": name_zh, "description": name_en,
                   "metadata": False, "type": "realtime", "keywords": name_en, "group": group}
                  for code, name_zh, name_en, group in rows])


def _form() -> dict[str, Any]:
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise RequestError("the body must be a JSON object or a form "
                               "(application/x-www-form-urlencoded).")
        return body
    return request.form.to_dict()


def _text(form: dict[str, Any], name: str, limit: int = 200) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RequestError(f"{name} must be text.")
    if len(value) > limit:
        raise RequestError(f"{name} is {len(value)} characters long; the limit is {limit}.")
    return value.strip() or None


def _coordinate(form: dict[str, Any], name: str, limit: float) -> float | None:
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise RequestError(f"{name} must be a number in decimal degrees; got {raw!r}.") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise RequestError(f"{name} {raw!r} is out of range (±{limit:g} degrees).")
    return value


def _media_url(form: dict[str, Any]) -> str | None:
    url = _text(form, "media_url", 2000)
    if url is not None and not url.startswith(("http://", "https://")):
        raise RequestError(f"media_url must be an http(s) link to the photo; got {url!r}.")
    return url


def _media() -> Any:
    """Open311's multipart ``media`` file, checked by the attachments plugin before the
    incident is written (None when the request has none)."""
    if request.mimetype != "multipart/form-data":
        return None
    from gridgeo_plugins.attachments.media import prepare
    from gridgeo_plugins.attachments.upload import file_field

    data = file_field("media")
    return prepare(data) if data is not None else None


def _attach_media(conn: Any, placed: Any, incident_id: int, media: Any) -> None:
    from gridgeo_plugins.attachments.records import ATTACHABLE
    from gridgeo_plugins.attachments.routes import attach

    attach(conn, placed, ATTACHABLE["incidents"], incident_id, media, "media", "before")


def _location(form: dict[str, Any]) -> tuple[float | None, float | None, str | None]:
    lat, lon = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    address_id = _text(form, "address_id", 40)
    if (lat is None) != (lon is None):
        raise RequestError("send both lat and long, or neither and an address_id.")
    if lat is None and address_id is None:
        raise RequestError("where is it? send lat and long (WGS84 decimal degrees) or the "
                           "address_id (address code) of a standard address.")
    return lat, lon, address_id


@blueprint.post("/requests.json")
@idempotent
def create_request() -> Response:
    """A hotline call becomes an incident in state reported; answers its case number."""
    require_writer("creating a service request")
    media = _media()  # the photo is checked before anything is written
    form = _form()
    service_code = _text(form, "service_code", 64)
    if service_code is None:
        raise RequestError("service_code is required; GET /open311/v2/services.json lists them.")
    description = _text(form, "description", MAX_TEXT)
    lat, lon, address_code = _location(form)
    name = "".join(filter(None, (_text(form, "last_name", 50), _text(form, "first_name", 50))))
    from gridgeo_plugins.attachments.unit import placements

    # The incident and its photo are one unit of work: both are kept, or neither.
    with placements() as placed, write_transaction() as conn:
        category = conn.execute("SELECT name_zh FROM gridgeo.incident_categories WHERE code = %s",
                                (service_code,)).fetchone()
        if category is None:
            raise RequestError(f"service_code {service_code!r} is not a service; GET "
                               "/open311/v2/services.json lists them.")
        address = None
        if address_code is not None:
            address = conn.execute("SELECT id, full_address, geom FROM gridgeo.addresses"
                                   " WHERE address_code = %s", (address_code,)).fetchone()
            if address is None:
                raise RequestError(f"address_id {address_code!r} is not a standard address code.")
        # The number first and no RETURNING: the hotline files sensitive calls (a
        # neighbour dispute) that its own role may not read back; the id (for the photo)
        # is the one this session's insert just took from the sequence.
        row = conn.execute("SELECT gridgeo.next_case_no()").fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO gridgeo.incidents (case_no, category_code, title, description, source,"
            " address_text, address_id, reporter_name, reporter_phone, media_url, geom)"
            " VALUES (%(case_no)s, %(code)s, %(title)s, %(description)s, 'hotline',"
            " %(address_text)s, %(address_id)s, %(name)s, %(phone)s, %(media_url)s,"
            " coalesce(%(geom)s::geometry, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490)))",
            {"case_no": row[0], "code": service_code, "title": (description or category[0])[:60],
             "description": description,
             "address_text": _text(form, "address_string", 300) or (address[1] if address
                                                                       else None),
             "address_id": address[0] if address else None, "name": name or None,
             "phone": _text(form, "phone", 40), "geom": address[2] if address else None,
             "media_url": _media_url(form), "lon": lon, "lat": lat})
        if media is not None:
            incident = conn.execute("SELECT currval(pg_get_serial_sequence('gridgeo.incidents',"
                                    " 'id'))").fetchone()
            assert incident is not None
            _attach_media(conn, placed, incident[0], media)
    return _json([{"service_request_id": row[0],
                   "service_notice": "已受理登记，可凭编号查询处理进度。",
                   "account_id": None}], 201)


@blueprint.get("/requests/<case_no>.json")
def get_request(case_no: str) -> Response:
    """One service request in GeoReport v2 form: no reporter data, ever."""
    with connection() as conn:
        row = conn.execute(
            "SELECT v.case_no, v.state, v.state_note, v.category_name, v.category_code,"
            " v.description, v.agency_responsible, v.reported_at, v.updated_at, v.deadline_at,"
            " v.address_text,"
            " v.address_id, ST_Y(v.geom), ST_X(v.geom), i.media_url"
            " FROM gridgeo.incidents_view v JOIN gridgeo.incidents i USING (id)"
            " WHERE v.case_no = %s", (case_no,)).fetchone()
    if row is None:
        raise NotFound(f"no service request {case_no}.")
    return _json([{
        "service_request_id": row[0], "status": "closed" if row[1] in FINAL_STATES else "open",
        "status_notes": row[2], "state": row[1], "service_name": row[3], "service_code": row[4],
        "description": row[5], "agency_responsible": row[6],
        "requested_datetime": row[7].isoformat(), "updated_datetime": row[8].isoformat(),
        "expected_datetime": row[9].isoformat() if row[9] else None, "address": row[10],
        "address_id": row[11], "lat": row[12], "long": row[13],
        # A caller's photo link may show people: only for roles that see personal data.
        "media_url": row[14] if current_identity().may_see_personal_data else None}])
