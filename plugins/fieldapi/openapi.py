"""The field app's routes in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from gridgeo.openapi_ops import answer, operation, refusal

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


def field_paths() -> dict[str, dict[str, Any]]:
    return {
        "/me/today": {"get": operation(
            "My day: my grids, what is due in them, my open cases, today's routes",
            "getMyToday", "me", {"200": answer("The worker's day, one snapshot.",
                                               schema=_TODAY), **_WHO})},
    }
