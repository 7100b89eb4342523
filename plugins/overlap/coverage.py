"""Where police grids leave a governance grid uncovered, and where two of them cover it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from gridgeo.geometry.groups import group_members, group_sum
from gridgeo.geometry.layer import Layer
from gridgeo.geometry.pairs import overlapping_pairs
from gridgeo.geometry.polygonal import polygonal

# Areas smaller than this are rounding noise of the overlay, not pieces (1 cm²).
AREA_NOISE_M2 = 1e-4


@dataclass(frozen=True)
class CoverageProblems:
    """Per grid the area covered by any police grid, and the problem areas found.

    ``uncovered_*``: one row per grid with an uncovered part of at least the
    minimum problem area. ``double_*``: one row per grid and pair of police grids
    that both cover part of it (``double_police`` has the two police rows).
    """

    covered_m2: NDArray[np.float64]
    uncovered_grid: NDArray[np.intp]
    uncovered_geoms: NDArray[np.object_]
    uncovered_area_m2: NDArray[np.float64]
    double_grid: NDArray[np.intp]
    double_police: NDArray[np.intp]
    double_geoms: NDArray[np.object_]
    double_area_m2: NDArray[np.float64]


def coverage_problems(grids: Layer, police: Layer, piece_grid: NDArray[np.intp],
                      piece_geoms: NDArray[np.object_], piece_area: NDArray[np.float64],
                      min_area_m2: float, workers: int | None = None,
                      on_progress: Callable[[float], None] | None = None
                      ) -> CoverageProblems:
    """Uncovered parts and double cover of every grid, from its pieces.

    Police grids that overlap each other are found first (few, in practice); where
    none overlap inside a grid, the sum of its pieces is its covered area, so only
    grids short of full cover need the (costly) difference with their pieces.
    """
    n = len(grids)
    pairs, overlaps = police_overlaps(police, workers)
    d_grid, d_pair, d_geoms, d_area = clip_to_grids(grids, overlaps)
    covered = group_sum(piece_grid, piece_area, n)
    members = group_members(piece_grid, n)
    doubled = np.unique(d_grid)
    covered[doubled] = union_areas(piece_geoms, members, doubled)
    covered = np.minimum(covered, grids.areas)
    short = np.flatnonzero(grids.areas - covered >= max(min_area_m2, AREA_NOISE_M2))
    gaps = uncovered_parts(grids, piece_geoms, members, short)
    gap_area = shapely.area(gaps)
    keep = gap_area >= max(min_area_m2, AREA_NOISE_M2)
    shown = d_area >= max(min_area_m2, AREA_NOISE_M2)
    if on_progress:
        on_progress(1.0)
    return CoverageProblems(covered, short[keep], gaps[keep], gap_area[keep], d_grid[shown],
                            pairs[d_pair[shown]], d_geoms[shown], d_area[shown])


def police_overlaps(police: Layer, workers: int | None = None
                    ) -> tuple[NDArray[np.intp], NDArray[np.object_]]:
    """Pairs of police grids whose interiors overlap (``(k, 2)`` rows) and the overlaps."""
    a, b = overlapping_pairs(police.geoms, workers=workers)
    geoms = polygonal(shapely.intersection(police.geoms[a], police.geoms[b]))
    real = shapely.area(geoms) > AREA_NOISE_M2
    return np.column_stack([a[real], b[real]]).astype(np.intp).reshape(-1, 2), geoms[real]


def clip_to_grids(grids: Layer, areas: NDArray[np.object_]
                  ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.object_],
                             NDArray[np.float64]]:
    """Each area cut by the grids it falls in: (grid row, area row, piece, m²)."""
    if len(areas) == 0:
        return (np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0, object),
                np.empty(0, np.float64))
    source, grid = shapely.STRtree(grids.geoms).query(areas, predicate="intersects")
    geoms = polygonal(shapely.intersection(grids.geoms[grid], areas[source]))
    area = shapely.area(geoms)
    keep = area > AREA_NOISE_M2
    return grid[keep].astype(np.intp), source[keep].astype(np.intp), geoms[keep], area[keep]


def union_areas(piece_geoms: NDArray[np.object_],
                members: tuple[NDArray[np.intp], NDArray[np.intp]],
                grids: NDArray[np.intp]) -> NDArray[np.float64]:
    """Area of the union of each listed grid's pieces (where pieces may overlap)."""
    order, starts = members
    return np.array([shapely.area(shapely.union_all(piece_geoms[order[starts[g]:starts[g + 1]]]))
                     for g in grids], dtype=np.float64)


def uncovered_parts(grids: Layer, piece_geoms: NDArray[np.object_],
                    members: tuple[NDArray[np.intp], NDArray[np.intp]],
                    rows: NDArray[np.intp]) -> NDArray[np.object_]:
    """Each listed grid minus the union of its pieces."""
    order, starts = members
    covered = np.array([shapely.union_all(piece_geoms[order[starts[g]:starts[g + 1]]])
                        for g in rows], dtype=object)
    if len(rows) == 0:
        return np.empty(0, dtype=object)
    return polygonal(shapely.difference(grids.geoms[rows], covered))
