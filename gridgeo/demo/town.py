"""One demo town, generated from its spec into rows ready for COPY.

The rows carry local references (staff, door plates, road nodes) that the loader turns
into database ids, and leave county-wide numbers (adit numbers, case numbers) to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from gridgeo.demo import names
from gridgeo.demo.addresses import AddressBook, Doors, number_doors, place_doors
from gridgeo.demo.county import DemGrid, TownSpec
from gridgeo.demo.dedicated import add_dedicated
from gridgeo.demo.geo import to_ewkb
from gridgeo.demo.greenhouses import Greenhouses, place_greenhouses
from gridgeo.demo.hierarchy import Hierarchy, build_hierarchy, sum_people
from gridgeo.demo.incidents import Incident, Sites, generate_incidents
from gridgeo.demo.lanes import RoadLine, draw_roads
from gridgeo.demo.mines import Adit, choose_mine_zone, place_adits
from gridgeo.demo.network import RoadGraph, build_graph
from gridgeo.demo.people import staff_town
from gridgeo.demo.police import PoliceCells, draw_police_cells, name_police_grids
from gridgeo.demo.terrain import Terrain, build_terrain
from gridgeo.demo.valleys import Valleys, plan_valleys

TIME_ZONE = ZoneInfo("Asia/Shanghai")  # the demo town is in Henan: its deployment's default zone


def reference_time(day: date) -> datetime:
    """The demo's "now": the start of its reference day in the town's zone. Every time in
    the town (reports, inspections, scans) is drawn before it, so the same seed and day
    always give the same data."""
    return datetime(day.year, day.month, day.day, tzinfo=TIME_ZONE)


# The day the tests pin (a Friday); `gridgeo demo` uses the day it runs, so a new user sees
# a live town (cases reported this week, some near their deadline, some overdue).
REFERENCE_DAY = date(2026, 11, 20)
REFERENCE = reference_time(REFERENCE_DAY)
GRIDS_VALID_FROM = datetime(2026, 1, 1, tzinfo=TIME_ZONE)
# Per settlement kind: extra valley-floor half-width (m), its reach (m), settled radius (m).
_SETTLEMENT = {"seat": (350.0, 1100.0, 900.0), "community": (280.0, 700.0, 600.0),
               "village": (240.0, 650.0, 450.0), "hamlet": (120.0, 350.0, 200.0)}


@dataclass
class TownRows:
    """A generated town: rows per table and its window of the county DEM."""

    code: str
    name: str
    dem_row: int
    dem_col: int
    elevation: np.ndarray
    inside: np.ndarray
    gates: np.ndarray
    nodes: np.ndarray
    seconds: float = 0.0  # generation time
    departments: list[tuple] = field(default_factory=list)
    staff: list[tuple] = field(default_factory=list)
    grids: list[tuple] = field(default_factory=list)
    grid_roles: list[tuple] = field(default_factory=list)
    police_grids: list[tuple] = field(default_factory=list)
    police_roles: list[tuple] = field(default_factory=list)
    roads: list[tuple] = field(default_factory=list)
    addresses: list[tuple] = field(default_factory=list)
    greenhouses: list[tuple] = field(default_factory=list)
    adits: list[tuple] = field(default_factory=list)
    incidents: list[tuple] = field(default_factory=list)


def _settlements(valleys: Valleys) -> tuple[np.ndarray, np.ndarray]:
    """Centres and (spread, reach, radius) of every settlement, the seat first."""
    places = [*valleys.centres, *valleys.hamlets]
    kinds = ["seat", *(p.kind for p in places[1:])]
    return (np.array([[p.x, p.y] for p in places]),
            np.array([_SETTLEMENT[k] for k in kinds]))


class _Steps:
    """Times each step and reports it when a progress callback is given."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self.progress = progress
        self.number = 0
        self.start = time.perf_counter()

    def done(self, what: str) -> None:
        self.number += 1
        now = time.perf_counter()
        if self.progress:
            self.progress(f"[{self.number}/{STEPS + 2}] {what} ({now - self.start:.1f} s)")
        self.start = now


@dataclass
class _Work:
    """One town in the making: what each step leaves for the next ones."""

    spec: TownSpec
    grid: DemGrid
    county_seed: int
    rng: np.random.Generator
    reference: datetime
    valleys: Valleys = field(init=False)
    centres: np.ndarray = field(init=False)
    terrain: Terrain = field(init=False)
    settled: Polygon | MultiPolygon = field(init=False)
    zone: Polygon | None = field(init=False)
    roads: list[RoadLine] = field(init=False)
    graph: RoadGraph = field(init=False)
    doors: Doors = field(init=False)
    police: PoliceCells = field(init=False)
    hierarchy: Hierarchy = field(init=False)
    adits: list[Adit] = field(init=False)
    book: AddressBook = field(init=False)
    houses: Greenhouses = field(init=False)
    rows: TownRows = field(init=False)


