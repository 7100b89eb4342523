"""The pairwise overlap of governance grids and police grids, computed in one metric CRS.

Every step of a result (intersection, area, share) happens in the layers' metric
CRS: intersecting in degrees and measuring after a transform moves pieces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from gridgeo.geometry.groups import group_argmax, group_count, group_sum
from gridgeo.geometry.layer import Layer
from gridgeo.geometry.parallel import chunk_map, threaded_validity
from gridgeo.geometry.polygonal import polygonal
from gridgeo.geometry.progress import Progress, no_progress, step

from .coverage import AREA_NOISE_M2, CoverageProblems, coverage_problems


@dataclass(frozen=True)
class OverlapRules:
    """What counts as a sliver and which problem areas are too small to report."""

    sliver_share: float = 0.02
    sliver_area_m2: float = 100.0
    min_problem_area_m2: float = 1.0


@dataclass(frozen=True)
class Pieces:
    """One row per grid and police grid whose intersection has an area."""

    grid: NDArray[np.intp]
    police: NDArray[np.intp]
    geoms: NDArray[np.object_]
    area_m2: NDArray[np.float64]
    grid_share: NDArray[np.float64]
    police_share: NDArray[np.float64]
    dominant: NDArray[np.bool_]
    sliver: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.grid)


@dataclass(frozen=True)
class GridOverlap:
    """Per governance grid: its dominant piece (-1: none) and how well it is covered."""

    dominant_piece: NDArray[np.intp]
    piece_count: NDArray[np.intp]
    sliver_count: NDArray[np.intp]
    split: NDArray[np.bool_]
    covered_m2: NDArray[np.float64]
    uncovered_m2: NDArray[np.float64]
    double_m2: NDArray[np.float64]


@dataclass(frozen=True)
class OverlapResult:
    grids: Layer
    police: Layer
    rules: OverlapRules
    pieces: Pieces
    per_grid: GridOverlap
    coverage: CoverageProblems
    invalid_grids: NDArray[np.intp]
    invalid_police: NDArray[np.intp]


def compute_overlap(grids: Layer, police: Layer, rules: OverlapRules | None = None,
                    progress: Progress = no_progress, workers: int | None = None
                    ) -> OverlapResult:
    """Pieces, shares, dominant police grid, slivers, gaps and double cover of every grid.

    Both layers must be in the same metric CRS. Invalid geometries are repaired
    with ``make_valid`` for the computation and listed in the result.
    """
    if grids.srid != police.srid:
        raise ValueError("both layers must be in the same metric CRS")
    rules = rules or OverlapRules()
    progress(0.0, "checking geometries")
    grids, invalid_grids = repaired(grids, workers)
    police, invalid_police = repaired(police, workers)
    pairs = intersect_pairs(grids, police, workers, step(progress, 0.05, 0.8, "intersecting"))
    progress(0.8, "shares and dominant police grids")
    pieces = classify_pieces(grids, police, *pairs, rules)
    coverage = coverage_problems(grids, police, pieces.grid, pieces.geoms, pieces.area_m2,
                                 rules.min_problem_area_m2, workers,
                                 step(progress, 0.85, 1.0, "gaps and double cover"))
    per_grid = summarise_grids(grids, pieces, coverage)
    progress(1.0, "done")
    return OverlapResult(grids, police, rules, pieces, per_grid, coverage, invalid_grids,
                         invalid_police)


def repaired(layer: Layer, workers: int | None = None) -> tuple[Layer, NDArray[np.intp]]:
    """The layer with invalid geometries made valid, and the rows that were invalid."""
    invalid = np.flatnonzero(~threaded_validity(layer.geoms, workers))
    if len(invalid) == 0:
        return layer, invalid
    geoms = layer.geoms.copy()
    geoms[invalid] = polygonal(shapely.make_valid(geoms[invalid]))
    return Layer(layer.srid, layer.codes, geoms, dict(layer.attributes)), invalid


def intersect_pairs(grids: Layer, police: Layer, workers: int | None = None,
                    on_progress: Callable[[float], None] | None = None
                    ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.object_],
                               NDArray[np.float64]]:
    """Every (grid, police grid) pair whose intersection has an area, with that piece.

    Candidate pairs come from one STRtree query on bounding boxes. A grid that its
    police grid covers is its own piece (a prepared ``covers`` test, no overlay);
    only the others are intersected, on several threads.
    """
    shapely.prepare(police.geoms)
    grid_area = grids.areas
    cand_grid, cand_police = shapely.STRtree(police.geoms).query(grids.geoms)
    by_police = np.argsort(cand_police, kind="stable")
    cand_grid, cand_police = cand_grid[by_police], cand_police[by_police]

    def work(rows: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.object_],
                                              NDArray[np.float64]]:
        g, p = grids.geoms[cand_grid[rows]], police.geoms[cand_police[rows]]
        covered = shapely.covers(p, g)
        rest = np.flatnonzero(~covered)
        cut = rest[shapely.intersects(p[rest], g[rest])]
        pieces = g.copy()
        pieces[cut] = polygonal(shapely.intersection(g[cut], p[cut]))
        area = np.where(covered, grid_area[cand_grid[rows]], 0.0)
        area[cut] = shapely.area(pieces[cut])
        keep = area > AREA_NOISE_M2
        return rows[keep], pieces[keep], area[keep]

    total = len(cand_grid)

    def report(done: int) -> None:
        if on_progress:
            on_progress(done / max(total, 1))

    parts = chunk_map(work, total, workers, report, owners=cand_police)
    rows = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.intp)
    geoms = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, object)
    areas = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.float64)
    return cand_grid[rows].astype(np.intp), cand_police[rows].astype(np.intp), geoms, areas


def classify_pieces(grids: Layer, police: Layer, grid: NDArray[np.intp],
                    pol: NDArray[np.intp], geoms: NDArray[np.object_],
                    area: NDArray[np.float64], rules: OverlapRules) -> Pieces:
    """Shares of both grids, the dominant piece of each grid and the slivers.

    The dominant piece is the largest (ties: the lowest police grid code). A sliver
    is any other piece below ``sliver_share`` of its grid or ``sliver_area_m2``.
    """
    grid_share = area / grids.areas[grid]
    police_share = area / police.areas[pol]
    code_rank = np.argsort(np.argsort(police.codes, kind="stable"), kind="stable")
    dominant = np.zeros(len(grid), dtype=bool)
    dominant[group_argmax(grid, area, code_rank[pol])] = True
    small = (grid_share < rules.sliver_share) | (area < rules.sliver_area_m2)
    return Pieces(grid, pol, geoms, area, grid_share, police_share, dominant,
                  small & ~dominant)


def summarise_grids(grids: Layer, pieces: Pieces, coverage: CoverageProblems) -> GridOverlap:
    n = len(grids)
    dominant_piece = np.full(n, -1, dtype=np.intp)
    rows = np.flatnonzero(pieces.dominant)
    dominant_piece[pieces.grid[rows]] = rows
    substantial = group_count(pieces.grid[~pieces.sliver], n)
    covered = coverage.covered_m2
    return GridOverlap(
        dominant_piece=dominant_piece,
        piece_count=group_count(pieces.grid, n),
        sliver_count=group_count(pieces.grid[pieces.sliver], n),
        split=substantial > 1,
        covered_m2=covered,
        uncovered_m2=np.maximum(grids.areas - covered, 0.0),
        double_m2=group_sum(coverage.double_grid, coverage.double_area_m2, n))
