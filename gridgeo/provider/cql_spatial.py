"""Geometry literals and spatial predicates.

Literals are written in the filter CRS and moved to the storage CRS in the database
(``ST_Transform`` with integer SRIDs), so the stored geometry column keeps its index and
results do not depend on which CRS the data is stored in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import shapely
import shapely.geometry
from psycopg import sql
from pyproj import CRS

from gridgeo.provider.cql_terms import CqlError, Term, compose, derived, kind_word

PREDICATES = {
    "s_intersects": "ST_Intersects", "s_disjoint": "ST_Disjoint", "s_equals": "ST_Equals",
    "s_touches": "ST_Touches", "s_within": "ST_Within", "s_contains": "ST_Contains",
    "s_crosses": "ST_Crosses", "s_overlaps": "ST_Overlaps",
}
_METRES_PER_UNIT = {"m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
                    "km": 1000.0, "kilometer": 1000.0, "kilometers": 1000.0,
                    "kilometre": 1000.0, "kilometres": 1000.0}
# One degree of latitude is at least 110,574 m and one of longitude at least
# 111,319 m * cos(latitude) on GRS80/WGS84: dividing by less over-covers, never misses.
_METRES_PER_DEGREE_LAT = 110_000.0
_METRES_PER_DEGREE_LON = 111_000.0


@dataclass(frozen=True)
class SpatialContext:
    """The CRSs in play: literals arrive in the filter CRS, rows are stored in another."""

    filter_srid: int
    storage_srid: int
    lat_first: bool


@dataclass(frozen=True)
class GeometryLiteral:
    """A literal geometry in x/y (lon/lat) order of the filter CRS, and its SQL term."""

    shape: Any
    term: Term


def is_geometry_literal(node: Any) -> bool:
    return isinstance(node, dict) and ("coordinates" in node or "geometries" in node
                                       or (_is_bbox(node) and _bbox_numbers(node)))


def _is_bbox(node: Any) -> bool:
    return isinstance(node, dict) and "bbox" in node and "type" not in node


def _bbox_numbers(node: dict[str, Any]) -> bool:
    values = node["bbox"]
    return isinstance(values, list) and all(_is_number(v) for v in values)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def geometry_literal(node: dict[str, Any], ctx: SpatialContext) -> GeometryLiteral:
    """A GeoJSON geometry or a ``{"bbox": [...]}`` envelope, in the storage CRS."""
    shape = _bbox_shape(node["bbox"], ctx) if _is_bbox(node) else _geojson_shape(node, ctx)
    geojson = json.dumps(shapely.geometry.mapping(shape))
    term = Term(sql.SQL("ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(%s), %s), %s)"),
                (geojson, ctx.filter_srid, ctx.storage_srid), "geometry",
                f"the {shape.geom_type} literal", shape, True)
    return GeometryLiteral(shape, term)


def _geojson_shape(node: dict[str, Any], ctx: SpatialContext) -> Any:
    kind = node.get("type", "geometry")
    try:
        shape = shapely.geometry.shape(node)
        coordinates = shapely.get_coordinates(shape, include_z=False)
    except Exception as exc:  # shapely raises many types for bad GeoJSON
        raise CqlError(f"the {kind} literal in the filter is not a valid geometry ({exc}); "
                       "check its coordinates") from None
    if not all(math.isfinite(v) for v in coordinates.flat):
        raise CqlError(f"the {kind} literal in the filter has a coordinate that is not a "
                       "finite number; check its coordinates")
    return _swap_axes(shape) if ctx.lat_first else shape


def _swap_axes(shape: Any) -> Any:
    """Latitude-first coordinates to x/y order; heights stay where they are."""
    return shapely.transform(shape, lambda xy: xy[:, [1, 0, *range(2, xy.shape[1])]],
                             include_z=None)


def _bbox_shape(values: list[Any], ctx: SpatialContext) -> Any:
    if len(values) not in (4, 6) or not all(_is_number(v) for v in values):
        raise CqlError("a BBOX needs 4 numbers (or 6 with heights): "
                       "BBOX(min x, min y, max x, max y)")
    half = len(values) // 2
    x1, y1, x2, y2 = values[0], values[1], values[half], values[half + 1]
    if ctx.lat_first:
        x1, y1, x2, y2 = y1, x1, y2, x2
    if x1 > x2 or y1 > y2:
        raise CqlError(f"the BBOX ({', '.join(str(v) for v in values)}) has a minimum above "
                       "its maximum; give the lower corner first (a box across the "
                       "antimeridian must be split into two)")
    return shapely.geometry.box(x1, y1, x2, y2)


def spatial_predicate(op: str, left: Term, right: Term) -> Term:
    """``S_INTERSECTS`` and its kin between two geometry terms."""
    for side in (left, right):
        require_geometry(op, side)
    function = PREDICATES[op]
    return derived(function + "({}, {})", "boolean", op.upper(), left, right)


def require_geometry(op: str, term: Term) -> None:
    if term.kind != "geometry":
        raise CqlError(f"{op.upper()} compares geometries, but {term.label} is "
                       f"{kind_word(term.kind)}; use the geometry property or a "
                       "geometry literal such as POINT(116.4 39.9)")


def within_distance(left: Term, right: Term, metres: float, ctx: SpatialContext) -> Term:
    """``S_DWITHIN`` in metres, measured on the ellipsoid (geography)."""
    for side in (left, right):
        require_geometry("s_dwithin", side)
    distance = Term(sql.SQL("%s"), (metres,), "number", "the distance")
    text, params = compose("ST_DWithin({}, {}, {})", _geography(left, ctx),
                           _geography(right, ctx), distance)
    prefilter = _index_prefilter(left, right, metres, ctx)
    if prefilter is not None:
        text, params = compose("({} AND {})", prefilter, Term(text, params, "boolean", ""))
    return Term(text, params, "boolean", "S_DWITHIN")


def _geography(term: Term, ctx: SpatialContext) -> Term:
    template = "CAST({} AS geography)" if _is_geographic(ctx.storage_srid) \
        else "CAST(ST_Transform({}, 4326) AS geography)"
    return derived(template, "geometry", term.label, term)


def _index_prefilter(left: Term, right: Term, metres: float,
                     ctx: SpatialContext) -> Term | None:
    """A box test the geometry index can answer, wide enough never to drop a match."""
    column, literal = (left, right) if right.is_literal else (right, left)
    if column.is_literal or not literal.is_literal:
        return None
    if not (_is_geographic(ctx.storage_srid) and _is_geographic(ctx.filter_srid)):
        return None
    pads = _degree_pads(literal.value.bounds, metres)
    if pads is None:
        return None
    padding = Term(sql.SQL("%s, %s"), pads, "number", "the padding")
    return derived("{} && ST_Expand({}, {})", "boolean", "S_DWITHIN", column, literal, padding)


def _degree_pads(bounds: tuple[float, ...], metres: float) -> tuple[float, float] | None:
    min_x, min_y, max_x, max_y = bounds
    pad_y = metres / _METRES_PER_DEGREE_LAT + 1e-6
    latitude = max(abs(min_y), abs(max_y)) + pad_y
    if latitude >= 89.0:
        return None
    pad_x = metres / (_METRES_PER_DEGREE_LON * math.cos(math.radians(latitude))) + 1e-6
    if min_x - pad_x < -180.0 or max_x + pad_x > 180.0:
        return None
    return pad_x, pad_y


@lru_cache(maxsize=32)
def _is_geographic(srid: int) -> bool:
    try:
        return bool(CRS.from_epsg(srid).is_geographic)
    except Exception:  # an SRID pyproj does not know: take the safe, slower path
        return False


def distance_metres(distance: Any, units: Any) -> float:
    """The S_DWITHIN distance in metres from its number and optional unit word."""
    if not _is_number(distance) or distance < 0 or not math.isfinite(distance):
        raise CqlError("S_DWITHIN needs a distance that is a non-negative number of metres, "
                       "e.g. S_DWITHIN(geometry, POINT(116.4 39.9), 500, meters)")
    word = units.get("property") if isinstance(units, dict) else units
    if word is None:
        return float(distance)
    if not isinstance(word, str) or word.lower() not in _METRES_PER_UNIT:
        raise CqlError(f"S_DWITHIN does not know the unit {word!r}; use meters or kilometers")
    return float(distance) * _METRES_PER_UNIT[word.lower()]
