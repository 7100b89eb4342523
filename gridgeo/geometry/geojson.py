"""GeoJSON geometries in CRS84 from metric shapely geometries, for process outputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import shapely
from numpy.typing import NDArray

from gridgeo.geometry.crs import STORAGE_SRID, transform

# 7 decimals of a degree: about 1 cm, as the collections serve.
DIGITS = 7


def geojson_geometries(geoms: NDArray[np.object_], srid: int) -> list[dict[str, Any]]:
    """Each geometry moved from ``srid`` to longitude/latitude (CGCS2000 ≈ CRS84)."""
    if len(geoms) == 0:
        return []
    moved = transform(geoms, srid, STORAGE_SRID)
    rounded = shapely.transform(moved, lambda xy: np.round(xy, DIGITS))
    return [orjson.loads(text) for text in shapely.to_geojson(rounded)]


def feature_collection(features: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, **members}
