"""OGC API - Tiles routes for the tiled collections: tilesets, tileset metadata, tiles.

These are routes contributed through ``gridgeo_blueprints`` rather than a
pygeoapi tile provider: a provider would need a second provider entry in every
collection's resource (a core change), pygeoapi rebuilds it on every request and
sets no validators or cache headers on tiles. pygeoapi's ``<path:collection_id>``
tiles rules would win Flask's matching, so the blueprint answers matching paths of
the tiled collections (those whose collection.yml declares ``tiles``) before routing
(``before_app_request``); other collections keep pygeoapi's answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request
from gridgeo_plugins.maps.tiles import (
    MAX_ZOOM,
    TMS_ID,
    TMS_URI,
    TileLayer,
    etag,
    render_tile,
    tile_in_range,
    tile_layers,
)
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from gridgeo.db.pool import connection
from gridgeo.errors import NotFound, RequestError
from gridgeo.settings import get_settings

MVT = "application/vnd.mapbox-vector-tile"


def tile_template(server_url: str, collection_id: str) -> str:
    return (f"{server_url}/collections/{collection_id}/tiles/{TMS_ID}"
            "/{tileMatrix}/{tileRow}/{tileCol}?f=mvt")


def tileset(server_url: str, layer: TileLayer) -> dict[str, Any]:
    """The OGC tileset metadata of one collection (with TileJSON-style fields)."""
    href = tile_template(server_url, layer.collection)
    return {
        "title": layer.collection,
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": TMS_URI,
        "minzoom": layer.min_zoom, "maxzoom": MAX_ZOOM,
        "tiles": [href.replace("{tileMatrix}", "{z}").replace("{tileRow}", "{y}")
                  .replace("{tileCol}", "{x}")],
        "layers": [{"id": layer.collection, "dataType": "vector",
                    "fields": {c: "" for c in layer.columns}}],
        "links": [
            {"rel": "item", "type": MVT, "title": "Mapbox vector tiles", "href": href,
             "templated": True},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
             "type": "application/json", "title": TMS_ID,
             "href": f"{server_url}/tileMatrixSets/{TMS_ID}"},
            {"rel": "collection", "type": "application/json", "title": layer.collection,
             "href": f"{server_url}/collections/{layer.collection}"},
        ],
    }


def json_response(body: Any) -> Response:
    import orjson

    return Response(orjson.dumps(body), mimetype="application/json")


def tile_response(layer: TileLayer, z: int, y: int, x: int) -> Response:
    if request.args.get("f", "mvt") != "mvt":
        raise RequestError("tiles are served as Mapbox vector tiles only: use f=mvt.")
    if not tile_in_range(z, x, y):
        raise NotFound(f"no tile {z}/{y}/{x} in {TMS_ID}: zoom 0-{MAX_ZOOM}, row and column "
                       f"0 to 2^zoom - 1.")
    with connection(read=True) as conn:
        body = render_tile(conn, layer, z, x, y)
    tag = etag(body)
    headers = {"ETag": f'"{tag}"', "Cache-Control": f"public, max-age={layer.max_age}"}
    if request.if_none_match.contains(tag):
        return Response(status=304, headers=headers)
    return Response(body, status=200 if body else 204, mimetype=MVT, headers=headers)


def tilesets(collection_id: str) -> Response:
    server_url = get_settings().server_url
    entry = tileset(server_url, tile_layers()[collection_id])
    entry["links"].insert(0, {"rel": "self", "type": "application/json",
                              "href": f"{server_url}/collections/{collection_id}/tiles/{TMS_ID}"})
    return json_response({"tilesets": [entry], "links": [
        {"rel": "self", "type": "application/json",
         "href": f"{server_url}/collections/{collection_id}/tiles"}]})


def metadata(collection_id: str) -> Response:
    return json_response(tileset(get_settings().server_url, tile_layers()[collection_id]))


def tile(collection_id: str, z: int, y: int, x: int) -> Response:
    return tile_response(tile_layers()[collection_id], z, y, x)


VIEWS: dict[str, Callable[..., Response]] = {
    "tilesets": tilesets, "metadata": metadata, "tile": tile}
ROUTES = Map([
    Rule("/collections/<collection_id>/tiles", endpoint="tilesets"),
    Rule(f"/collections/<collection_id>/tiles/{TMS_ID}", endpoint="metadata"),
    Rule(f"/collections/<collection_id>/tiles/{TMS_ID}/metadata", endpoint="metadata"),
    Rule(f"/collections/<collection_id>/tiles/{TMS_ID}/<int:z>/<int:y>/<int:x>", endpoint="tile"),
], strict_slashes=False)


def tiles_blueprint() -> Blueprint:
    """Answers the tiled collections' tile requests before pygeoapi's own tiles rules
    (``<path:collection_id>``, which Flask would otherwise match first)."""
    blueprint = Blueprint("gridgeo_tiles", __name__)

    @blueprint.before_app_request
    def dispatch() -> Response | None:
        if "/tiles" not in request.path or request.method not in ("GET", "HEAD"):
            return None
        try:
            endpoint, args = ROUTES.bind("").match(request.path, method="GET")
        except HTTPException:
            return None
        if args["collection_id"] not in tile_layers():
            return None  # an untiled collection: pygeoapi answers
        return VIEWS[str(endpoint)](**args)

    return blueprint
