"""Exact tilings: cells that share every edge coordinate for coordinate.

Nested cells (micro grids inside unit grids inside villages) are drawn as clipped Voronoi
cells, then their boundaries are noded together on a 1 cm grid and polygonised into faces.
Every grid is a union of faces, so a parent and the union of its children, and two
neighbours, meet on identical vertices: no gaps, no overlaps (不留空白、不交叉重叠).
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Polygon

from gridgeo.demo.noise import fbm, field_key

GRID_M = 0.01
WIGGLE_M = 170.0  # how far boundaries stray from straight Voronoi edges
_TAPER_M = 900.0  # the wiggle fades out towards the town outline, which stays put


def weighted_kmeans(points: np.ndarray, weights: np.ndarray, k: int,
                    rng: np.random.Generator, iterations: int = 12) -> np.ndarray:
    """``k`` distinct centres that split the weighted points into balanced clusters."""
    centres = [points[rng.choice(len(points), p=weights / weights.sum())]]
    gap2 = np.sum((points - centres[0]) ** 2, axis=1)
    for _ in range(1, k):  # k-means++: far from the centres so far, in proportion to weight
        chance = weights * gap2
        centres.append(points[rng.choice(len(points), p=chance / chance.sum())]
                       if chance.sum() > 0 else points[rng.integers(len(points))])
        np.minimum(gap2, np.sum((points - centres[-1]) ** 2, axis=1), out=gap2)
    centre = np.array(centres, dtype=np.float64)
    for _ in range(iterations):
        nearest = np.argmin(((points[:, None] - centre[None]) ** 2).sum(axis=2), axis=1)
        mass = np.bincount(nearest, weights, k)
        for axis in (0, 1):
            total = np.bincount(nearest, weights * points[:, axis], k)
            centre[:, axis] = np.where(mass > 0, total / np.maximum(mass, 1e-12), centre[:, axis])
    # Distinct seeds keep every Voronoi cell non-empty.
    _, first = np.unique(np.round(centre, 3), axis=0, return_index=True)
    if len(first) < k:
        missing = np.setdiff1d(np.arange(k), first)
        centre[missing] += rng.normal(0.0, 5.0, (len(missing), 2))
    return centre


def area_samples(polygon: Polygon | MultiPolygon, spacing: float) -> np.ndarray:
    """Points on a square lattice inside the polygon (at least its representative point)."""
    minx, miny, maxx, maxy = polygon.bounds
    grid_x, grid_y = np.meshgrid(np.arange(minx + spacing / 2, maxx, spacing),
                                 np.arange(miny + spacing / 2, maxy, spacing))
    x, y = grid_x.ravel(), grid_y.ravel()
    inside = shapely.contains_xy(polygon, x, y)
    if not inside.any():
        return np.array(polygon.representative_point().coords)
    return np.column_stack([x[inside], y[inside]])


def voronoi_cells(seeds: np.ndarray, clip: Polygon | MultiPolygon) -> np.ndarray:
    """The Voronoi cell of each seed, in seed order, clipped to ``clip``."""
    if len(seeds) == 1:
        return np.array([clip], dtype=object)
    diagram = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=clip, ordered=True)
    return np.array([polygonal(c) for c in shapely.intersection(shapely.get_parts(diagram),
                                                                 clip)], dtype=object)


def polygonal(geom: shapely.Geometry) -> Polygon | MultiPolygon:
    """The polygons of an overlay result (dropping stray lines and points)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    return MultiPolygon(parts) if parts else Polygon()


def tile(systems: list[np.ndarray], outline: Polygon) -> tuple[np.ndarray, list[np.ndarray]]:
    """Faces of the noded boundaries of every cell system (each tiling the outline), and for
    each system the cell each face lies in. Independent systems (grids and police grids)
    noded together share their outline exactly and cross each other only at nodes."""
    cells = np.concatenate(systems)
    rings = shapely.get_parts(shapely.boundary(shapely.get_parts(cells)))
    lines = shapely.unary_union(np.append(rings, outline.boundary), grid_size=GRID_M)
    pieces = shapely.segmentize(_onto_outline(shapely.get_parts(lines), outline), 60.0)
    faces = shapely.get_parts(shapely.polygonize(pieces))
    faces = faces[shapely.area(faces) > 0]
    probe = shapely.point_on_surface(faces)
    return faces, [_owner(system, probe) for system in systems]