def _terrain(work: _Work) -> str:
    spec = work.spec
    work.valleys = plan_valleys(spec, work.rng)
    work.centres, kind = _settlements(work.valleys)
    work.settled = shapely.union_all(shapely.buffer(shapely.points(work.centres), kind[:, 2]))
    terrain = build_terrain(work.grid, work.grid.window(spec.outline.bounds), work.county_seed,
                            [v.line for v in work.valleys.valleys], work.centres, kind[:, 0],
                            kind[:, 1])
    work.terrain = terrain
    work.zone = (choose_mine_zone(spec.outline, terrain, work.centres[0], work.rng)
                 if spec.mining else None)
    rows, cols = np.indices(terrain.elevation.shape)
    pixel_xy = terrain.pixel_centres(rows.ravel(), cols.ravel())
    inside = shapely.contains_xy(spec.outline, pixel_xy[:, 0], pixel_xy[:, 1])
    work.rows = TownRows(spec.code, spec.name, terrain.row, terrain.col, terrain.elevation,
                         inside.reshape(terrain.elevation.shape),
                         np.array([[g.x, g.y] for g in spec.gates]).reshape(-1, 2),
                         np.empty((0, 2)))
    return (f"terrain: {int(inside.sum()):,} DEM pixels, {float(terrain.elevation.min()):.0f}"
            f"–{float(terrain.elevation.max()):.0f} m")


def _roads(work: _Work) -> str:
    work.roads = draw_roads(work.valleys, work.terrain, work.spec.outline, work.zone, work.rng)
    graph = work.graph = build_graph(work.roads, work.terrain, work.rng)
    work.rows.nodes = graph.nodes
    geoms = to_ewkb(graph.geoms)
    work.rows.roads = [
        (graph.name[i], graph.road_class[i], bool(graph.oneway[i]), int(graph.source[i]),
         int(graph.target[i]), float(graph.cost[i]), float(graph.reverse_cost[i]),
         round(float(graph.walk_cost[i]), 1), round(float(graph.walk_reverse_cost[i]), 1),
         geoms[i]) for i in range(len(geoms))]
    return (f"roads: {len(geoms):,} edges, {len(graph.nodes):,} nodes, "
            f"{int(graph.oneway.sum())} one-way")


def _doors(work: _Work) -> str:
    work.doors = place_doors(work.roads, work.settled, work.spec.outline, work.rng)
    return f"door plates: {len(work.doors.xy):,} positions"


def _grids(work: _Work) -> str:
    work.police = draw_police_cells(work.spec, work.doors.xy, work.rng)
    h = work.hierarchy = build_hierarchy(work.spec, work.valleys, work.doors.xy,
                                         work.police.cells, work.rng)
    sum_people(h)
    return (f"grids: {len(h.areas)} areas, {len(h.villages)} villages, {len(h.units)} unit "
            f"grids, {len(h.micros)} micro grids, {h.town.households:,} households")


def _dedicated(work: _Work) -> str:
    h = work.hierarchy
    add_dedicated(h, work.roads, work.zone, work.terrain, work.spec.stem, work.rng)
    mine_grids = [g for g in h.dedicated if g.dedicated_type == "mine_area"]
    work.adits = place_adits(mine_grids, work.terrain, work.spec.name, work.reference, work.rng)
    _grid_rows(work.rows, h)
    _adit_rows(work.rows, work.adits)
    return f"dedicated grids and adits: {len(h.dedicated)} dedicated grids, {len(work.adits)} adits"


def _places(work: _Work) -> str:
    h = work.hierarchy
    work.book = number_doors(work.doors, h.door_village, [v.code for v in h.villages],
                             h.village_names, work.spec.name)
    _address_rows(work.rows, work.book, work.doors.xy, work.spec.name)
    avoid = [g.geom for g in h.dedicated if g.dedicated_type != "mine_area"]
    work.houses = place_greenhouses(work.roads, work.graph.geoms, avoid, work.spec.outline,
                                    work.terrain, work.reference, work.rng)
    _greenhouse_rows(work.rows, work.houses, h)
    return f"addresses and greenhouses: {len(work.book.code):,}, {len(work.houses.geoms):,}"


def _police(work: _Work) -> str:
    stations, beats = name_police_grids(work.spec, work.police, work.hierarchy.overlay,
                                        work.rng)
    people = staff_town(work.spec, work.hierarchy, stations, beats, work.rng)
    geoms = to_ewkb([p.geom for p in beats])
    work.rows.police_grids = [(p.code, p.name, p.station_code, g)
                              for p, g in zip(beats, geoms, strict=True)]
    work.rows.departments = [(d.code, d.name, d.kind, d.parent_code)
                             for d in people.departments]
    work.rows.staff = [(s.staff_no, s.name, s.role, s.work_phone, s.department_code)
                       for s in people.staff]
    work.rows.grid_roles, work.rows.police_roles = people.grid_roles, people.police_roles
    return (f"police and people: {len(stations)} stations, {len(beats)} police grids, "
            f"{len(people.departments)} departments, {len(people.staff)} staff")


