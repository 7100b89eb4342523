"""Agricultural greenhouses: rows of long, narrow sheds on the flat valley floors.

Greenhouses come in blocks of parallel sheds running away from a road, the way they are
built; a block is kept only clear of roads, other blocks and dedicated compounds, and a
shed only where the ground is nearly flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import shapely
from shapely.geometry import Polygon

from gridgeo.demo import names
from gridgeo.demo.lanes import RoadLine
from gridgeo.demo.sampling import pick
from gridgeo.demo.terrain import Terrain

GREENHOUSES_PER_TOWN = 3000
FLAT_DEG = 5.0  # every corner and the centre on ground flatter than this (the check is 6°)
_STATUS = (("in_use", 0.70), ("idle", 0.12), ("abandoned", 0.06), ("demolished", 0.065),
           ("suspected_conversion", 0.04), ("converted_to_housing", 0.015))
_USE = (("vegetables", 0.52), ("fruit", 0.15), ("mushrooms", 0.12), ("seedlings", 0.08),
        ("flowers", 0.06), ("other", 0.07))


@dataclass
class Greenhouses:
    geoms: np.ndarray
    status: list[str]
    use: list[str]
    built_year: np.ndarray
    last_scanned_at: list[datetime | None]
    operator_name: list[str]
    operator_phone: list[str]
    operator_id_number: list[str]


def _blocks(roads: list[RoadLine], rng: np.random.Generator, count: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Candidate blocks: the outline of each, and the corners of its sheds (k, 4, 2)."""
    lines = np.array([r.line for r in roads if r.road_class in ("county", "township",
                                                                  "village")])
    length = shapely.length(lines)
    which = rng.choice(len(lines), count, p=length / length.sum())
    at = rng.uniform(0.0, 1.0, count) * length[which]
    here = shapely.get_coordinates(shapely.line_interpolate_point(lines[which], at))
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(lines[which], at + 2.0))
    behind = shapely.get_coordinates(shapely.line_interpolate_point(lines[which], at - 2.0))
    along = ahead - behind
    along /= np.maximum(np.linalg.norm(along, axis=1, keepdims=True), 1e-9)
    away = np.column_stack([-along[:, 1], along[:, 0]]) * rng.choice([-1, 1], (count, 1))
    sheds = rng.integers(4, 15, count)
    width = rng.uniform(7.0, 10.0, count)
    gap = rng.uniform(2.0, 4.0, count)
    depth = rng.uniform(40.0, 80.0, count)
    setback = rng.uniform(9.0, 20.0, count)
    span = sheds * (width + gap) - gap
    blocks, corners = [], []
    for i in range(count):
        start = here[i] + away[i] * setback[i] - along[i] * span[i] / 2
        offsets = np.arange(sheds[i]) * (width[i] + gap[i])
        base = start + offsets[:, None] * along[i]
        shed = np.stack([base, base + along[i] * width[i],
                         base + along[i] * width[i] + away[i] * depth[i],
                         base + away[i] * depth[i]], axis=1)
        corners.append(shed)
        blocks.append([shed[0, 0], shed[-1, 1], shed[-1, 2], shed[0, 3]])
    return shapely.polygons(np.array(blocks)), np.array(corners, dtype=object)


def _flat(sheds: np.ndarray, terrain: Terrain) -> np.ndarray:
    probes = np.concatenate([sheds, sheds.mean(axis=1, keepdims=True)], axis=1)
    slope = terrain.slope_at(probes[..., 0].ravel(), probes[..., 1].ravel())
    return slope.reshape(len(sheds), 5).max(axis=1) < FLAT_DEG


def _clear_blocks(blocks: np.ndarray, fits: np.ndarray, rng: np.random.Generator) -> list[int]:
    """Blocks in random order, each kept unless it comes within 3 m of one already kept."""
    halo = shapely.buffer(blocks, 1.5)
    left, right = shapely.STRtree(halo).query(halo, predicate="intersects")
    clash: dict[int, list[int]] = {}
    for a, b in zip(left, right, strict=True):
        if a != b:
            clash.setdefault(int(a), []).append(int(b))
    kept: list[int] = []
    taken: set[int] = set()
    for i in rng.permutation(len(blocks)):
        if fits[i] and not taken.intersection(clash.get(int(i), ())):
            kept.append(int(i))
            taken.add(int(i))
    return kept


def place_greenhouses(roads: list[RoadLine], road_edges: np.ndarray, avoid: list[Polygon],
                      outline: Polygon, terrain: Terrain, reference: datetime,
                      rng: np.random.Generator, target: int = GREENHOUSES_PER_TOWN
                      ) -> Greenhouses:
    """About ``target`` greenhouses on flat valley floors beside the roads."""
    blocks, corners = _blocks(roads, rng, max(200, target // 2))
    fits = shapely.contains(outline.buffer(-100.0), blocks)
    near_road = shapely.STRtree(road_edges).query(blocks, predicate="dwithin", distance=6.0)[0]
    fits[near_road] = False
    if avoid:
        fits[shapely.STRtree(avoid).query(blocks, predicate="intersects")[0]] = False
    sheds = [np.array(list(corners[i]), dtype=np.float64) for i in _clear_blocks(blocks, fits,
                                                                                 rng)]
    sheds_all = np.concatenate(sheds) if sheds else np.empty((0, 4, 2))
    sheds_all = sheds_all[_flat(sheds_all, terrain)][:target]
    geoms = shapely.polygons(sheds_all)
    n = len(geoms)
    status = pick(_STATUS, rng, n)
    use = [("idle" if s in ("idle", "abandoned") else u)
           for s, u in zip(status, pick(_USE, rng, n), strict=True)]
    never = rng.random(n) < 0.15
    days = rng.uniform(0.0, 60.0, n)
    scanned = [None if skip else reference - timedelta(seconds=int(d * 86400))
               for skip, d in zip(never, days, strict=True)]
    return Greenhouses(
        geoms=geoms, status=status, use=use, built_year=rng.integers(2005, 2026, n),
        last_scanned_at=scanned,
        operator_name=[names.fake_resident(i + 1) for i in range(n)],
        operator_phone=names.fake_phones(rng, n), operator_id_number=names.fake_id_numbers(rng, n))
