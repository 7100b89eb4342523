"""The field app's routes in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from gridgeo.openapi_ops import answer, in_path, operation, refusal

_WHO = {"401": refusal("No credentials."),
        "403": refusal("The key names a role, not a person: a personal API key (with a "
                       "staff_no) or the staff member's own token is needed.")}
_TODAY = {"type": "object", "required": ["worker", "grids", "due", "cases", "routes", "bbox"],
          "properties": {
              "worker": {"type": "object"},
              "grids": {"type": "object", "description": "GeoJSON FeatureCollection"},
              "due": {"type": "object", "properties": {
                  "greenhouses": {"type": "array", "items": {"type": "object"}},
                  "adits": {"type": "array", "items": {"type": "object"}}}},
              "cases": {"type": "array", "items": {"type": "object"}},
              "routes": {"type": "array", "items": {"type": "object"}},
              "bbox": {"type": "array", "nullable": True, "items": {"type": "number"},
                       "minItems": 4, "maxItems": 4}}}


_TILES = {"type": "object", "required": ["bbox", "zooms", "count", "tiles", "assets"],
          "properties": {
              "bbox": {"type": "array", "nullable": True, "items": {"type": "number"}},
              "zooms": {"type": "array", "items": {"type": "integer"}},
              "count": {"type": "integer"},
              "tiles": {"type": "array", "items": {"type": "string"}},
              "assets": {"type": "array", "items": {"type": "string"}}}}
_ZOOMS = {"name": "zooms", "in": "query", "required": False,
          "description": "one zoom or a range, e.g. 14-16 (the default)",
          "schema": {"type": "string", "pattern": "^[0-9]{1,2}(-[0-9]{1,2})?$"}}


def field_paths() -> dict[str, dict[str, Any]]:
    return {
        "/me/today": {"get": operation(
            "My day: my grids, what is due in them, my open cases, today's routes",
            "getMyToday", "me", {"200": answer("The worker's day, one snapshot.",
                                               schema=_TODAY), **_WHO})},
        "/me/tiles": {"get": operation(
            "The vector tile URLs over my grids to cache for working offline", "getMyTiles",
            "me", {"200": answer("Tile URLs (as the field style requests them) and the "
                                 "map's other pieces.", schema=_TILES),
                   "400": refusal("zooms is not a zoom or a range of zooms."),
                   "413": refusal("Too many tiles: ask for fewer zooms."), **_WHO},
            parameters=[_ZOOMS])},
        "/field/style.json": {"get": operation(
            "The field app's MapLibre style: served vector tiles, hillshade, offline glyphs",
            "getFieldStyle", "field", {"200": answer("A MapLibre style (version 8).")})},
        "/field/glyphs/{fontstack}/{range}.pbf": {"get": operation(
            "A MapLibre glyph range (SDF, protocol buffers) of a served font",
            "getFieldGlyphs", "field", {
                "200": answer("The glyph range (empty where the font has none).",
                              "application/x-protobuf"),
                "400": refusal("Not a glyph range (0-255, 256-511, ...)."),
                "404": refusal("No font of the stack is served.")},
            parameters=[in_path("fontstack", "comma-separated font names, e.g. Open Sans "
                                             "Regular"),
                        in_path("range", "256 code points, e.g. 0-255")])},
    }
