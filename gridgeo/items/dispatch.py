"""Routes items requests of gridgeo's collections: one request model for every format.

Every items list request is read by the request model (``gridgeo.provider.params``)
first, so a bad one gets the same 400 and sentence in any format. JSON reads and every
write are answered by gridgeo's own handlers; HTML, CSV and JSON-LD lists are rendered
by pygeoapi (``gridgeo.items.pygeoapi_views``); one item in those formats goes on to
pygeoapi as it is.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from flask import Request, Response
from pygeoapi.provider.base import ProviderGenericError

from gridgeo.errors import NotFound, RequestError
from gridgeo.idempotency import respond
from gridgeo.identity import current_identity
from gridgeo.items import write
from gridgeo.items.pygeoapi_views import items_page
from gridgeo.items.respond import (
    PROVIDER,
    collection_info,
    item_response,
    items_response,
    written_item_response,
)
from gridgeo.items.validate import parse_json, validate_feature
from gridgeo.provider.columns import table_info
from gridgeo.provider.params import CollectionInfo, build_query
from gridgeo.security.access import require

ITEMS_PATH = re.compile(r"^/collections/(?P<collection>[^/]+)/items(?:/(?P<item>[^/]+))?/?$")
GEOJSON = "application/geo+json"
MAX_BODY_BYTES = 5 * 1024 * 1024


def _wants_json(request: Request) -> bool:
    f = request.args.get("f")
    if f:
        return f in ("json", "geojson")
    if not request.accept_mimetypes:
        return True
    best = request.accept_mimetypes.best_match([GEOJSON, "application/json", "text/html"])
    return best in (GEOJSON, "application/json")


def handle(request: Request, config: dict[str, Any]) -> Response | None:
    """gridgeo's response to an items request, or None to let pygeoapi answer."""
    match = ITEMS_PATH.match(request.path)
    if match is None or request.method in ("OPTIONS", "HEAD"):
        return None
    if request.method == "GET" and match["item"] and not _wants_json(request):
        return None  # one item's page: pygeoapi renders it
    try:
        resource = config["resources"].get(match["collection"])
        if resource is not None:
            require(current_identity(), match["collection"], resource, "read")
        info = collection_info(config, match["collection"])
        if info is None:
            return None
        base = f"{config['server']['url'].rstrip('/')}/collections/{info.id}/items"
        if request.method == "GET" and not _wants_json(request):
            build_query(request.args, info)  # the same checks and sentences as JSON
            return items_page(request, info.id, config)
        if request.method == "GET":
            if match["item"]:
                return item_response(info, match["item"], request.args, base)
            return items_response(info, request.args, base)
        return _write(request, config, info, match["item"], base)
    except RequestError as exc:
        return exc.response()
    except ProviderGenericError as exc:
        return RequestError(exc.message, exc.http_status_code, exc.ogc_exception_code).response()


def _provider_def(config: dict[str, Any], info: CollectionInfo) -> dict[str, Any]:
    return next(p for p in config["resources"][info.id]["providers"]
                if p.get("name") == PROVIDER)


def _target(config: dict[str, Any], info: CollectionInfo) -> write.WriteTarget:
    provider = _provider_def(config, info)
    if not provider.get("editable"):
        raise RequestError(f"collection {info.id} is read-only.", 405, "MethodNotAllowed")
    data = provider["data"]
    table = table_info(data["table"], info.geometry_column)
    readonly = {info.id_field, info.geometry_column, *data.get("readonly", [])}
    return write.WriteTarget(info.id, data["table"], info.id_field, info.geometry_column, table,
                             frozenset(c for c in table.columns if c not in readonly),
                             if_match_required=provider.get("if_match") == "required")


def _answer(info: CollectionInfo, base: str, created: bool = False) -> write.Answerer[Response]:
    """A write's answer, read in the write's transaction (body and ETag of one version)."""
    def answer(conn: psycopg.Connection, item_id: str, tag: str) -> Response:
        response = written_item_response(conn, info, item_id, tag, base)
        if created:
            response.status_code = 201
            response.headers["Location"] = f"{base}/{item_id}"
        return response
    return answer


def _create(request: Request, info: CollectionInfo, target: write.WriteTarget,
            base: str) -> Response:
    feature = validate_feature(parse_json(request.get_data(), MAX_BODY_BYTES), target.info,
                               set(target.writable), info.geometry_column,
                               request.headers.get("Content-Crs", "").strip("<>") or None,
                               partial=False)
    return write.create(target, feature, _answer(info, base, created=True))


def _write(request: Request, config: dict[str, Any], info: CollectionInfo,
           item_id: str | None, base: str) -> Response:
    # Which roles may write is configuration; which rows, row-level security.
    require(current_identity(), info.id, config["resources"][info.id], "write")
    target = _target(config, info)
    if request.method == "POST" and item_id is None:
        return respond(request, lambda: _create(request, info, target, base))
    if item_id is None or request.method not in ("PUT", "PATCH", "DELETE"):
        raise RequestError(f"{request.method} is not allowed here; use POST on items, or PUT, "
                           "PATCH or DELETE on one item.", 405, "MethodNotAllowed")
    if_match = request.headers.get("If-Match")
    if request.method == "DELETE" and not _provider_def(config, info).get("deletable", True):
        raise RequestError(f"items of {info.id} are never deleted; change their state instead.",
                           405, "MethodNotAllowed")
    if request.method == "DELETE":
        write.delete(target, item_id, if_match)
        return Response(status=204)
    doc = parse_json(request.get_data(), MAX_BODY_BYTES)
    if isinstance(doc, dict) and "id" in doc and str(doc["id"]) != item_id:
        raise RequestError(f"the body's id {doc['id']!r} is not the id in the URL ({item_id}); "
                           "the URL names the item, so leave id out or make them agree.")
    feature = validate_feature(doc, target.info, set(target.writable), info.geometry_column,
                               request.headers.get("Content-Crs", "").strip("<>") or None,
                               partial=request.method == "PATCH")
    return write.update(target, item_id, feature, request.method == "PUT", if_match,
                        _answer(info, base))


__all__ = ["NotFound", "handle"]