def _onto_outline(pieces: np.ndarray, outline: Polygon) -> np.ndarray:
    """Nodes the noding put on the outline, put back exactly on it.

    Snapped to the noding's grid, a node where an inner boundary meets the outline lands up
    to 7 mm off the outline's straight segment; the neighbouring town, with no node there,
    keeps the segment straight, and the two towns overlapped by 1-2 m² along every border.
    """
    border = shapely.set_precision(outline.exterior, GRID_M)  # the outline as noded

    def move(coords: np.ndarray) -> np.ndarray:
        points = shapely.points(coords)
        near = shapely.distance(points, border) < GRID_M
        if near.any():
            along = shapely.line_locate_point(border, points[near])
            coords = coords.copy()
            coords[near] = shapely.get_coordinates(shapely.line_interpolate_point(border, along))
        return coords

    return shapely.transform(pieces, move)


def _owner(cells: np.ndarray, probe: np.ndarray) -> np.ndarray:
    tree = shapely.STRtree(cells)
    face_index, cell_index = tree.query(probe, predicate="intersects")
    none = np.iinfo(np.int64).max
    owner = np.full(len(probe), none)
    np.minimum.at(owner, face_index, cell_index)  # on a shared edge, the lowest cell wins
    lost = owner == none
    if lost.any():
        owner[lost] = tree.query_nearest(probe[lost], all_matches=False)[1]
    return owner


def _wiggle(coords: np.ndarray, outline_tree: shapely.STRtree, outline_parts: np.ndarray,
            key: int, amplitude: float) -> np.ndarray:
    points = shapely.points(coords)
    nearest = outline_tree.query_nearest(points, all_matches=False)[1]
    distance = shapely.distance(points, outline_parts[nearest])
    t = np.clip((distance - 0.05) / _TAPER_M, 0.0, 1.0)
    taper = t * t * (3 - 2 * t) * amplitude
    octaves = [(1800.0, 1.0), (500.0, 0.3), (200.0, 0.08)]
    dx = fbm(coords[:, 0], coords[:, 1], octaves, key)
    dy = fbm(coords[:, 0], coords[:, 1], octaves, key + 1)
    return coords + np.column_stack([dx, dy]) * taper[:, None]


def wiggle(faces: np.ndarray, outline: Polygon, *seed: int) -> np.ndarray:
    """Bend the faces' boundaries with a smooth displacement field (the same function for
    every vertex, so shared edges stay shared). The field is gentle enough to keep faces
    valid; should one still fold, the amplitude is halved and tried again."""
    ring = shapely.get_coordinates(outline.exterior)
    outline_parts = shapely.linestrings(np.stack([ring[:-1], ring[1:]], axis=1))
    tree = shapely.STRtree(outline_parts)
    key = field_key(*seed)
    amplitude = WIGGLE_M
    while amplitude > 1.0:
        moved = shapely.transform(
            faces, lambda c: _wiggle(c, tree, outline_parts, key, amplitude))  # noqa: B023
        if shapely.is_valid(moved).all():
            return moved
        amplitude /= 2
    return faces


def as_multipolygon(geom: Polygon | MultiPolygon) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    return MultiPolygon([geom])


def union_by(faces: np.ndarray, group: np.ndarray, count: int) -> list[MultiPolygon]:
    """The union of the faces of each group 0..count-1 (an exact coverage union; empty for
    a group without faces)."""
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(count + 1))
    result = []
    for g in range(count):
        members = faces[order[bounds[g]:bounds[g + 1]]]
        if len(members) == 0:
            result.append(MultiPolygon())
            continue
        geom = members[0] if len(members) == 1 else shapely.coverage_union_all(members)
        result.append(as_multipolygon(geom))
    return result
