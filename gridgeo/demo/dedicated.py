"""Dedicated grids (专属网格): enterprises, schools, the mine area… laid over basic grids.

Each lies strictly inside its village (3 m in from the boundary), is a unit-level grid
coded village 12 + 9xx, and does not overlap another dedicated grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from gridgeo.demo.hierarchy import Grid, Hierarchy
from gridgeo.demo.lanes import RoadLine
from gridgeo.demo.mines import ellipse
from gridgeo.demo.partition import as_multipolygon, polygonal
from gridgeo.demo.terrain import Terrain

DEDICATED_PER_TOWN = 28
_INDUSTRIES = ("农业开发有限公司", "食品加工有限公司", "建材有限公司", "木业有限公司",
               "果蔬专业合作社", "中药材种植专业合作社", "石材加工有限公司", "旅游开发有限公司",
               "物流有限公司", "香菇专业合作社")
_OTHER = ("敬老院", "加油站", "自来水厂", "污水处理站", "垃圾中转站")
_SIZES = {"enterprise": ((120, 260), (80, 180)), "school": ((120, 200), (90, 150)),
          "hospital": ((70, 130), (50, 90)), "market": ((100, 180), (60, 110)),
          "other": ((50, 140), (40, 100))}


@dataclass
class Compound:
    """What a dedicated grid is drawn around: a named site in one village."""

    kind: str
    name: str
    village: int


def _plan(hierarchy: Hierarchy, town_stem: str, mines: int,
          rng: np.random.Generator) -> list[Compound]:
    """The non-mine dedicated grids: schools, clinics, markets, enterprises and others."""
    big = np.argsort([-(v.households or 0) for v in hierarchy.villages], kind="stable")
    stems = hierarchy.village_stems
    plan = [Compound("school", f"{town_stem}镇第一初级中学", 0),
            Compound("school", f"{town_stem}镇中心小学", int(big[1])),
            Compound("hospital", f"{town_stem}镇卫生院", 0),
            Compound("market", f"{town_stem}镇农贸市场", int(big[1])),
            Compound("market", f"{stems[big[2]]}集贸市场", int(big[2])),
            Compound("hospital", f"{stems[big[3]]}中心卫生室", int(big[3]))]
    plan += [Compound("school", f"{stems[v]}小学", int(v)) for v in big[2:6]]
    others = max(0, DEDICATED_PER_TOWN - mines - 2 - len(plan))
    enterprises = others - 3
    for k in range(enterprises):
        v = int(rng.integers(len(stems)))
        plan.append(Compound("enterprise", f"{stems[v]}{_INDUSTRIES[k % len(_INDUSTRIES)]}", v))
    for k in range(others - enterprises):
        v = int(big[k % len(big)])
        plan.append(Compound("other", f"{stems[v]}{_OTHER[k % len(_OTHER)]}", v))
    return plan


def _rectangle(centre: np.ndarray, along: np.ndarray, width: float, depth: float) -> Polygon:
    across = np.array([-along[1], along[0]])
    corners = [centre + sx * along * width / 2 + sy * across * depth / 2
               for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return Polygon(corners)


def _site(compound: Compound, village: Grid, roads: list[RoadLine], taken: list[Polygon],
          rng: np.random.Generator) -> Polygon | None:
    inner = village.geom.buffer(-3.0)
    lines = [r.line for r in roads if r.road_class in ("county", "township", "village")
             and r.line.intersects(inner)]
    if not lines:
        return None
    (w0, w1), (d0, d1) = _SIZES[compound.kind]
    for _ in range(60):
        line = lines[rng.integers(len(lines))]
        at = rng.uniform(0.0, line.length)
        here = np.array(line.interpolate(at).coords[0])
        ahead = np.array(line.interpolate(min(line.length, at + 2.0)).coords[0])
        behind = np.array(line.interpolate(max(0.0, at - 2.0)).coords[0])
        along = (ahead - behind) / max(1e-9, np.linalg.norm(ahead - behind))
        width, depth = rng.uniform(w0, w1), rng.uniform(d0, d1)
        side = np.array([-along[1], along[0]]) * (1 if rng.random() < 0.5 else -1)
        shape = _rectangle(here + side * (depth / 2 + 8.0), along, width, depth)
        if inner.contains(shape) and not any(shape.distance(t) < 10.0 for t in taken):
            return shape
    return None


def _mountain_site(village: Grid, zone: Polygon | None, terrain: Terrain,
                   rng: np.random.Generator) -> Polygon | None:
    """A scenic area: high ground away from the valleys, clipped to its village."""
    inner = village.geom.buffer(-3.0)
    rows, cols = np.nonzero(terrain.valley_distance > 900.0)
    xy = terrain.pixel_centres(rows, cols)
    xy = xy[shapely.contains_xy(inner, xy[:, 0], xy[:, 1])]
    if zone is not None and len(xy):
        xy = xy[~shapely.contains_xy(zone.buffer(1500.0), xy[:, 0], xy[:, 1])]
    if not len(xy):
        return None
    centre = xy[rng.integers(len(xy))]
    shape = polygonal(ellipse(centre, 1200.0, 700.0, rng.uniform(0, math.pi)).intersection(inner))
    parts = shapely.get_parts(shape)
    return max(parts, key=lambda p: p.area) if len(parts) else None


def _mine_areas(hierarchy: Hierarchy, zone: Polygon | None) -> list[tuple[int, Polygon]]:
    if zone is None:
        return []
    pieces = []
    for v, village in enumerate(hierarchy.villages):
        parts = shapely.get_parts(polygonal(zone.intersection(village.geom.buffer(-3.0))))
        if len(parts):
            largest = max(parts, key=lambda p: p.area)
            if largest.area > 400_000.0:
                pieces.append((v, largest))
    return sorted(pieces, key=lambda p: -p[1].area)[:5]


def add_dedicated(hierarchy: Hierarchy, roads: list[RoadLine], zone: Polygon | None,
                  terrain: Terrain, town_stem: str, rng: np.random.Generator) -> None:
    """Draw the town's 28 dedicated grids into ``hierarchy.dedicated``."""
    found: list[tuple[int, str, str, Polygon]] = []
    for v, shape in _mine_areas(hierarchy, zone):
        found.append((v, "mine_area", f"{hierarchy.village_stems[v]}金钼矿区", shape))
    taken = [shape for *_, shape in found]
    for compound in _plan(hierarchy, town_stem, len(found), rng):
        shape = _site(compound, hierarchy.villages[compound.village], roads, taken, rng)
        if shape is not None:
            taken.append(shape)
            found.append((compound.village, compound.kind, compound.name, shape))
    for v in np.argsort([-v.geom.area for v in hierarchy.villages])[:2]:
        shape = _mountain_site(hierarchy.villages[v], zone, terrain, rng)
        if shape is not None and not any(shape.distance(t) < 10.0 for t in taken):
            taken.append(shape)
            found.append((int(v), "scenic_area", f"{hierarchy.village_stems[v]}山风景区", shape))
    difficulty = {"mine_area": "A", "scenic_area": "B", "school": "B"}
    sequence: dict[int, int] = {}
    for v, kind, name, shape in found:
        sequence[v] = sequence.get(v, 900) + 1
        village = hierarchy.villages[v]
        hierarchy.dedicated.append(Grid(
            f"{village.code}{sequence[v]}", f"{name}专属网格", "unit", village.code,
            as_multipolygon(shape), kind="dedicated", dedicated_type=kind,
            difficulty=difficulty.get(kind, "C")))
    hierarchy.dedicated.sort(key=lambda g: g.code)
