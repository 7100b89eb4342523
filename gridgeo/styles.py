"""Serves each collection's styles (QGIS QML, SLD, MapLibre) and links them from it.

Collections link their stylesheets directly (what QGIS and the generated projects use),
and, first, their OGC API - Styles list document: ``/styles`` lists every collection's
style, ``/collections/{id}/styles`` one collection's; ``/styles/{id}`` answers the
stylesheet a client asks for (``f``) and ``/styles/{id}/metadata`` describes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pluggy
from flask import Blueprint, Response, request, send_file

from gridgeo.config import contributed_collections
from gridgeo.errors import NotFound, RequestError
from gridgeo.settings import get_settings

MEDIA_TYPES = {"qml": "application/vnd.qgis.qml+xml", "sld": "application/vnd.ogc.sld+xml",
               "maplibre": "application/vnd.maplibre.style+json"}
TITLES = {"qml": "QGIS style (QML)", "sld": "OGC SLD 1.0 style",
          "maplibre": "MapLibre GL style"}
SPECIFICATIONS = {"qml": "https://docs.qgis.org/latest/en/docs/user_manual/appendices/"
                         "qgis_file_formats.html",
                  "sld": "http://www.opengis.net/def/encoding/ogc/1.0/sld",
                  "maplibre": "https://maplibre.org/maplibre-style-spec/"}
STYLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/styles"
JSON = "application/json"
_STYLES = "http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/"
CONFORMANCE = [f"{_STYLES}core", f"{_STYLES}json", f"{_STYLES}mapbox-styles", f"{_STYLES}sld-10"]


def style_links(server_url: str, collection_id: str, kinds: list[str]) -> list[dict[str, Any]]:
    """Links a collection document carries: its styles list (first: OGC API Styles
    clients follow the first link of this rel), then each stylesheet."""
    if not kinds:
        return []
    return [{"rel": STYLES_REL, "type": JSON, "title": "Styles (OGC API - Styles)",
             "href": f"{server_url}/collections/{collection_id}/styles"},
            *({"rel": STYLES_REL, "type": MEDIA_TYPES[kind], "title": TITLES[kind],
               "href": f"{server_url}/styles/{collection_id}/{kind}"} for kind in sorted(kinds))]


def style_entry(server_url: str, collection_id: str, kinds: list[str]) -> dict[str, Any]:
    """One style in a styles list: its stylesheets and its metadata."""
    base = f"{server_url}/styles/{collection_id}"
    return {"id": collection_id, "title": collection_id, "links": [
        *({"rel": "stylesheet", "type": MEDIA_TYPES[k], "title": TITLES[k],
           "href": f"{base}/{k}"} for k in sorted(kinds)),
        {"rel": "describedby", "type": JSON, "title": "Style metadata",
         "href": f"{base}/metadata"}]}


def style_metadata(server_url: str, collection_id: str, kinds: list[str]) -> dict[str, Any]:
    base = f"{server_url}/styles/{collection_id}"
    return {"id": collection_id, "title": collection_id, "scope": "style",
            "stylesheets": [{"title": TITLES[k], "specification": SPECIFICATIONS[k],
                             "native": True, "link": {"rel": "stylesheet",
                                                      "type": MEDIA_TYPES[k],
                                                      "href": f"{base}/{k}"}}
                            for k in sorted(kinds)],
            "links": [{"rel": "self", "type": JSON, "href": f"{base}/metadata"}]}


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), mimetype=JSON)


def styles_blueprint(pm: pluggy.PluginManager) -> Blueprint:
    """The styles routes (see the module's docstring)."""
    styles = {c.id: c.styles for c in contributed_collections(pm) if c.styles}
    blueprint = Blueprint("gridgeo_styles", __name__)

    def known(collection_id: str) -> dict[str, Path]:
        if collection_id not in styles:
            raise NotFound(f"there is no style {collection_id}; GET /styles lists them.")
        return styles[collection_id]

    @blueprint.get("/styles")
    def style_list() -> Response:
        url = get_settings().server_url
        return _json({"styles": [style_entry(url, cid, list(kinds))
                                 for cid, kinds in sorted(styles.items())],
                      "links": [{"rel": "self", "type": JSON, "href": f"{url}/styles"}]})

    @blueprint.get("/collections/<collection_id>/styles")
    def collection_styles(collection_id: str) -> Response:
        url, kinds = get_settings().server_url, list(known(collection_id))
        return _json({"styles": [style_entry(url, collection_id, kinds)],
                      "default": collection_id,
                      "links": [{"rel": "self", "type": JSON,
                                 "href": f"{url}/collections/{collection_id}/styles"}]})

    @blueprint.get("/styles/<collection_id>")
    def stylesheet(collection_id: str) -> Response:
        kinds = known(collection_id)
        kind = request.args.get("f") or ("maplibre" if "maplibre" in kinds else min(kinds))
        if kind not in kinds:
            raise RequestError(f"f must be one of {', '.join(sorted(kinds))} for style "
                               f"{collection_id}; got {kind!r}.")
        return style(collection_id, kind)

    @blueprint.get("/styles/<collection_id>/<kind>")
    def style(collection_id: str, kind: str) -> Response:
        kinds = known(collection_id)
        if kind == "metadata":
            return _json(style_metadata(get_settings().server_url, collection_id, list(kinds)))
        if kind not in kinds:
            raise NotFound(f"style {collection_id} has no {kind} stylesheet; it has "
                           f"{', '.join(sorted(kinds))}.")
        return send_file(kinds[kind], mimetype=MEDIA_TYPES[kind], max_age=300)

    return blueprint


def openapi_paths(styled: list[str]) -> dict[str, dict[str, Any]]:
    """The styles routes in the OpenAPI document (``styled``: collections with styles)."""
    json_ok = {"200": {"description": "A styles document.",
                       "content": {JSON: {"schema": {"type": "object"}}}},
               "404": {"description": "No such collection or style."}}
    style_id = {"name": "styleId", "in": "path", "required": True,
                "description": "a collection's id", "schema": {"type": "string"}}
    sheet = {"200": {"description": "The stylesheet.", "content": {
        media: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values()}},
        "400": {"description": "A format the style does not have."},
        "404": {"description": "No such style or stylesheet."}}
    paths: dict[str, dict[str, Any]] = {
        f"/collections/{cid}/styles": {"get": {
            "summary": f"The styles of {cid}", "tags": [cid],
            "operationId": f"get{cid.title().replace('_', '')}Styles", "responses": json_ok}}
        for cid in sorted(styled)}
    return paths | {
        "/styles": {"get": {"summary": "Every collection's style (OGC API - Styles)",
                            "operationId": "getStyles", "tags": ["styles"],
                            "responses": json_ok}},
        "/styles/{styleId}": {"get": {
            "summary": "A style's stylesheet in the format f names (MapLibre by default)",
            "operationId": "getStyle", "tags": ["styles"], "parameters": [
                style_id, {"name": "f", "in": "query", "required": False,
                           "schema": {"type": "string", "enum": sorted(MEDIA_TYPES)}}],
            "responses": sheet}},
        "/styles/{styleId}/metadata": {"get": {
            "summary": "A style's metadata: its stylesheets", "operationId": "getStyleMetadata",
            "tags": ["styles"], "parameters": [style_id], "responses": json_ok}},
        "/styles/{styleId}/{format}": {"get": {
            "summary": "A style's stylesheet (QGIS QML, SLD 1.0 or MapLibre)",
            "operationId": "getStylesheet", "tags": ["styles"], "parameters": [
                style_id, {"name": "format", "in": "path", "required": True,
                           "schema": {"type": "string", "enum": sorted(MEDIA_TYPES)}}],
            "responses": sheet}},
    }
