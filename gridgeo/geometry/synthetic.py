"""A generated county of Voronoi grids and police grids, for tests and benchmarks.

Unit grids are the Voronoi cells of random points clipped to a rectangle in the
metric CRS; villages, areas and towns are exact unions of their children, so a
correct topology check finds nothing in it until a test breaks something on purpose.
Police grids are the Voronoi cells of other points, so their boundaries cut the
governance grids as real ones do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg
import shapely
from numpy.typing import NDArray

from gridgeo.geometry.crs import STORAGE_SRID, transform
from gridgeo.geometry.layer import Layer
from gridgeo.geometry.polygonal import as_multipolygons

# Centre of the demo town (112.3°E 34.1°N) in EPSG:4546, the Gauss–Krüger zone 111°E.
CENTRE_4546 = (619_950.0, 3_774_400.0)
UNIT_AREA_M2 = 250_000.0


@dataclass(frozen=True)
class GeneratedCounty:
    """Every governance grid (levels town to unit) and police grid, in ``srid``."""

    srid: int
    grids: Layer  # attributes: level, parent_code, name
    police: Layer  # attributes: station_code, name
    bounds: tuple[float, float, float, float]

    def level(self, level: str) -> Layer:
        return self.grids.subset(np.flatnonzero(self.grids.attributes["level"] == level))


def voronoi_cells(n: int, bounds: tuple[float, float, float, float],
                  rng: np.random.Generator) -> tuple[NDArray[np.object_], NDArray[np.float64]]:
    """``n`` Voronoi cells covering ``bounds`` exactly, and their seed points."""
    x0, y0, x1, y1 = bounds
    seeds = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    frame = shapely.box(*bounds)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                       extend_to=frame))
    cells = shapely.intersection(cells, frame)
    # voronoi_polygons returns cells in its own order: put them back in seed order.
    order = shapely.STRtree(cells).query(shapely.points(seeds), predicate="intersects")
    first = np.unique(order[0], return_index=True)[1]
    by_seed = np.empty(n, dtype=object)
    by_seed[order[0][first]] = cells[order[1][first]]
    return by_seed, seeds


def nearest(points: NDArray[np.float64], seeds: NDArray[np.float64]) -> NDArray[np.intp]:
    """For each point, the index of the nearest seed."""
    tree = shapely.STRtree(shapely.points(seeds))
    found = tree.query_nearest(shapely.points(points), all_matches=False)
    out = np.empty(len(points), dtype=np.intp)
    out[found[0]] = found[1]
    return out


def _group_union(geoms: NDArray[np.object_], groups: NDArray[np.intp],
                 size: int) -> NDArray[np.object_]:
    order = np.argsort(groups, kind="stable")
    cuts = np.searchsorted(groups[order], np.arange(size + 1))
    return np.array([shapely.coverage_union_all(geoms[order[cuts[i]:cuts[i + 1]]])
                     for i in range(size)], dtype=object)


def _renumber(groups: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Dense group numbers (empty groups dropped) and the kept original numbers."""
    kept, dense = np.unique(groups, return_inverse=True)
    return dense.astype(np.intp), kept.astype(np.intp)


def _rank_within(parent: NDArray[np.intp]) -> NDArray[np.intp]:
    """1-based rank of each child among the children of its parent, in index order."""
    order = np.argsort(parent, kind="stable")
    starts = np.searchsorted(parent[order], parent[order])
    rank = np.empty(len(parent), dtype=np.intp)
    rank[order] = np.arange(len(parent)) - starts + 1
    return rank


