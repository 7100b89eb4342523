"""The governance grid hierarchy: town > area > village > unit grid > micro grid.

Villages are the settlements' Voronoi cells; unit grids split each village so that door
plates (households) and land are shared out evenly; micro grids split each unit grid the
same way. All levels are unions of one set of faces (see :mod:`partition`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon

from gridgeo.demo.county import TownSpec
from gridgeo.demo.partition import (
    area_samples,
    tile,
    union_by,
    voronoi_cells,
    weighted_kmeans,
    wiggle,
)
from gridgeo.demo.valleys import Settlement, Valleys

UNITS_PER_TOWN = 213
N_AREAS = 4
_DIRECTIONS = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")


@dataclass
class Grid:
    """One row of gridgeo.grids (geometry in the metric CRS)."""

    code: str
    name: str
    level: str
    parent_code: str | None
    geom: MultiPolygon
    kind: str = "basic"
    dedicated_type: str | None = None
    difficulty: str | None = None
    households: int | None = None
    population: int | None = None

    @property
    def village_code(self) -> str | None:
        return self.code[:12] if self.level in ("village", "unit", "micro") else None


@dataclass
class Hierarchy:
    town: Grid
    areas: list[Grid]
    villages: list[Grid]
    village_names: list[str]
    village_stems: list[str]
    units: list[Grid]
    micros: list[Grid]
    door_village: np.ndarray  # index into villages, per door
    dedicated: list[Grid]
    overlay: list[MultiPolygon]

    def all_grids(self) -> list[Grid]:
        return [self.town, *self.areas, *self.villages, *self.units, *self.dedicated,
                *self.micros]


def _allocate(weight: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Largest-remainder shares of ``total`` with at least ``minimum`` each."""
    spare = total - minimum * len(weight)
    exact = weight / weight.sum() * spare
    share = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - share), kind="stable")
    share[order[: spare - share.sum()]] += 1
    return share + minimum


