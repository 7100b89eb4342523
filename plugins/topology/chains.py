"""An exact, vectorised test that children tile their parent, from their edges alone.

Take every ring edge with the direction that keeps the polygon on its left
(exteriors counter-clockwise, holes clockwise) and add up the edges of a parent's
children, an edge and its reverse cancelling out. If what remains is exactly the
parent's own boundary, the children's winding numbers add up to the parent's
everywhere: each point of the parent lies in exactly one child and no child
reaches outside. That needs a sort of integer edge keys, no overlay. Parents that
fail it get the geometric checks, which also tell a real gap or overlap from an
edge merely split at a different vertex.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely
from numpy.typing import NDArray


def vertex_ids(points: NDArray[np.float64]) -> NDArray[np.int64]:
    """The same id for exactly equal points: a 64-bit hash of their bits, checked."""
    bits = np.ascontiguousarray(points).view(np.uint64)
    mixed = bits[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ bits[:, 1]
    first, ids = np.unique(mixed, return_index=True, return_inverse=True)[1:]
    if not np.array_equal(points, points[first[ids]]):  # a hash collision: exact fallback
        ids = np.unique(np.ascontiguousarray(points).view(np.void(16)), return_inverse=True)[1]
    return ids.astype(np.int64).ravel()


def ring_edges(geoms: NDArray[np.object_]) -> tuple[NDArray[np.intp], NDArray[np.float64],
                                                    NDArray[np.intp], NDArray[np.float64]]:
    """Ring vertices of polygonal geometries, and for each edge: owner, start row, sign.

    The sign is +1 where the ring already runs with the polygon on its left.
    """
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    exterior = np.ones(len(rings), dtype=bool)
    exterior[1:] = ring_part[1:] != ring_part[:-1]
    sign = np.where(shapely.is_ccw(rings) == exterior, 1.0, -1.0)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    start = np.flatnonzero(coord_ring[:-1] == coord_ring[1:])
    ring = coord_ring[start]
    return part_owner[ring_part[ring]].astype(np.intp), coords, start.astype(np.intp), sign[ring]


def untiled_parents(children: NDArray[np.object_], child_parent: NDArray[np.intp],
                    parents: NDArray[np.object_]) -> NDArray[np.bool_]:
    """For each parent, True when its children's edges do not add up to its boundary.

    ``child_parent`` is each child's position in ``parents``.
    """
    with ThreadPoolExecutor(2) as pool:  # shapely releases the GIL: one core each
        c_job, p_job = pool.submit(ring_edges, children), pool.submit(ring_edges, parents)
        (c_owner, c_xy, c_start, c_sign), (p_owner, p_xy, p_start, p_sign) = (
            c_job.result(), p_job.result())
    ids = vertex_ids(np.concatenate([c_xy, p_xy]))
    start = np.concatenate([c_start, p_start + len(c_xy)])
    a, b = ids[start], ids[start + 1]
    group = np.concatenate([child_parent[c_owner], p_owner]).astype(np.int64)
    sign = np.concatenate([c_sign, -p_sign]) * np.where(a < b, 1.0, -1.0)
    low, high = np.minimum(a, b), np.maximum(a, b)
    n_vertices = int(ids.max()) + 1 if len(ids) else 1
    if len(parents) * n_vertices * n_vertices < 2**62:
        order = np.argsort((group * n_vertices + low) * n_vertices + high, kind="stable")
    else:
        order = np.lexsort((high, low, group))
    group, low, high, sign = group[order], low[order], high[order], sign[order]
    new_run = np.ones(len(order), dtype=bool)
    new_run[1:] = (group[1:] != group[:-1]) | (low[1:] != low[:-1]) | (high[1:] != high[:-1])
    starts = np.flatnonzero(new_run)
    net = np.add.reduceat(sign, starts) if len(starts) else np.empty(0)
    untiled = np.zeros(len(parents), dtype=bool)
    untiled[group[starts[net != 0]]] = True
    return untiled
