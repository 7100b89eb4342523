"""Geometries to CGCS2000 and the table's type, with a reason for each one that cannot be.

Validity is judged after the transformation, in EPSG:4490, as the tables' CHECK
constraints judge it. ``repair`` mends invalid polygons with GEOS's make_valid and keeps
their areal part; the report counts what was mended.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from gridgeo.geometry.polygonal import as_multipolygons, polygonal

from .offsets import undo_offset

_KIND = {"Point": (shapely.GeometryType.POINT, shapely.GeometryType.MULTIPOINT),
         "Polygon": (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON),
         "MultiPolygon": (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON),
         "LineString": (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING)}
_WORD = {"Point": "a point", "Polygon": "a polygon", "MultiPolygon": "a polygon",
         "LineString": "a line"}


def to_cgcs2000(geoms: NDArray[np.object_], transformer: Transformer | None,
                offset: str) -> NDArray[np.object_]:
    """Every vertex into EPSG:4490 (lon/lat), then a web map's offset undone if told."""
    out = np.asarray(geoms, dtype=object)
    present = np.flatnonzero(~shapely.is_missing(out))
    if transformer is not None and len(present):
        def move(xy: NDArray[np.float64]) -> NDArray[np.float64]:
            x, y = transformer.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])
        out = out.copy()
        out[present] = shapely.transform(out[present], move)
    if offset != "none" and len(present):
        out = out.copy()
        out[present] = undo_offset(out[present], offset)
    return out


def fit_geometries(geoms: NDArray[np.object_], kind: str, repair: bool
                   ) -> tuple[NDArray[np.object_], list[str | None], int]:
    """Geometries of the table's ``kind``, the reason each unusable one fails, and how
    many were repaired."""
    out = np.array(geoms, dtype=object)
    reasons: list[str | None] = [None] * len(out)
    missing = shapely.is_missing(out) | shapely.is_empty(out)
    for i in np.flatnonzero(missing):
        reasons[i] = "has no geometry (empty or missing coordinates)"
    present = np.flatnonzero(~missing)
    types = shapely.get_type_id(out[present])
    single, multi = _KIND[kind]
    wrong = present[(types != single) & (types != multi)]
    for i in wrong:
        reasons[i] = f"is a {out[i].geom_type}; {kind.lower()} rows need {_WORD[kind]}"
    repaired = 0
    if kind in ("Polygon", "MultiPolygon"):
        areal = np.setdiff1d(present, wrong)
        invalid = areal[~shapely.is_valid(out[areal])]
        if repair and len(invalid):
            mended = polygonal(shapely.make_valid(out[invalid]))
            ok = ~shapely.is_empty(mended)
            out[invalid[ok]] = mended[ok]
            repaired = int(ok.sum())
            invalid = invalid[~ok]
        for i in invalid:
            reasons[i] = (f"geometry is invalid: {shapely.is_valid_reason(out[i])}; "
                          "fix it or import with repair: true")
        good = np.setdiff1d(areal, invalid)
        if kind == "MultiPolygon":
            out[good] = as_multipolygons(out[good])
        else:
            for i in good[shapely.get_num_geometries(out[good]) > 1]:
                if shapely.get_type_id(out[i]) == shapely.GeometryType.MULTIPOLYGON:
                    reasons[i] = (f"has {shapely.get_num_geometries(out[i])} separate parts; "
                                  "each must be its own row")
            multi_one = good[(shapely.get_type_id(out[good]) == shapely.GeometryType.MULTIPOLYGON)
                             & (shapely.get_num_geometries(out[good]) == 1)]
            out[multi_one] = shapely.get_geometry(out[multi_one], 0)
    else:
        multi_rows = present[types == multi]
        for i in multi_rows:
            if shapely.get_num_geometries(out[i]) == 1:
                out[i] = shapely.get_geometry(out[i], 0)
            else:
                reasons[i] = (f"has {shapely.get_num_geometries(out[i])} separate parts; each "
                              "must be its own row")
    return out, reasons, repaired


def outside(geoms: NDArray[np.object_], area: shapely.Geometry | None,
            tolerance_deg: float = 1e-4) -> NDArray[np.bool_]:
    """Which geometries lie wholly outside ``area`` (about 10 m of slack at the border)."""
    if area is None or len(geoms) == 0:
        return np.zeros(len(geoms), dtype=bool)
    zone = shapely.buffer(area, tolerance_deg)
    shapely.prepare(zone)
    present = ~shapely.is_missing(geoms)
    result = np.zeros(len(geoms), dtype=bool)
    result[present] = ~shapely.intersects(zone, geoms[present])
    return result
