"""The tile matrix set the tiles use, at the paths OGC API - Tiles names
(``/tileMatrixSets``, ``/tileMatrixSets/WebMercatorQuad``), and the conformance
classes of the tile routes. pygeoapi answers ``/TileMatrixSets`` (capital T) only;
its definition of WebMercatorQuad is the one served here."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from gridgeo_plugins.maps.tiles import TMS_ID, TMS_URI
from pygeoapi.models.provider.base import TileMatrixSetEnum

from gridgeo.errors import NotFound
from gridgeo.settings import get_settings

_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
CONFORMANCE = [f"{_TILES}{c}" for c in ("core", "tileset", "tilesets-list",
                                        "geodata-tilesets", "mvt", "oas30")] + [
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset"]
JSON = "application/json"


def tile_matrix_set() -> dict[str, Any]:
    """WebMercatorQuad as the OGC Two Dimensional Tile Matrix Set standard (2.0) writes it."""
    tms = TileMatrixSetEnum.WEBMERCATORQUAD.value
    url = f"{get_settings().server_url}/tileMatrixSets/{TMS_ID}"
    return {"id": TMS_ID, "title": tms.title, "uri": TMS_URI, "crs": tms.crs,
            "orderedAxes": tms.orderedAxes, "wellKnownScaleSet": tms.wellKnownScaleSet,
            "tileMatrices": tms.tileMatrices,
            "links": [{"rel": "self", "type": JSON, "href": url}]}


def _json(body: Any) -> Response:
    import orjson

    return Response(orjson.dumps(body), mimetype=JSON,
                    headers={"Cache-Control": "public, max-age=86400"})


def tile_matrix_sets_blueprint() -> Blueprint:
    blueprint = Blueprint("gridgeo_tile_matrix_sets", __name__)

    @blueprint.get("/tileMatrixSets")
    def tile_matrix_sets() -> Response:
        url = get_settings().server_url
        href = f"{url}/tileMatrixSets/{TMS_ID}"
        return _json({"tileMatrixSets": [{
            "id": TMS_ID, "title": TileMatrixSetEnum.WEBMERCATORQUAD.value.title, "uri": TMS_URI,
            "links": [{"rel": "self", "type": JSON, "href": href},
                      {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                       "type": JSON, "href": href}]}],
            "links": [{"rel": "self", "type": JSON, "href": f"{url}/tileMatrixSets"}]})

    @blueprint.get("/tileMatrixSets/<tms_id>")
    def one_tile_matrix_set(tms_id: str) -> Response:
        if tms_id != TMS_ID:
            raise NotFound(f"no tile matrix set {tms_id}; the tiles use {TMS_ID}.")
        return _json(tile_matrix_set())

    return blueprint


def openapi_paths() -> dict[str, dict[str, Any]]:
    ok = {"description": "The document.", "content": {JSON: {"schema": {"type": "object"}}}}
    return {
        "/tileMatrixSets": {"get": {
            "summary": "The tile matrix sets the tiles use", "tags": ["tiles"],
            "operationId": "getTileMatrixSetsList", "responses": {"200": ok}}},
        "/tileMatrixSets/{tileMatrixSetId}": {"get": {
            "summary": "A tile matrix set's definition", "tags": ["tiles"],
            "operationId": "getTileMatrixSet",
            "parameters": [{"name": "tileMatrixSetId", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": [TMS_ID]}}],
            "responses": {"200": ok, "404": {"description": "No such tile matrix set."}}}},
    }
