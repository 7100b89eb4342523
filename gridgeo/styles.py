"""Serves each collection's styles (QGIS QML, SLD, MapLibre) and links them from it."""

from __future__ import annotations

from typing import Any

import pluggy
from flask import Blueprint, Response, send_file

from gridgeo.config import contributed_collections
from gridgeo.errors import NotFound

MEDIA_TYPES = {"qml": "application/vnd.qgis.qml+xml", "sld": "application/vnd.ogc.sld+xml",
               "maplibre": "application/vnd.maplibre.style+json"}
TITLES = {"qml": "QGIS style (QML)", "sld": "OGC SLD 1.0 style",
          "maplibre": "MapLibre GL style"}
STYLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/styles"


def style_links(server_url: str, collection_id: str, kinds: list[str]) -> list[dict[str, Any]]:
    """Links a collection document carries to each of its styles."""
    return [{"rel": STYLES_REL, "type": MEDIA_TYPES[kind], "title": TITLES[kind],
             "href": f"{server_url}/styles/{collection_id}/{kind}"} for kind in sorted(kinds)]


def styles_blueprint(pm: pluggy.PluginManager) -> Blueprint:
    """GET /styles/<collection>/<qml|sld|maplibre>."""
    styles = {c.id: c.styles for c in contributed_collections(pm)}
    blueprint = Blueprint("gridgeo_styles", __name__)

    @blueprint.get("/styles/<collection_id>/<kind>")
    def style(collection_id: str, kind: str) -> Response:
        path = styles.get(collection_id, {}).get(kind)
        if path is None:
            raise NotFound(f"collection {collection_id} has no {kind} style; styles are "
                           f"qml, sld and maplibre where a plugin provides them.")
        return send_file(path, mimetype=MEDIA_TYPES[kind], max_age=300)

    return blueprint
