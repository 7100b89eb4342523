"""The gold and molybdenum mining area and its sealed adits (封闭矿洞, 一洞一档)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from gridgeo.demo.hierarchy import Grid
from gridgeo.demo.sampling import pick, spread_out
from gridgeo.demo.terrain import Terrain

ADITS_PER_TOWN = 192
STEEP_DEG = 24.0  # adits are cut into slopes steeper than this (the check allows 20°)
_STATUS = (("sealed", 0.80), ("resealed", 0.09), ("suspected_reopened", 0.07),
           ("reopened", 0.04))
_SEALS = (("concrete_wall", 0.45), ("backfill", 0.25), ("blasting", 0.15),
          ("steel_gate", 0.12), ("other", 0.03))


def ellipse(centre: np.ndarray, a: float, b: float, angle: float) -> Polygon:
    t = np.linspace(0, 2 * math.pi, 73)[:-1]
    local = np.column_stack([a * np.cos(t), b * np.sin(t)])
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return Polygon(centre + local @ turn.T)


def choose_mine_zone(outline: Polygon, terrain: Terrain, seat: np.ndarray,
                     rng: np.random.Generator) -> Polygon | None:
    """A mountain block away from the valleys and the town seat, about 7 km²."""
    rows, cols = np.nonzero(terrain.valley_distance > 1100.0)
    xy = terrain.pixel_centres(rows, cols)
    inner = outline.buffer(-3000.0)
    ok = shapely.contains_xy(inner, xy[:, 0], xy[:, 1]) & (
        np.linalg.norm(xy - seat, axis=1) > 4000.0)
    if not ok.any():
        return None
    centre = xy[ok][rng.integers(ok.sum())]
    zone = ellipse(centre, 2000.0, 1200.0, rng.uniform(0, math.pi))
    return zone.intersection(outline.buffer(-1000.0))


@dataclass
class Adit:
    """One sealed adit; its number (county + KD + 4 digits) is given county-wide on loading."""

    x: float
    y: float
    name: str
    mineral: str
    seal_method: str
    sealed_on: date
    status: str
    patrol_frequency_days: int
    last_inspected_at: datetime | None
    responsible_unit: str
    elevation_m: float
    slope_deg: float


def _veins(zone: Polygon, rng: np.random.Generator, count: int = 4) -> list[LineString]:
    minx, miny, maxx, maxy = zone.bounds
    veins: list[LineString] = []
    while len(veins) < count:
        centre = rng.uniform([minx, miny], [maxx, maxy])
        if zone.contains(shapely.Point(centre)):
            angle = rng.uniform(0, math.pi)
            step = 2500.0 * np.array([math.cos(angle), math.sin(angle)])
            veins.append(LineString([centre - step, centre + step]))
    return veins






def _last_inspection(reference: datetime, frequency: int,
                     rng: np.random.Generator) -> datetime | None:
    """Most adits were inspected within their patrol cycle; about 30 % are overdue on the
    reference day (16 inspectors do not keep up), a few were never inspected."""
    draw = rng.random()
    if draw < 0.03:
        return None
    days = rng.uniform(frequency, 2.0 * frequency) if draw < 0.33 else \
        rng.uniform(0.2, frequency - 0.5)
    return reference - timedelta(seconds=int(days * 86400))


def place_adits(mine_grids: list[Grid], terrain: Terrain, town_name: str,
                reference: datetime, rng: np.random.Generator) -> list[Adit]:
    """Adits on steep slopes along ore veins inside the mine-area grids."""
    if not mine_grids:
        return []
    area = shapely.union_all([g.geom for g in mine_grids]).buffer(-20.0)
    veins = _veins(area, rng)
    rows, cols = np.nonzero(terrain.slope_deg > STEEP_DEG)
    xy = terrain.pixel_centres(rows, cols)
    inside = shapely.contains_xy(area, xy[:, 0], xy[:, 1])
    xy, rows, cols = xy[inside], rows[inside], cols[inside]
    gap = shapely.distance(shapely.points(xy), shapely.MultiLineString(veins))
    near = gap < 250.0
    if near.sum() < 3 * ADITS_PER_TOWN:
        near = gap < np.sort(gap)[min(len(gap) - 1, 3 * ADITS_PER_TOWN)] + 1.0
    chosen = spread_out(xy[near], ADITS_PER_TOWN, 45.0, rng)
    xy, rows, cols = xy[near][chosen], rows[near][chosen], cols[near][chosen]
    xy = xy + rng.uniform(-6.0, 6.0, xy.shape)  # still inside the same DEM pixel
    vein = np.argmin([shapely.distance(shapely.points(xy), v) for v in veins], axis=0)
    order = np.lexsort((xy[:, 0], -xy[:, 1]))
    status = pick(_STATUS, rng, len(xy))
    seal = pick(_SEALS, rng, len(xy))
    grid_of = shapely.STRtree([g.geom for g in mine_grids]).query_nearest(
        shapely.points(xy), all_matches=False)[1]
    adits = []
    for n, i in enumerate(order, start=1):
        grid = mine_grids[grid_of[i]]
        frequency = 15 if status[i] != "sealed" or rng.random() < 0.3 else 30
        adits.append(Adit(
            x=float(xy[i, 0]), y=float(xy[i, 1]),
            name=f"{grid.name.removesuffix('专属网格')}{n}号封闭矿洞",
            mineral="gold" if vein[i] % 2 == 0 else "molybdenum", seal_method=seal[i],
            sealed_on=date(2016, 1, 1) + timedelta(days=int(rng.integers(0, 3650))),
            status=status[i], patrol_frequency_days=frequency,
            last_inspected_at=_last_inspection(reference, frequency, rng),
            responsible_unit=f"{town_name}安全生产监督管理站",
            elevation_m=round(float(terrain.elevation[rows[i], cols[i]]), 1),
            slope_deg=round(float(terrain.slope_deg[rows[i], cols[i]]), 1)))
    return adits
