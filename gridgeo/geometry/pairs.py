"""Pairs of polygons whose interiors intersect, found on several threads."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from gridgeo.geometry.parallel import chunk_map

# DE-9IM: the interiors intersect (an overlap or a nesting), not a mere touch.
INTERIORS_MEET = "T********"


def overlapping_pairs(geoms: NDArray[np.object_], suspects: NDArray[np.intp] | None = None,
                      workers: int | None = None) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Index pairs (i, j), i < j, of geometries whose interiors intersect.

    Candidates come from one STRtree query on bounding boxes; each is tested with the
    first geometry prepared, in chunks that keep one prepared geometry in one thread.
    With ``suspects`` (sorted indices), only pairs with at least one suspect are tested.
    """
    suspects = np.arange(len(geoms), dtype=np.intp) if suspects is None else suspects
    q, j = shapely.STRtree(geoms).query(geoms[suspects])
    i = suspects[q]
    is_suspect = np.zeros(len(geoms), dtype=bool)
    is_suspect[suspects] = True
    keep = (i != j) & ~(is_suspect[j] & (j < i))  # each pair once
    i, j = i[keep].astype(np.intp), j[keep].astype(np.intp)
    shapely.prepare(geoms[suspects])

    def work(rows: NDArray[np.intp]) -> NDArray[np.intp]:
        return rows[shapely.relate_pattern(geoms[i[rows]], geoms[j[rows]], INTERIORS_MEET)]

    parts = chunk_map(work, len(i), workers, owners=i)
    hit = np.concatenate(parts) if parts else np.empty(0, np.intp)
    return np.minimum(i[hit], j[hit]), np.maximum(i[hit], j[hit])
