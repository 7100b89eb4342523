"""``GET /me/tiles?zooms=14-16``: the tile URLs to cache for working offline in my grids.

Every vector tile of the field style's tiled sources that covers the bounding box of my
grids at the zooms asked for, as the exact URLs MapLibre will request (so a service
worker's cache answers them), plus the other pieces of the map (style, glyph ranges,
hillshade). Zooms beyond a source's maxzoom are left out: MapLibre draws them from the
source's last zoom. The list is bounded; a larger one is a 413 asking for fewer zooms.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import quote

from gridgeo_plugins.fieldapi.glyphs import fonts
from gridgeo_plugins.fieldapi.style import FONT, HILLSHADE_PATH, collection_styles
from gridgeo_plugins.maps.tiles import MAX_ZOOM, tile_layers

from gridgeo.errors import RequestError

MAX_TILES = 3000
DEFAULT_ZOOMS = "14-16"
_ZOOMS = re.compile(r"^(\d{1,2})(?:-(\d{1,2}))?$")
LATIN_RANGES = ("0-255", "256-511", "8192-8447")


def parse_zooms(text: str) -> range:
    """``14-16`` or ``15``: the zooms asked for, or a 400 saying how to write them."""
    match = _ZOOMS.match(text.strip())
    low = int(match[1]) if match else -1
    high = int(match[2] or match[1]) if match else -1
    if not match or not 0 <= low <= high <= MAX_ZOOM:
        raise RequestError(f"zooms must be one zoom or a range such as 14-16, from 0 to "
                           f"{MAX_ZOOM}, the lower first; got {text!r}.")
    return range(low, high + 1)


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The WebMercatorQuad column and row holding a point at zoom z."""
    lat = max(min(lat, 85.0511), -85.0511)
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiled_sources() -> dict[str, tuple[str, int, int]]:
    """Source name -> (tile URL template, first zoom with features, source maxzoom)."""
    layers = tile_layers()
    found = {}
    for style in collection_styles().values():
        for name, source in style["sources"].items():
            if source.get("type") == "vector" and name in layers:
                low = max(int(source.get("minzoom", 0)), layers[name].min_zoom)
                found[name] = (source["tiles"][0], low, int(source.get("maxzoom", MAX_ZOOM)))
    return found


def tile_urls(server_url: str, bbox: list[float], zooms: range) -> list[str]:
    """Every tile URL of the tiled sources over ``bbox``, bounded by MAX_TILES."""
    west, south, east, north = bbox
    urls: list[str] = []
    for template, low, high in tiled_sources().values():
        for z in (z for z in zooms if low <= z <= high):
            x0, y0 = tile_xy(west, north, z)
            x1, y1 = tile_xy(east, south, z)
            count = (x1 - x0 + 1) * (y1 - y0 + 1)
            if len(urls) + count > MAX_TILES:
                raise RequestError(
                    f"zooms {zooms.start}-{zooms.stop - 1} over your grids make more than "
                    f"{MAX_TILES:,} tiles; ask for fewer zooms (e.g. zooms={zooms.start}-"
                    f"{max(zooms.start, zooms.stop - 2)}).", 413, "PayloadTooLarge")
            urls += [server_url + template.replace("{z}", str(z)).replace("{x}", str(x))
                     .replace("{y}", str(y))
                     for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
    return urls


def map_assets(server_url: str, has_hillshade: bool) -> list[str]:
    """The other URLs the map needs offline: style, glyph ranges, hillshade image."""
    assets = [f"{server_url}/field/style.json"]
    if FONT in fonts():
        assets += [f"{server_url}/field/glyphs/{quote(FONT)}/{r}.pbf" for r in LATIN_RANGES]
    if has_hillshade:
        assets.append(server_url + HILLSHADE_PATH)
    return assets


def tile_pack(server_url: str, bbox: list[float] | None, zooms: range,
              has_hillshade: bool) -> dict[str, Any]:
    urls = tile_urls(server_url, bbox, zooms) if bbox else []
    return {"bbox": bbox, "zooms": [zooms.start, zooms.stop - 1], "count": len(urls),
            "tiles": urls, "assets": map_assets(server_url, has_hillshade)}
