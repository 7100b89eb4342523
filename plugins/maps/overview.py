"""The town's overview page (一屏观全域) at /overview, its summary and its hillshade.

The page is a static file (gridgeo/static/overview/) that loads the bundled Leaflet
and reads the same OGC API items any client reads, plus two small documents served
here: the summary figures and the DEM hillshade image with its bounds.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from flask import Blueprint, Response, request
from gridgeo_plugins.maps.hillshade import Hillshade, hillshade
from gridgeo_plugins.maps.summary import overview_summary

import gridgeo
from gridgeo.db.pool import connection
from gridgeo.errors import NotFound
from gridgeo.settings import get_settings

PAGE = Path(gridgeo.__file__).resolve().parent / "static" / "overview" / "index.html"


def page_language() -> str:
    """Chinese, the command centre's language, unless ``?lang=en`` asks for English
    (a wall screen's browser often sends an English Accept-Language)."""
    return "en" if request.args.get("lang", "").lower().startswith("en") else "zh"


def overview_blueprint() -> Blueprint:
    blueprint = Blueprint("gridgeo_overview", __name__)

    @blueprint.get("/overview")
    def page() -> Response:
        html = PAGE.read_text(encoding="utf-8")
        html = (html.replace("__SERVER_URL__", get_settings().server_url)
                .replace("__LANG__", page_language()))
        return Response(html, mimetype="text/html", headers={"Cache-Control": "no-cache"})

    @blueprint.get("/overview/summary.json")
    def summary() -> Response:
        with connection() as conn:
            body = overview_summary(conn)
        return Response(orjson.dumps(body), mimetype="application/json",
                        headers={"Cache-Control": "no-cache"})

    @blueprint.get("/overview/hillshade.json")
    def hillshade_bounds() -> Response:
        west, south, east, north = dem_hillshade().bounds
        href = f"{get_settings().server_url}/overview/hillshade.png"
        return Response(orjson.dumps({"bounds": [[south, west], [north, east]], "href": href}),
                        mimetype="application/json")

    @blueprint.get("/overview/hillshade.png")
    def hillshade_png() -> Response:
        return Response(dem_hillshade().png, mimetype="image/png",
                        headers={"Cache-Control": "public, max-age=3600"})

    return blueprint


def dem_hillshade() -> Hillshade:
    dem = get_settings().dem
    if not dem.is_file():
        raise NotFound("no DEM is configured (GRIDGEO_DEM_PATH), so there is no hillshade.")
    return hillshade(dem)
