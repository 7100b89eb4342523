"""Attachment routes below an item: upload, list, the file, its thumbnail.

Every route first reads the item as the caller through the items read path (the same
query and row-level security as ``GET .../items/{itemId}``): an item the caller cannot
read has no attachments for it either (404).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
from flask import Blueprint, Response, request
from gridgeo_plugins.attachments import records
from gridgeo_plugins.attachments.media import PreparedFile, prepare
from gridgeo_plugins.attachments.records import Attachable, AttachmentRow
from gridgeo_plugins.attachments.unit import Placements, blob_keys, placements
from gridgeo_plugins.attachments.upload import read_upload
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule

from gridgeo.db.pool import connection, write_transaction
from gridgeo.errors import NotFound, RequestError
from gridgeo.idempotency import idempotent
from gridgeo.identity import current_identity
from gridgeo.security.access import may_see_personal, require_for
from gridgeo.storage import get_store

LOGGER = logging.getLogger(__name__)
blueprint = Blueprint("gridgeo_attachments", __name__)
BASE = "/collections/<collection>/items/<item_id>/attachments"


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _config() -> dict[str, Any]:
    from pygeoapi.flask_app import CONFIG

    return CONFIG  # type: ignore[no-any-return]


def personal(collection: str) -> bool:
    """Whether the caller receives originals (EXIF and GPS included) of this collection."""
    resource = _config()["resources"].get(collection)
    return may_see_personal(current_identity(), collection, resource)


def href(server_url: str, target: Attachable, item: int, attachment_id: int) -> str:
    return f"{server_url}/collections/{target.collection}/items/{item}/attachments/" \
           f"{attachment_id}"


def _server_url() -> str:
    return str(_config()["server"]["url"]).rstrip("/")


def readable_item(conn: psycopg.Connection, target: Attachable, item_id: str) -> int:
    """The item's id if the caller may read it (the items read path), else a 404."""
    from gridgeo.items.respond import collection_info, read_item

    item = records.item_key(item_id)
    info = collection_info(_config(), target.collection)
    if info is None or read_item(conn, info, item_id, {}) is None:
        raise NotFound(f"No item with id {item_id} in collection {target.collection}.")
    return item


def attach(conn: psycopg.Connection, placed: Placements, target: Attachable, item: int,
           prepared: PreparedFile, title: str | None, stage: str | None) -> tuple[int, bool]:
    """Place the blobs, then insert the row, in the caller's transaction (see unit.py)."""
    original, public, thumbnail = blob_keys(prepared.sha256)
    blobs = {original: prepared.original, public: prepared.public}
    if prepared.thumbnail is not None:
        blobs[thumbnail] = prepared.thumbnail
    placed.place(conn, prepared.sha256, blobs)
    return records.insert(conn, target, item, prepared, title, stage,
                          current_identity().subject or "anonymous")


def upload(collection: str, item_id: str) -> Response:
    """201 with the attachment's description; 200 when the same bytes were attached before."""
    target = records.attachable(collection)
    require_for(collection, "write")
    sent = read_upload()
    prepared = prepare(sent.data)  # every check before anything is stored
    with placements() as placed, write_transaction(
            "the attachment was refused.",
            "the attachment could not be stored; nothing was kept.") as conn:
        item = readable_item(conn, target, item_id)
        records.lock_for_writing(conn, target, item)
        attachment_id, created = attach(conn, placed, target, item, prepared, sent.title,
                                        sent.stage)
        row = records.found(conn, target, item, str(attachment_id))
    link = href(_server_url(), target, item, attachment_id)
    response = _json(records.describe(row, link, personal(collection)), 201 if created else 200)
    response.headers["Location"] = link
    return response


def listing(collection: str, item_id: str) -> Response:
    target = records.attachable(collection)
    with connection() as conn:
        item = readable_item(conn, target, item_id)
        rows = records.listed(conn, target, item)
    own = personal(collection)
    server = _server_url()
    return _json({"attachments": [records.describe(r, href(server, target, item, r.id), own)
                                  for r in rows],
                  "links": [{"rel": "collection", "type": "application/geo+json",
                             "href": f"{server}/collections/{collection}/items/{item}"}]})


def _row(collection: str, item_id: str, ref: str) -> AttachmentRow:
    target = records.attachable(collection)
    with connection() as conn:
        item = readable_item(conn, target, item_id)
        return records.found(conn, target, item, ref)


def _blob(key: str, media_type: str, row: AttachmentRow, name: str) -> Response:
    data = get_store().get(key)
    if data is None:
        LOGGER.error("attachment %s: blob %s is missing from the store", row.id, key)
        raise RequestError(f"the file of attachment {row.id} is not in storage; tell the "
                           "administrator (the server log names it).", 500, "ServerError")
    response = Response(data, mimetype=media_type)
    response.headers["ETag"] = f'"{key}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


_SUFFIX = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic",
           "application/pdf": "pdf"}


def download(collection: str, item_id: str, ref: str) -> Response:
    """The original for roles with personal-data rights, else the re-encoded copy."""
    row = _row(collection, item_id, ref)
    original, public, _ = blob_keys(row.sha256)
    if personal(collection):
        return _blob(original, row.media_type, row,
                     f"attachment-{row.id}.{_SUFFIX[row.media_type]}")
    return _blob(public, row.public_type, row, f"attachment-{row.id}.{_SUFFIX[row.public_type]}")


def thumbnail(collection: str, item_id: str, ref: str) -> Response:
    row = _row(collection, item_id, ref)
    if not row.has_thumbnail:
        raise NotFound(f"attachment {row.id} is a {row.media_type} document: only photos have "
                       "thumbnails.")
    return _blob(blob_keys(row.sha256)[2], "image/jpeg", row, f"thumbnail-{row.id}.jpg")


ROUTES = Map([Rule(BASE, endpoint="upload", methods=["POST"]),
              Rule(BASE, endpoint="listing", methods=["GET"]),
              Rule(f"{BASE}/<ref>", endpoint="download", methods=["GET"]),
              Rule(f"{BASE}/<ref>/thumbnail", endpoint="thumbnail", methods=["GET"])],
             strict_slashes=False)
# A phone retrying an upload whose answer it lost gets the first answer (Idempotency-Key).
VIEWS: dict[str, Callable[..., Response]] = {"upload": idempotent(upload), "listing": listing,
                                            "download": download, "thumbnail": thumbnail}


@blueprint.before_app_request
def dispatch() -> Response | None:
    """Answer attachment paths before routing: pygeoapi's ``items/<path:item_id>`` rule
    would otherwise take them (as it would the tiles paths, see gridgeo_plugins.maps)."""
    if "/attachments" not in request.path:
        return None
    try:
        endpoint, args = ROUTES.bind("").match(request.path, method=request.method)
    except MethodNotAllowed:
        raise RequestError(f"{request.method} is not allowed here; attachments are added "
                           "with POST and read with GET.", 405, "MethodNotAllowed") from None
    except HTTPException:
        return None
    return VIEWS[str(endpoint)](**args)