def _incidents(work: _Work) -> str:
    book, houses = work.book, work.houses
    suspicious = [i for i, s in enumerate(houses.status)
                  if s in ("suspected_conversion", "converted_to_housing")]
    sites = Sites(work.doors.xy, book.full_address,
                  [f"{v}{r}{n}" for v, r, n in zip(book.village, book.road, book.house_number,
                                                   strict=True)],
                  np.array([[a.x, a.y] for a in work.adits]).reshape(-1, 2),
                  [a.name for a in work.adits],
                  shapely.get_coordinates(shapely.point_on_surface(houses.geoms[suspicious])))
    incidents = generate_incidents(sites, work.spec.name, work.reference, work.spec.mining,
                                   work.rng)
    _incident_rows(work.rows, incidents)
    return f"incidents: {len(incidents):,}"


_STEP_FUNCTIONS = (_terrain, _roads, _doors, _grids, _dedicated, _places, _police, _incidents)
STEPS = len(_STEP_FUNCTIONS)


def generate_town(spec: TownSpec, grid: DemGrid, county_seed: int,
                  progress: Callable[[str], None] | None = None,
                  reference: datetime = REFERENCE) -> TownRows:
    """Everything in one town, deterministic in its spec and reference time."""
    started = time.perf_counter()
    work = _Work(spec, grid, county_seed, np.random.default_rng(spec.seed), reference)
    steps = _Steps(progress)
    for step in _STEP_FUNCTIONS:
        steps.done(step(work))
    work.rows.seconds = time.perf_counter() - started
    return work.rows


def _grid_rows(town: TownRows, hierarchy: Hierarchy) -> None:
    grids = hierarchy.all_grids()
    geoms = to_ewkb([g.geom for g in grids])
    town.grids = [(g.code, g.name, g.level, g.kind, g.dedicated_type, g.parent_code,
                   g.village_code, g.difficulty, g.households, g.population, GRIDS_VALID_FROM,
                   geom) for g, geom in zip(grids, geoms, strict=True)]


def _adit_rows(town: TownRows, adits: list[Adit]) -> None:
    geoms = to_ewkb(shapely.points([[a.x, a.y] for a in adits]) if adits else [])
    town.adits = [(a.name, a.mineral, a.seal_method, a.sealed_on, a.status,
                   a.patrol_frequency_days, a.last_inspected_at, a.responsible_unit,
                   a.elevation_m, a.slope_deg, g) for a, g in zip(adits, geoms, strict=True)]


def _address_rows(town: TownRows, book: AddressBook, xy: np.ndarray, township: str) -> None:
    geoms = to_ewkb(shapely.points(xy))
    town.addresses = [
        (book.code[i], names.PROVINCE, names.CITY, names.COUNTY, township, book.village[i],
         book.village_code[i], book.road[i], book.house_number[i], book.full_address[i],
         geoms[i]) for i in range(len(geoms))]


def _greenhouse_rows(town: TownRows, houses: Greenhouses, hierarchy: Hierarchy) -> None:
    """gh_no: the code of the village the greenhouse stands in + DP + a number in it."""
    village_geoms = [v.geom for v in hierarchy.villages]
    probe = shapely.point_on_surface(houses.geoms)
    found, where = shapely.STRtree(village_geoms).query(probe, predicate="intersects")
    village = np.full(len(probe), len(village_geoms))
    np.minimum.at(village, found, where)
    order = np.lexsort((np.arange(len(probe)), village))
    sequence = np.empty(len(probe), np.int64)
    sequence[order] = np.arange(len(probe)) - np.searchsorted(village[order], village[order]) + 1
    codes = [v.code for v in hierarchy.villages]
    geoms = to_ewkb(houses.geoms)
    town.greenhouses = [
        (f"{codes[village[i]]}DP{sequence[i]:04d}", houses.operator_name[i],
         houses.operator_phone[i], houses.operator_id_number[i], houses.use[i],
         houses.status[i], int(houses.built_year[i]), houses.last_scanned_at[i], geoms[i])
        for i in range(len(geoms))]


def _incident_rows(town: TownRows, incidents: list[Incident]) -> None:
    geoms = to_ewkb(shapely.points([[i.x, i.y] for i in incidents]))
    town.incidents = [
        (i.category_code, i.title, i.description, i.colour, i.state, i.source, reported,
         accepted, dispatched, resolved, closed, i.updated_at, i.agency_responsible,
         i.address_text, i.door, *i.reporter, g, verified, i.state_changed_at)
        for i, g in zip(incidents, geoms, strict=True)
        for reported, accepted, dispatched, resolved, verified, closed in [i.times]]
