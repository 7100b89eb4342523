"""The field app's map: one MapLibre style of the server's own pieces, usable offline.

The collections' own MapLibre styles (styles/*.maplibre.json: grids, roads, greenhouses,
mine adits, addresses) are stacked over the DEM hillshade (the overview's image), with
label layers whose Latin glyphs gridgeo serves itself (/field/glyphs); Chinese labels
are drawn by the browser (the app sets MapLibre's ``localIdeographFontFamily``). Every
URL is absolute (GRIDGEO_PUBLIC_URL), so a copy the app cached works as it is.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import psycopg

from gridgeo.config import contributed_collections

# Bottom to top: what is drawn first lies underneath.
COLLECTIONS = ("grids", "roads", "greenhouses", "mine_tunnels", "addresses")
FONT = "Open Sans Regular"
GLYPHS_PATH = "/field/glyphs/{fontstack}/{range}.pbf"
HILLSHADE_PATH = "/overview/hillshade.png"
LABELS: tuple[dict[str, Any], ...] = (
    {"id": "field-grid-names", "type": "symbol", "source": "grids", "source-layer": "grids",
     "minzoom": 13, "filter": ["==", ["get", "level"], "unit"],
     "layout": {"text-field": ["get", "name"], "text-font": [FONT], "text-size": 13},
     "paint": {"text-color": "#333333", "text-halo-color": "#ffffff", "text-halo-width": 1.5}},
    {"id": "field-house-numbers", "type": "symbol", "source": "addresses",
     "source-layer": "addresses", "minzoom": 17,
     "layout": {"text-field": ["get", "house_number"], "text-font": [FONT],
                "text-size": 11, "text-offset": [0, 1]},
     "paint": {"text-color": "#444444", "text-halo-color": "#ffffff", "text-halo-width": 1}},
)


@lru_cache(maxsize=1)
def collection_styles() -> dict[str, dict[str, Any]]:
    """The MapLibre style of each collection the field map shows (read once)."""
    from gridgeo.plugins import get_plugin_manager

    paths: dict[str, Path] = {c.id: c.styles["maplibre"]
                              for c in contributed_collections(get_plugin_manager())
                              if c.id in COLLECTIONS and "maplibre" in c.styles}
    return {cid: json.loads(paths[cid].read_text(encoding="utf-8"))
            for cid in COLLECTIONS if cid in paths}


def absolute(source: dict[str, Any], server_url: str) -> dict[str, Any]:
    """A source with its server-relative tile or data URLs made absolute."""
    source = dict(source)
    if "tiles" in source:
        source["tiles"] = [server_url + t if t.startswith("/") else t for t in source["tiles"]]
    if isinstance(source.get("data"), str) and source["data"].startswith("/"):
        source["data"] = server_url + source["data"]
    return source


def hillshade_layer(bounds: tuple[float, float, float, float] | None,
                    server_url: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The hillshade image source and layer (none without a DEM)."""
    if bounds is None:
        return {}, []
    west, south, east, north = bounds
    source = {"hillshade": {"type": "image", "url": server_url + HILLSHADE_PATH,
                            "coordinates": [[west, north], [east, north], [east, south],
                                            [west, south]]}}
    layer = {"id": "field-hillshade", "type": "raster", "source": "hillshade",
             "paint": {"raster-opacity": 0.35}}
    return source, [layer]


def local_day(conn: psycopg.Connection) -> str:
    row = conn.execute("SELECT to_char(now() AT TIME ZONE gridgeo.local_tz(), 'YYYY-MM-DD')"
                       ).fetchone()
    assert row is not None
    return str(row[0])


def field_style(server_url: str, day: str,
                hillshade_bounds: tuple[float, float, float, float] | None) -> dict[str, Any]:
    """The field app's style; ``day`` (YYYY-MM-DD, the deployment's) sets the due filters."""
    sources, layers = hillshade_layer(hillshade_bounds, server_url)
    layers = [{"id": "field-background", "type": "background",
               "paint": {"background-color": "#f4f1ea"}}, *layers]
    for style in collection_styles().values():
        sources |= {name: absolute(source, server_url)
                    for name, source in style["sources"].items()}
        layers += style["layers"]
    layers += [dict(label) for label in LABELS if label["source"] in sources]
    return {"version": 8, "name": "gridgeo field", "metadata": {
                "gridgeo:note": "The field app's map: served tiles, hillshade and glyphs only; "
                                "CJK labels are drawn by the browser "
                                "(localIdeographFontFamily)."},
            "state": {"today": {"default": day}, "month": {"default": day[:7]}},
            "glyphs": server_url + GLYPHS_PATH, "sources": sources, "layers": layers}