def _split(polygon: MultiPolygon, doors: np.ndarray, count: int, spacing: float,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seeds and clipped Voronoi cells that share doors and land out evenly."""
    land = area_samples(polygon, spacing)
    points = np.vstack([doors, land])
    weight = np.concatenate([np.ones(len(doors)),
                             np.full(len(land), 0.35 * max(len(doors), 20) / len(land))])
    seeds = weighted_kmeans(points, weight, count, rng)
    return seeds, voronoi_cells(seeds, polygon)


def _first_hit(tree: shapely.STRtree, xy: np.ndarray) -> np.ndarray:
    """Index of the (lowest-numbered) tree geometry containing each point, else nearest."""
    points = shapely.points(xy)
    found, where = tree.query(points, predicate="intersects")
    none = np.iinfo(np.int64).max
    hit = np.full(len(xy), none)
    np.minimum.at(hit, found, where)
    lost = hit == none
    if lost.any():
        hit[lost] = tree.query_nearest(points[lost], all_matches=False)[1]
    return hit


def _areas(villages: list[MultiPolygon], centres: np.ndarray) -> np.ndarray:
    """Group adjacent villages into areas (片区) grown from far-apart seed villages."""
    left, right = shapely.STRtree(villages).query(villages, predicate="intersects")
    neighbours: dict[int, set[int]] = {i: set() for i in range(len(villages))}
    for a, b in zip(left, right, strict=True):
        if a != b:
            neighbours[int(a)].add(int(b))
    seeds = [0]
    while len(seeds) < min(N_AREAS, len(villages)):
        gap = np.min(np.linalg.norm(centres[:, None] - centres[seeds][None], axis=2), axis=1)
        seeds.append(int(np.argmax(gap)))
    area = np.full(len(villages), -1)
    area[seeds] = np.arange(len(seeds))
    while (area < 0).any():
        grown = False
        for a, seed in enumerate(seeds):
            members = np.flatnonzero(area == a)
            options = sorted({n for m in members for n in neighbours[int(m)] if area[n] < 0})
            if options:
                pick = min(options, key=lambda n: np.linalg.norm(centres[n] - centres[seed]))
                area[pick] = a
                grown = True
        if not grown:
            lost = np.flatnonzero(area < 0)
            nearest = np.argmin(np.linalg.norm(centres[lost][:, None] - centres[seeds][None],
                                               axis=2), axis=1)
            area[lost] = nearest
    return area


def _bearing_rank(points: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Clockwise from north, as codes and names are usually handed out."""
    angle = np.mod(np.arctan2(points[:, 0] - origin[0], points[:, 1] - origin[1]), 2 * math.pi)
    return np.argsort(np.argsort(angle, kind="stable"), kind="stable")


def _direction(point: np.ndarray, origin: np.ndarray) -> str:
    angle = math.degrees(math.atan2(point[1] - origin[1], point[0] - origin[0])) % 360
    return _DIRECTIONS[int(((angle + 22.5) % 360) // 45)]


def _cells_within(parents: np.ndarray, doors: np.ndarray, door_parent: np.ndarray,
                  counts: np.ndarray, spacing: float, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``counts[i]`` child cells inside each parent cell i: cells, their parent, their seed."""
    cells, owner, seeds = [], [], []
    for i, polygon in enumerate(parents):
        seed, parts = _split(polygon, doors[door_parent == i], int(counts[i]), spacing, rng)
        for point, part in zip(seed, parts, strict=True):
            if not part.is_empty:
                cells.append(part)
                owner.append(i)
                seeds.append(point)
    return np.array(cells, dtype=object), np.array(owner), np.array(seeds)


def _keep_used(used: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Drop cells that ended up with no face; return the old-to-new index map first."""
    remap = np.cumsum(used) - 1
    return (remap, *(a[used] for a in arrays))


def _rank_within(groups: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """1-based rank of each item by distance within its group."""
    order = np.lexsort((distance, groups))
    rank = np.empty(len(groups), np.int64)
    start = np.searchsorted(groups[order], groups[order], side="left")
    rank[order] = np.arange(len(groups)) - start + 1
    return rank


@dataclass
class _Cells:
    """Cells of every level, as indices into each other and into the faces."""

    faces: np.ndarray
    face_micro: np.ndarray
    micro_unit: np.ndarray
    micro_seed: np.ndarray
    unit_village: np.ndarray
    unit_seed: np.ndarray
    face_overlay: np.ndarray


def _draw_cells(spec: TownSpec, centres: np.ndarray, doors: np.ndarray,
                overlay: np.ndarray, rng: np.random.Generator) -> _Cells:
    villages = voronoi_cells(centres, spec.outline)
    door_village = _first_hit(shapely.STRtree(villages), doors)
    share = np.bincount(door_village, minlength=len(villages)) / max(1, len(doors))
    land = shapely.area(villages) / spec.outline.area
    unit_counts = _allocate(0.7 * share + 0.3 * land, UNITS_PER_TOWN, 3)
    units, unit_village, unit_seed = _cells_within(villages, doors, door_village, unit_counts,
                                                   200.0, rng)
    door_unit = _first_hit(shapely.STRtree(units), doors)
    micro_counts = np.clip(np.round(np.bincount(door_unit, minlength=len(units)) / 15), 2, 6)
    micros, micro_unit, micro_seed = _cells_within(units, doors, door_unit, micro_counts,
                                                   90.0, rng)
    faces, (face_micro, face_overlay) = tile([micros, overlay], spec.outline)
    faces = wiggle(faces, spec.outline, spec.seed, 11)
    remap, micro_unit, micro_seed = _keep_used(
        np.bincount(face_micro, minlength=len(micros)) > 0, micro_unit, micro_seed)
    face_micro = remap[face_micro]
    remap, unit_village, unit_seed = _keep_used(
        np.bincount(micro_unit, minlength=len(units)) > 0, unit_village, unit_seed)
    return _Cells(faces, face_micro, remap[micro_unit], micro_seed, unit_village, unit_seed,
                  face_overlay)


def _town_and_areas(spec: TownSpec, cells: _Cells, face_village: np.ndarray,
                    village_geoms: list[MultiPolygon], centres: np.ndarray
                    ) -> tuple[Grid, list[Grid], np.ndarray]:
    """The town, its areas in code order (P01 around the seat, then clockwise from north)
    and the area (position in that order) of every village."""
    grouping = _areas(village_geoms, centres)
    town = Grid(spec.code, spec.name, "town", None,
                union_by(cells.faces, np.zeros(len(cells.faces), np.int64), 1)[0])
    middle = np.array(town.geom.centroid.coords[0])
    geoms = union_by(cells.faces, grouping[face_village], int(grouping.max()) + 1)
    xy = np.array([g.centroid.coords[0] for g in geoms])
    rank = np.zeros(len(geoms), np.int64)
    rank[1:] = 1 + _bearing_rank(xy[1:], middle)
    areas: list[Grid] = [town] * len(geoms)  # placeholders, each replaced below
    for a, geom in enumerate(geoms):
        label = "中心" if a == 0 else _direction(xy[a], middle)
        areas[rank[a]] = Grid(f"{spec.code}P{rank[a] + 1:02d}", f"{spec.stem}{label}片区",
                              "area", spec.code, geom)
    return town, areas, rank[grouping]


def _village_numbers(settlements: list[Settlement], centres: np.ndarray,
                     area_of_village: np.ndarray) -> np.ndarray:
    """Position of each settlement in code order: communities 001… by distance from the
    seat, then villages 201… area by area."""
    seat_gap = np.linalg.norm(centres - centres[0], axis=1)
    community = np.array([s.kind == "community" for s in settlements])
    order = np.lexsort((seat_gap, area_of_village, ~community))
    number = np.empty(len(settlements), np.int64)
    number[order] = np.arange(len(settlements))
    return number


def _village_code(town_code: str, position: int, communities: int) -> str:
    number = position + 1 if position < communities else 201 + position - communities
    return f"{town_code}{number:03d}"


def _units_and_micros(cells: _Cells, centres: np.ndarray, villages: list[Grid],
                      village_no: np.ndarray) -> tuple[list[Grid], list[Grid]]:
    """Unit and micro grids in cell order, numbered outwards from their village centre."""
    face_unit = cells.micro_unit[cells.face_micro]
    unit_no = _rank_within(cells.unit_village, np.linalg.norm(
        cells.unit_seed - centres[cells.unit_village], axis=1))
    micro_no = _rank_within(cells.micro_unit, np.linalg.norm(
        cells.micro_seed - cells.unit_seed[cells.micro_unit], axis=1))
    unit_geoms = union_by(cells.faces, face_unit, len(cells.unit_village))
    micro_geoms = union_by(cells.faces, cells.face_micro, len(cells.micro_unit))
    units = []
    for v, n, geom in zip(cells.unit_village, unit_no, unit_geoms, strict=True):
        village = villages[village_no[v]]
        units.append(Grid(f"{village.code}{n:03d}", f"{village.name}第{n}网格", "unit",
                          village.code, geom))
    micros = [Grid(f"{units[u].code}{n:02d}", f"{units[u].name}{n}号微网格", "micro",
                   units[u].code, geom)
              for u, n, geom in zip(cells.micro_unit, micro_no, micro_geoms, strict=True)]
    return units, micros


def build_hierarchy(spec: TownSpec, valleys: Valleys, doors: np.ndarray, overlay: np.ndarray,
                    rng: np.random.Generator) -> Hierarchy:
    """The basic grids of one town with codes, names and households. ``overlay`` is an
    independent tiling (the police grids' cells), drawn on the same faces so that both
    cover exactly the same town; its final shapes end up in ``overlay``."""
    settlements = valleys.centres
    centres = np.array([[s.x, s.y] for s in settlements])
    cells = _draw_cells(spec, centres, doors, overlay, rng)
    face_village = cells.unit_village[cells.micro_unit[cells.face_micro]]
    village_geoms = union_by(cells.faces, face_village, len(settlements))
    town, areas, area_of_village = _town_and_areas(spec, cells, face_village, village_geoms,
                                                   centres)
    village_no = _village_numbers(settlements, centres, area_of_village)
    communities = sum(s.kind == "community" for s in settlements)
    villages: list[Grid] = [town] * len(settlements)  # placeholders, each replaced below
    for v, settlement in enumerate(settlements):
        villages[village_no[v]] = Grid(
            _village_code(spec.code, int(village_no[v]), communities), settlement.name,
            "village", areas[area_of_village[v]].code, village_geoms[v])
    units, micros = _units_and_micros(cells, centres, villages, village_no)
    door_micro = _first_hit(shapely.STRtree([m.geom for m in micros]), doors)
    _count_people(units, micros, cells.micro_unit, door_micro, rng)
    in_order = np.argsort(village_no)
    return Hierarchy(
        town=town, areas=areas, villages=villages,
        village_names=[settlements[v].name for v in in_order],
        village_stems=[settlements[v].stem for v in in_order],
        units=sorted(units, key=lambda u: u.code), micros=sorted(micros, key=lambda m: m.code),
        door_village=village_no[cells.unit_village[cells.micro_unit[door_micro]]], dedicated=[],
        overlay=union_by(cells.faces, cells.face_overlay, len(overlay)))


def _count_people(units: list[Grid], micros: list[Grid], micro_unit: np.ndarray,
                  door_micro: np.ndarray, rng: np.random.Generator) -> None:
    """Households from door plates (some plates hold two or three households), people from
    households; every level up is the sum of the level below."""
    doors = np.bincount(door_micro, minlength=len(micros))
    households = np.round(doors * rng.uniform(1.3, 1.9, len(micros))).astype(np.int64)
    people = np.round(households * rng.uniform(2.6, 3.4, len(micros))).astype(np.int64)
    for micro, h, p in zip(micros, households, people, strict=True):
        micro.households, micro.population = int(h), int(p)
    unit_households = np.bincount(micro_unit, households, len(units)).astype(np.int64)
    unit_people = np.bincount(micro_unit, people, len(units)).astype(np.int64)
    area = np.array([u.geom.area for u in units])
    score = (np.argsort(np.argsort(unit_households)) + np.argsort(np.argsort(area))) / len(units)
    cut = np.quantile(score, [1 / 3, 2 / 3])
    for unit, h, p, sc in zip(units, unit_households, unit_people, score, strict=True):
        unit.households, unit.population = int(h), int(p)
        unit.difficulty = "A" if sc > cut[1] else ("B" if sc > cut[0] else "C")


def sum_people(hierarchy: Hierarchy) -> None:
    """Villages, areas and the town count the households of their basic unit grids."""
    for parents, children in ((hierarchy.villages, hierarchy.units),
                              (hierarchy.areas, hierarchy.villages),
                              ([hierarchy.town], hierarchy.areas)):
        for parent in parents:
            members = [c for c in children if c.parent_code == parent.code]
            parent.households = sum(c.households or 0 for c in members)
            parent.population = sum(c.population or 0 for c in members)