def generate_county(n_units: int, n_police: int, seed: int = 1, county_code: str = "410399",
                    srid: int = 4546) -> GeneratedCounty:
    """A county of ``n_units`` unit grids (about 10 per village) and ``n_police`` police grids."""
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n_units * UNIT_AREA_M2))
    cx, cy = CENTRE_4546
    bounds = (round(cx - side / 2), round(cy - side / 2),
              round(cx + side / 2), round(cy + side / 2))
    units, _ = voronoi_cells(n_units, bounds, rng)
    n_villages = max(1, round(n_units / 10))
    n_areas = max(1, round(n_villages / 8))
    n_towns = max(1, min(99, round(n_areas / 3)))
    village_seeds = rng.uniform(bounds[:2], bounds[2:], (n_villages, 2))
    area_seeds = rng.uniform(bounds[:2], bounds[2:], (n_areas, 2))
    town_seeds = rng.uniform(bounds[:2], bounds[2:], (n_towns, 2))

    unit_village, village_ids = _renumber(nearest(shapely.get_coordinates(
        shapely.centroid(units)), village_seeds))
    village_area, area_ids = _renumber(nearest(village_seeds[village_ids], area_seeds))
    area_town, town_ids = _renumber(nearest(area_seeds[area_ids], town_seeds))
    villages = _group_union(units, unit_village, len(village_ids))
    areas = _group_union(villages, village_area, len(area_ids))
    towns = _group_union(areas, area_town, len(town_ids))
    village_town = area_town[village_area]

    town_codes = np.array([f"{county_code}{100 + t:03d}" for t in range(len(towns))], dtype=object)
    area_rank, village_rank, unit_rank = (_rank_within(area_town), _rank_within(village_town),
                                          _rank_within(unit_village))
    if area_rank.max() > 99 or village_rank.max() > 399 or unit_rank.max() > 999:
        raise ValueError("too many children for the code layout; use fewer units per town")
    area_codes = np.array([f"{town_codes[t]}P{r:02d}" for t, r in zip(area_town, area_rank,
                                                                       strict=True)], dtype=object)
    village_codes = np.array([f"{town_codes[t]}{r:03d}" for t, r in zip(
        village_town, village_rank, strict=True)], dtype=object)
    unit_codes = np.array([f"{village_codes[v]}{r:03d}" for v, r in zip(
        unit_village, unit_rank, strict=True)], dtype=object)

    codes = np.concatenate([town_codes, area_codes, village_codes, unit_codes])
    parents = np.concatenate([np.full(len(towns), None, dtype=object), town_codes[area_town],
                              area_codes[village_area], village_codes[unit_village]])
    levels = np.repeat(np.array(["town", "area", "village", "unit"], dtype=object),
                       [len(towns), len(areas), len(villages), len(units)])
    names = np.array([f"{lv}-{c[-3:]}" for lv, c in zip(levels, codes, strict=True)], dtype=object)
    grids = Layer(srid, codes, np.concatenate([towns, areas, villages, units]),
                  {"level": levels, "parent_code": parents, "name": names})
    police = _police_grids(n_police, bounds, rng, county_code, srid)
    return GeneratedCounty(srid, grids, police, bounds)


def _police_grids(n: int, bounds: tuple[float, float, float, float], rng: np.random.Generator,
                  county_code: str, srid: int) -> Layer:
    cells, seeds = voronoi_cells(n, bounds, rng)
    n_stations = max(1, min(99, round(n / 120)))
    station = nearest(seeds, rng.uniform(bounds[:2], bounds[2:], (n_stations, 2)))
    station, _ = _renumber(station)
    rank = _rank_within(station)
    if rank.max() > 999:
        raise ValueError("too many police grids per station for the code layout")
    stations = np.array([f"{county_code}J{s + 1:02d}" for s in station], dtype=object)
    codes = np.array([f"{st}{r:03d}" for st, r in zip(stations, rank, strict=True)], dtype=object)
    names = np.array([f"警格{c[-5:]}" for c in codes], dtype=object)
    return Layer(srid, codes, cells, {"station_code": stations, "name": names})


def storage_ewkb(geoms: NDArray[np.object_], srid: int) -> NDArray[np.object_]:
    """Hex EWKB in EPSG:4490 as MultiPolygons, ready for COPY into a gridgeo table."""
    moved = shapely.set_srid(as_multipolygons(transform(geoms, srid, STORAGE_SRID)),
                             STORAGE_SRID)
    return shapely.to_wkb(moved, hex=True, include_srid=True)  # type: ignore[no-any-return]


def load_county(conn: psycopg.Connection, county: GeneratedCounty) -> None:
    """Insert the county (stations, officers, police grids, grids) in one transaction."""
    police, grids = county.police, county.grids
    stations = sorted(set(police.attributes["station_code"]))
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO gridgeo.departments (code, name, kind) VALUES (%s, %s, 'police_station')"
            " ON CONFLICT (code) DO NOTHING", [(s, f"派出所{s[-2:]}") for s in stations])
        with cur.copy("COPY gridgeo.police_grids (code, name, station_code, geom)"
                      " FROM STDIN") as copy:
            for row in zip(police.codes, police.attributes["name"],
                           police.attributes["station_code"],
                           storage_ewkb(police.geoms, county.srid), strict=True):
                copy.write_row(row)
        with cur.copy("COPY gridgeo.staff (staff_no, name, role, work_phone, department_code)"
                      " FROM STDIN") as copy:
            for i, (code, station) in enumerate(zip(police.codes, police.attributes[
                    "station_code"], strict=True)):
                copy.write_row((f"P{code}", f"民警{i + 1}", "police_officer",
                                f"0379-{6000000 + i}", station))
        cur.execute("INSERT INTO gridgeo.police_grid_assignments (police_grid_code, staff_id)"
                    " SELECT substr(s.staff_no, 2), s.id FROM gridgeo.staff s"
                    " JOIN gridgeo.police_grids p ON p.code = substr(s.staff_no, 2)"
                    " WHERE s.staff_no LIKE 'P%%'")
        with cur.copy("COPY gridgeo.grids (code, name, level, kind, parent_code, village_code,"
                      " geom) FROM STDIN") as copy:
            for code, name, level, parent, wkb in zip(
                    grids.codes, grids.attributes["name"], grids.attributes["level"],
                    grids.attributes["parent_code"], storage_ewkb(grids.geoms, county.srid),
                    strict=True):
                village = code[:12] if level in ("village", "unit", "micro") else None
                copy.write_row((code, name, level, "basic", parent, village, wkb))
