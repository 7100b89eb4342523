"""The tile routes in the OpenAPI document: tilesets, tileset metadata and tiles of
every tiled collection, so clients and generated tests find them."""

from __future__ import annotations

from typing import Any

from gridgeo_plugins.maps.routes import MVT
from gridgeo_plugins.maps.tiles import MAX_ZOOM, TMS_ID, tile_layers

_JSON = {"application/json": {"schema": {"type": "object"}}}
_PROBLEM = {"application/json": {"schema": {
    "type": "object", "properties": {"code": {"type": "string"},
                                     "description": {"type": "string"}}}}}


def _index(name: str, minimum: int = 0, maximum: int | None = None, what: str = "") -> dict:
    schema: dict[str, Any] = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return {"name": name, "in": "path", "required": True, "description": what,
            "schema": schema}


def tile_paths() -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for cid in sorted(tile_layers()):
        base = f"/collections/{cid}/tiles"
        paths[base] = {"get": {
            "summary": f"The vector tilesets of {cid}", "tags": [cid],
            "operationId": f"get{cid.title().replace('_', '')}Tilesets",
            "responses": {"200": {"description": "The tilesets (one: WebMercatorQuad).",
                                  "content": _JSON}}}}
        paths[f"{base}/{TMS_ID}"] = {"get": {
            "summary": f"Tileset metadata of {cid} (TileJSON fields included)", "tags": [cid],
            "operationId": f"get{cid.title().replace('_', '')}TilesetMetadata",
            "responses": {"200": {"description": "The tileset.", "content": _JSON}}}}
        paths[f"{base}/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"] = {"get": {
            "summary": f"A Mapbox vector tile of {cid}", "tags": [cid],
            "operationId": f"get{cid.title().replace('_', '')}Tile",
            "parameters": [
                _index("tileMatrix", 0, MAX_ZOOM, "zoom level"),
                _index("tileRow", what="row, 0 to 2^tileMatrix - 1, from the north"),
                _index("tileCol", what="column, 0 to 2^tileMatrix - 1, from the west"),
                {"name": "f", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["mvt"]}}],
            "responses": {
                "200": {"description": "The tile.",
                        "content": {MVT: {"schema": {"type": "string", "format": "binary"}}}},
                "204": {"description": "No feature in this tile."},
                "304": {"description": "The tile has not changed (If-None-Match)."},
                "400": {"description": "A format other than mvt.", "content": _PROBLEM},
                "404": {"description": "No such tile in WebMercatorQuad.",
                        "content": _PROBLEM}}}}
    return paths


def overview_paths() -> dict[str, dict[str, Any]]:
    """The town overview page and the data it draws."""
    def get(summary: str, op: str, media: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"get": {"summary": summary, "tags": ["overview"], "operationId": op,
                        "responses": {"200": {"description": summary,
                                              "content": {media: {"schema": schema}}}}}}

    hillshade = get("The DEM hillshade image", "getOverviewHillshade", "image/png",
                    {"type": "string", "format": "binary"})
    hillshade["get"]["responses"]["404"] = {"description": "No DEM is configured.",
                                           "content": _PROBLEM}
    bounds = get("Where the hillshade image lies", "getOverviewHillshadeBounds",
                 "application/json", {"type": "object"})
    bounds["get"]["responses"]["404"] = hillshade["get"]["responses"]["404"]
    return {
        "/overview": get("The town overview page (a wall screen's map)", "getOverview",
                         "text/html", {"type": "string"}),
        "/overview/summary.json": get("The figures the overview page shows",
                                      "getOverviewSummary", "application/json",
                                      {"type": "object"}),
        "/overview/hillshade.json": bounds,
        "/overview/hillshade.png": hillshade,
    }
