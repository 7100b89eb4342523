"""Transforms between the metric CRS results are computed in and CGCS2000 for output."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

STORAGE_SRID = 4490


@lru_cache(maxsize=8)
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def transform(geoms: NDArray[np.object_] | Any, source: int,
              target: int = STORAGE_SRID) -> NDArray[np.object_]:
    """Every vertex from ``source`` to ``target`` (longitude first), in one pyproj call."""
    transformer = _transformer(source, target)

    def move(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, move)  # type: ignore[no-any-return]
