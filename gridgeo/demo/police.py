"""Police grids (警格), drawn by the police independently of the town's grids.

They tile the town like the governance grids do, but from seeds of their own, so their
boundaries cross the grid boundaries instead of following them: the mismatch 警网融合 has
to reconcile. (Both are noded together so they cover exactly the same town.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from shapely.geometry import MultiPolygon

from gridgeo.demo.county import COUNTY_CODE, TownSpec
from gridgeo.demo.partition import area_samples, voronoi_cells, weighted_kmeans

STATIONS_PER_TOWN = 3


@dataclass
class PoliceGrid:
    code: str
    name: str
    station_code: str
    geom: MultiPolygon


@dataclass
class Station:
    code: str
    name: str


def station_slot(town_index: int, local: int) -> tuple[int, int]:
    """Station number (01–99) and the first police-grid sequence for a town's station.

    The police-grid code has two digits for the station, so beyond 33 towns the numbers
    are reused by stations of later towns, whose grids continue at sequence +100.
    """
    slot = STATIONS_PER_TOWN * town_index + local
    return slot % 99 + 1, 100 * (slot // 99) + 1


@dataclass
class PoliceCells:
    """Where the police put their 15–25 beats: seeds and straight Voronoi cells."""

    seeds: np.ndarray
    cells: np.ndarray


def draw_police_cells(spec: TownSpec, doors: np.ndarray, rng: np.random.Generator
                      ) -> PoliceCells:
    """Seeds of their own (half by population, half by land), cells clipped to the town."""
    count = int(rng.integers(15, 26))
    land = area_samples(spec.outline, 250.0)
    points = np.vstack([doors, land])
    weight = np.concatenate([np.ones(len(doors)), np.full(len(land), len(doors) / len(land))])
    seeds = weighted_kmeans(points, weight, count, rng)
    return PoliceCells(seeds, voronoi_cells(seeds, spec.outline))


def name_police_grids(spec: TownSpec, drawn: PoliceCells, geoms: list[MultiPolygon],
                      rng: np.random.Generator) -> tuple[list[Station], list[PoliceGrid]]:
    """Group the final police grids into three stations' territories and code them."""
    seeds, count = drawn.seeds, len(drawn.seeds)
    territory = weighted_kmeans(seeds, np.ones(count), STATIONS_PER_TOWN, rng)
    station_of = np.argmin(np.linalg.norm(seeds[:, None] - territory[None], axis=2), axis=1)
    seat = np.array(spec.outline.centroid.coords[0])
    station_order = np.argsort(np.linalg.norm(territory - seat, axis=1), kind="stable")
    stations, grids = [], []
    ordinal = ("", "第二", "第三")
    for local, s in enumerate(station_order):
        number, first = station_slot(spec.index, local)
        station = Station(f"{COUNTY_CODE}PS{number:02d}", f"{spec.name}{ordinal[local]}派出所")
        stations.append(station)
        near = np.flatnonzero(station_of == s)
        near = near[np.argsort(np.linalg.norm(seeds[near] - territory[s], axis=1), kind="stable")]
        members = [int(g) for g in near if not geoms[g].is_empty]
        for k, g in enumerate(members):
            code = f"{COUNTY_CODE}J{number:02d}{first + k:03d}"
            grids.append(PoliceGrid(code, f"{station.name}第{k + 1}警格", station.code, geoms[g]))
    return stations, grids
