"""Overlaps between grids of a level, children outside their parent, gaps in a parent.

Only suspect grids get geometric checks: children of parents that fail the exact
edge test (``chains.untiled_parents``), of parents that overlap another parent, and
grids with no parent. For them, every pair whose bounding boxes meet is tested with
a prepared DE-9IM "interiors intersect" test on several threads, and only real
overlaps are intersected; gaps are ``parent − union(children)``.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from gridgeo.geometry.groups import group_count, group_members
from gridgeo.geometry.layer import Layer
from gridgeo.geometry.pairs import overlapping_pairs
from gridgeo.geometry.polygonal import explode, polygonal

from .chains import untiled_parents
from .problems import Problem


def keep_in(piece: shapely.Geometry, first: shapely.Geometry,
            second: shapely.Geometry) -> tuple[int, float]:
    """Which of two grids should keep an overlap: the one whose rest shares the longer
    boundary with it (0 or 1, ties to 0), and that length in metres."""
    edge = shapely.boundary(piece)
    lengths = [float(shapely.length(shapely.intersection(edge, shapely.difference(g, piece))))
               for g in (first, second)]
    return (0 if lengths[0] >= lengths[1] else 1), max(lengths)


def overlap_problems(grids: Layer, rows: NDArray[np.intp], suspects: NDArray[np.intp],
                     level: str, min_area_m2: float, workers: int | None = None
                     ) -> list[Problem]:
    """Overlaps among the grids at ``rows`` that involve a grid of ``suspects``."""
    a, b = overlapping_pairs(grids.geoms[rows], np.flatnonzero(np.isin(rows, suspects)),
                             workers)
    a, b = rows[a], rows[b]
    pieces = polygonal(shapely.intersection(grids.geoms[a], grids.geoms[b]))
    areas = shapely.area(pieces)
    problems = []
    for i, j, piece, area in zip(a, b, pieces, areas, strict=True):
        if area < min_area_m2:
            continue
        pair = (str(grids.codes[i]), str(grids.codes[j]))
        keep, length = keep_in(piece, grids.geoms[i], grids.geoms[j])
        problems.append(Problem(
            "overlap", level, pair, piece, float(area),
            f"grids {pair[0]} and {pair[1]} overlap by {area:.1f} m²",
            f"cut the overlap out of {pair[1 - keep]} and keep it in {pair[keep]} (they share "
            f"the longer boundary, {length:.1f} m)",
            {"action": "remove_from", "grid_code": pair[1 - keep], "keep_in": pair[keep]}))
    return problems


def longest_neighbour(part: shapely.Geometry, geoms: NDArray[np.object_],
                      tree: shapely.STRtree) -> tuple[int, float]:
    """The geometry sharing the longest boundary with ``part`` (-1: none) and that length."""
    near = tree.query(part, predicate="intersects")
    if len(near) == 0:
        return -1, 0.0
    lengths = shapely.length(shapely.intersection(shapely.boundary(part), geoms[near]))
    best = int(np.argmax(lengths))
    return (int(near[best]), float(lengths[best])) if lengths[best] > 0 else (-1, 0.0)


def parent_index(grids: Layer, rows: NDArray[np.intp],
                 parent_rows: NDArray[np.intp]) -> NDArray[np.intp]:
    """For each row, the position in ``parent_rows`` of its parent (-1: not among them)."""
    position = {str(c): k for k, c in enumerate(grids.codes[parent_rows])}
    parents = grids.attributes["parent_code"][rows]
    return np.array([position.get(p, -1) for p in parents], dtype=np.intp)


def suspect_children(grids: Layer, rows: NDArray[np.intp], parent_rows: NDArray[np.intp],
                     level: str, workers: int | None = None
                     ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_]]:
    """Each child's parent position (-1: none), the rows that need geometric checks, and
    the parents whose children do not tile them exactly."""
    owner = parent_index(grids, rows, parent_rows)
    known = owner >= 0
    untiled = untiled_parents(grids.geoms[rows[known]], owner[known], grids.geoms[parent_rows])
    if level == "micro":  # micro grids are optional: a unit with none has no gap
        untiled &= group_count(owner[known], len(parent_rows)) > 0
    a, b = overlapping_pairs(grids.geoms[parent_rows], workers=workers)
    suspect = untiled.copy()
    suspect[a] = suspect[b] = True
    needs_check = ~known
    needs_check[known] = suspect[owner[known]]
    return owner, rows[needs_check], untiled


def cover_problems(grids: Layer, rows: NDArray[np.intp], owner: NDArray[np.intp],
                   parent_rows: NDArray[np.intp], untiled: NDArray[np.bool_], level: str,
                   min_area_m2: float) -> list[Problem]:
    """Children of untiled parents that reach outside them, and the gaps they leave."""
    inside = owner >= 0
    inside[inside] = untiled[owner[inside]]
    rows, owner = rows[inside], owner[inside]
    parents = grids.geoms[parent_rows]
    covered = shapely.covers(parents[owner], grids.geoms[rows])
    problems = outside_problems(grids, rows[~covered], parent_rows, owner[~covered], level,
                                min_area_m2)
    problems += gap_problems(grids, rows, owner, parent_rows, np.flatnonzero(untiled), level,
                             min_area_m2)
    return problems


def outside_problems(grids: Layer, rows: NDArray[np.intp], parent_rows: NDArray[np.intp],
                     owner: NDArray[np.intp], level: str, min_area_m2: float) -> list[Problem]:
    if len(rows) == 0:
        return []
    outside = polygonal(shapely.difference(grids.geoms[rows], grids.geoms[parent_rows[owner]]))
    areas = shapely.area(outside)
    tree = shapely.STRtree(grids.geoms[parent_rows])
    problems = []
    for row, parent, part, area in zip(rows, owner, outside, areas, strict=True):
        if area < min_area_m2:
            continue
        code, parent_code = str(grids.codes[row]), str(grids.codes[parent_rows[parent]])
        into = tree.query(part, predicate="intersects")
        shares = shapely.area(shapely.intersection(grids.geoms[parent_rows[into]], part))
        other = (str(grids.codes[parent_rows[into[int(np.argmax(shares))]]])
                 if len(into) and shares.max() > 0 else None)
        where = f" (it lies in {other})" if other and other != parent_code else ""
        problems.append(Problem(
            "outside_parent", level, (code,), part, float(area),
            f"{area:.1f} m² of grid {code} lie outside its parent {parent_code}{where}",
            f"trim grid {code} to the boundary of {parent_code}",
            {"action": "trim_to_parent", "grid_code": code}, parent_code))
    return problems


def gap_problems(grids: Layer, rows: NDArray[np.intp], owner: NDArray[np.intp],
                 parent_rows: NDArray[np.intp], suspects: NDArray[np.intp], level: str,
                 min_area_m2: float) -> list[Problem]:
    """Parts of each suspect parent that none of its children cover."""
    order, starts = group_members(owner, len(parent_rows))
    problems = []
    for k in suspects:
        children = rows[order[starts[k]:starts[k + 1]]]
        parent = grids.geoms[parent_rows[k]]
        gap = shapely.difference(parent, shapely.union_all(grids.geoms[children]))
        parts, _ = explode(np.array([gap], dtype=object))
        parts = parts[shapely.area(parts) >= min_area_m2]
        if len(parts) == 0:
            continue
        tree = shapely.STRtree(grids.geoms[children])
        parent_code = str(grids.codes[parent_rows[k]])
        for part in parts:
            problems.append(gap_problem(part, grids, children, tree, level, parent_code))
    return problems


def gap_problem(part: shapely.Geometry, grids: Layer, children: NDArray[np.intp],
                tree: shapely.STRtree, level: str, parent_code: str) -> Problem:
    area = float(shapely.area(part))
    best, length = longest_neighbour(part, grids.geoms[children], tree)
    if best < 0:
        return Problem("gap", level, (), part, area,
                       f"{area:.1f} m² of {parent_code} are in no {level} grid",
                       f"draw a {level} grid here, inside {parent_code}",
                       {"action": "draw_grid"}, parent_code)
    neighbour = str(grids.codes[children[best]])
    return Problem(
        "gap", level, (neighbour,), part, area,
        f"{area:.1f} m² of {parent_code} are in no {level} grid",
        f"give the gap to {neighbour}, the neighbour with the longest shared boundary "
        f"({length:.1f} m)", {"action": "merge_into", "grid_code": neighbour}, parent_code)
