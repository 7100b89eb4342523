"""Checks a GeoJSON feature before anything is written, with a sentence per problem."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import shapely
from shapely.geometry import shape

from gridgeo.errors import RequestError
from gridgeo.provider.columns import TableInfo
from gridgeo.provider.crs import CRS84, output_crs

_GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                   "MultiPolygon"}


@dataclass(frozen=True)
class ValidFeature:
    """What may be written: property values and the geometry as WKB in x/y order."""

    properties: dict[str, Any]
    geometry_wkb: bytes | None
    geometry_srid: int


def parse_json(body: bytes, max_bytes: int) -> Any:
    if len(body) > max_bytes:
        raise RequestError(f"the request body is {len(body):,} bytes; the limit is "
                           f"{max_bytes:,}.", 413, "PayloadTooLarge")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"the body is not valid JSON: {exc}.") from None


# Where each kind of CRS has positions, as (x min, y min, x max, y max) in x/y order.
_LONLAT_BOUNDS = (-180.0, -90.0, 180.0, 90.0)
_WEB_MERCATOR_EDGE = 20037508.34  # EPSG:3857's world ends here on both axes
_WEB_MERCATOR_BOUNDS = (-_WEB_MERCATOR_EDGE, -_WEB_MERCATOR_EDGE,
                        _WEB_MERCATOR_EDGE, _WEB_MERCATOR_EDGE)


def _check_position(position: Any, where: str,
                    bounds: tuple[float, float, float, float] | None) -> None:
    if not isinstance(position, list) or len(position) not in (2, 3) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in position):
        raise RequestError(f"{where}: a position must be an array of 2 or 3 numbers.")
    if not all(math.isfinite(v) for v in position):
        raise RequestError(f"{where}: coordinates must be finite numbers.")
    x, y = position[0], position[1]
    if bounds is None or (bounds[0] <= x <= bounds[2] and bounds[1] <= y <= bounds[3]):
        return
    if bounds == _LONLAT_BOUNDS:
        raise RequestError(f"{where}: ({x}, {y}) is out of range for longitude/latitude; "
                           "send CRS84 (longitude first) or say the CRS in Content-Crs "
                           "(EPSG:4326 and EPSG:4490 are latitude first).")
    raise RequestError(f"{where}: ({x}, {y}) is outside the world of EPSG:3857 (x and y "
                       f"within ±{_WEB_MERCATOR_EDGE:,.2f} m); check the coordinates or "
                       "their CRS.")


def _check_rings(geometry: dict[str, Any]) -> None:
    polygons = ([geometry["coordinates"]] if geometry["type"] == "Polygon"
                else geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [])
    for p, polygon in enumerate(polygons):
        for r, ring in enumerate(polygon):
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise RequestError(f"polygon {p} ring {r} is not closed: a ring needs at least "
                                   "4 positions and must end where it starts.")


def _walk_positions(coords: Any, where: str,
                    bounds: tuple[float, float, float, float] | None, depth: int) -> None:
    if depth == 0:
        _check_position(coords, where, bounds)
        return
    if not isinstance(coords, list) or not coords:
        raise RequestError(f"{where}: coordinates are empty or not nested arrays.")
    for i, item in enumerate(coords):
        _walk_positions(item, f"{where}[{i}]", bounds, depth - 1)


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2,
          "MultiPolygon": 3}


def validate_geometry(geometry: Any, expected: str, content_crs: str | None) -> tuple[bytes, int]:
    """The geometry as WKB (x/y order) and its SRID, or a RequestError saying what is wrong."""
    if not isinstance(geometry, dict) or geometry.get("type") not in _GEOMETRY_TYPES:
        raise RequestError("geometry must be a GeoJSON geometry object with a type such as "
                           f"{expected.title().replace('line', 'Line')}.")
    gtype = geometry["type"]
    allowed = {expected.upper(), expected.upper().removeprefix("MULTI")}
    if gtype.upper() not in allowed:
        raise RequestError(f"this collection holds {expected.title()} geometries; got {gtype}.")
    try:
        crs = output_crs(content_crs or CRS84)
    except ValueError as exc:
        raise RequestError(f"Content-Crs: {exc}.") from None
    depth = _DEPTH[gtype]
    # The shape first, then the ranges in x/y order: latitude-first CRSs are swapped
    # before their longitudes and latitudes are checked.
    _walk_positions(geometry.get("coordinates"), "geometry.coordinates", None, depth)
    if crs.lat_first:
        geometry = {**geometry, "coordinates": _flip(geometry["coordinates"], depth)}
    bounds = _WEB_MERCATOR_BOUNDS if crs.srid == 3857 else _LONLAT_BOUNDS
    _walk_positions(geometry["coordinates"], "geometry.coordinates", bounds, depth)
    _check_rings(geometry)
    geom = shape(geometry)
    if geom.is_empty:
        raise RequestError("the geometry is empty.")
    if not geom.is_valid:
        raise RequestError(f"the geometry is invalid: {shapely.is_valid_reason(geom)}; "
                           "fix the rings so they do not cross themselves or each other.")
    return shapely.to_wkb(geom), (3857 if crs.srid == 3857 else 4490)


def _flip(coords: Any, depth: int) -> Any:
    if depth == 0:
        return [coords[1], coords[0], *coords[2:]]
    return [_flip(c, depth - 1) for c in coords]


def _typed(name: str, value: Any, pg_type: str) -> Any:
    if value is None:
        return None
    kind = pg_type
    ok = True
    if kind in ("integer", "bigint", "smallint"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "a whole number"
    elif kind in ("double precision", "real", "numeric"):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and \
            math.isfinite(value)
        expected = "a number"
    elif kind == "boolean":
        ok = isinstance(value, bool)
        expected = "true or false"
    elif kind in ("timestamp with time zone", "timestamp without time zone"):
        expected = "an RFC 3339 date-time such as 2026-05-01T08:00:00+08:00"
        ok = isinstance(value, str) and _parses(datetime.fromisoformat, value)
    elif kind == "date":
        expected = "a date such as 2026-05-01"
        ok = isinstance(value, str) and _parses(date.fromisoformat, value)
    elif kind == "uuid":
        expected = "a UUID"
        ok = isinstance(value, str) and _parses(uuid.UUID, value)
    elif kind in ("jsonb", "json"):
        return orjson.dumps(value).decode()
    elif kind == "text[]":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        expected = "a list of strings"
    else:
        ok = isinstance(value, str)
        expected = "a string"
    if not ok:
        raise RequestError(f"property {name!r} must be {expected}; got {value!r}.")
    return value


def _parses(parser: Any, text: str) -> bool:
    try:
        parser(text.replace("Z", "+00:00") if parser is datetime.fromisoformat else text)
        return True
    except ValueError:
        return False


def validate_properties(properties: Any, table: TableInfo, writable: set[str],
                        partial: bool) -> dict[str, Any]:
    """Known, writable, typed properties; every required one present unless ``partial``."""
    if not isinstance(properties, dict):
        raise RequestError("properties must be a JSON object.")
    unknown = [k for k in properties if k not in table.columns]
    if unknown:
        raise RequestError(f"unknown property {', '.join(map(repr, unknown))}; writable "
                           f"properties are: {', '.join(sorted(writable))}.")
    readonly = [k for k in properties if k not in writable]
    if readonly:
        raise RequestError(f"property {', '.join(map(repr, readonly))} is set by the server "
                           "and cannot be written; leave it out.")
    values = {k: _typed(k, v, table.columns[k].pg_type) for k, v in properties.items()}
    if not partial:
        missing = sorted(n for n in table.required & writable if values.get(n) is None)
        if missing:
            raise RequestError(f"required property {', '.join(map(repr, missing))} is missing.")
    return values


def validate_feature(doc: Any, table: TableInfo, writable: set[str], geometry_column: str,
                     content_crs: str | None, partial: bool) -> ValidFeature:
    """A Feature to create or replace (or, with ``partial``, a merge-patch of one)."""
    if not isinstance(doc, dict):
        raise RequestError("the body must be a GeoJSON Feature object.")
    if not partial and doc.get("type") != "Feature":
        raise RequestError("the body must be a GeoJSON Feature: {\"type\": \"Feature\", "
                           "\"geometry\": {...}, \"properties\": {...}}.")
    wkb, srid = None, 4490
    if not partial or "geometry" in doc:
        if doc.get("geometry") is None:
            if geometry_column in table.required:
                raise RequestError("geometry is required in this collection.")
        else:
            wkb, srid = validate_geometry(doc["geometry"], table.geometry_type, content_crs)
    properties = validate_properties(doc.get("properties", {}), table, writable, partial)
    return ValidFeature(properties, wkb, srid)
