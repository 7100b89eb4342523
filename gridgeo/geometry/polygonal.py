"""Keeping the areal part of overlay results and wrapping polygons as MultiPolygons."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

_POLYGON = shapely.GeometryType.POLYGON
_MULTIPOLYGON = shapely.GeometryType.MULTIPOLYGON


def polygonal(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Each geometry reduced to its polygons (an overlay may add touching lines or points).

    Geometries with no polygon become empty MultiPolygons.
    """
    out = np.array(geoms, dtype=object)
    types = shapely.get_type_id(out)
    mixed = np.flatnonzero((types != _POLYGON) & (types != _MULTIPOLYGON))
    if len(mixed) == 0:
        return out
    parts, owner = shapely.get_parts(out[mixed], return_index=True)
    areal = shapely.get_type_id(parts) == _POLYGON
    found, dense = np.unique(owner[areal], return_inverse=True)
    rebuilt = shapely.multipolygons(parts[areal], indices=dense)
    fixed = np.full(len(mixed), shapely.MultiPolygon(), dtype=object)
    fixed[found] = rebuilt
    out[mixed] = fixed
    return out


def as_multipolygons(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Polygons wrapped as one-part MultiPolygons (the tables' column type)."""
    out = polygonal(geoms)
    single = shapely.get_type_id(out) == _POLYGON
    if single.any():
        out[single] = shapely.multipolygons(out[single][:, np.newaxis])
    return out


def explode(geoms: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """The polygons of each geometry and the index of the geometry each came from."""
    parts, owner = shapely.get_parts(polygonal(geoms), return_index=True)
    keep = shapely.get_type_id(parts) == _POLYGON
    return parts[keep], owner[keep].astype(np.intp)
