"""From the metric working CRS (EPSG:4546) to the stored one (EPSG:4490, EWKB hex)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

from gridgeo.demo.county import GEO_EPSG, METRIC_EPSG


@lru_cache(maxsize=1)
def _to_geographic() -> Transformer:
    return Transformer.from_crs(METRIC_EPSG, GEO_EPSG, always_xy=True)


def _transform(coords: np.ndarray) -> np.ndarray:
    lon, lat = _to_geographic().transform(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def to_ewkb(geoms: np.ndarray | list) -> list[str]:
    """Hex EWKB with SRID 4490. Each vertex is transformed by the same function, so
    vertices shared in metres stay shared in degrees."""
    moved = shapely.set_srid(shapely.transform(np.asarray(geoms, dtype=object), _transform),
                             GEO_EPSG)
    return list(shapely.to_wkb(moved, hex=True, include_srid=True))
