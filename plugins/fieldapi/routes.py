"""The field app's map routes: its style, its glyphs and the tiles to cache offline."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, request
from gridgeo_plugins.fieldapi.glyphs import glyph_range
from gridgeo_plugins.fieldapi.style import field_style, local_day
from gridgeo_plugins.fieldapi.tilepack import DEFAULT_ZOOMS, parse_zooms, tile_pack
from gridgeo_plugins.fieldapi.today import require_staff

from gridgeo.db.pool import connection
from gridgeo.errors import NotFound
from gridgeo.identity import current_identity
from gridgeo.settings import get_settings

PBF = "application/x-protobuf"
# As /me/today gives it (7 decimals: about a centimetre).
_MY_BBOX = """
SELECT round(ST_XMin(b)::numeric, 7)::float8, round(ST_YMin(b)::numeric, 7)::float8,
       round(ST_XMax(b)::numeric, 7)::float8, round(ST_YMax(b)::numeric, 7)::float8 FROM (
    SELECT ST_Extent(g.geom) AS b FROM gridgeo.grid_assignments a
      JOIN gridgeo.staff s ON s.id = a.staff_id AND s.staff_no = %s AND s.active
      JOIN gridgeo.grids g ON g.code = a.grid_code) e"""


def hillshade_bounds() -> tuple[float, float, float, float] | None:
    """The DEM hillshade's bounds, or None where no DEM is configured."""
    from gridgeo_plugins.maps.overview import dem_hillshade

    try:
        return dem_hillshade().bounds
    except NotFound:
        return None


def _json(body: Any, cache: str) -> Response:
    return Response(orjson.dumps(body), mimetype="application/json",
                    headers={"Cache-Control": cache})


def field_map_blueprint() -> Blueprint:
    blueprint = Blueprint("gridgeo_fieldapi_map", __name__)

    @blueprint.get("/field/style.json")
    def style() -> Response:
        with connection(read=True) as conn:
            day = local_day(conn)
        # The due filters name today: a cached copy is refreshed when online.
        return _json(field_style(get_settings().server_url, day, hillshade_bounds()),
                     "no-cache")

    @blueprint.get("/field/glyphs/<fontstack>/<glyph_range_name>.pbf")
    def glyphs(fontstack: str, glyph_range_name: str) -> Response:
        return Response(glyph_range(fontstack, glyph_range_name), mimetype=PBF,
                        headers={"Cache-Control": "public, max-age=86400"})

    @blueprint.get("/me/tiles")
    def my_tiles() -> Response:
        staff_no = require_staff(current_identity(), "/me/tiles")
        zooms = parse_zooms(request.args.get("zooms", DEFAULT_ZOOMS))
        with connection(read=True) as conn:
            row = conn.execute(_MY_BBOX, (staff_no,)).fetchone()
        bbox = list(row) if row and row[0] is not None else None
        body = tile_pack(get_settings().server_url, bbox, zooms,
                         hillshade_bounds() is not None)
        return _json(body, "private, no-store")

    return blueprint
