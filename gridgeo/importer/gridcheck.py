"""Imported grids checked together with the grids gridgeo already has: gaps, overlaps,
children outside their parent, missing parents (the grid-topology process's own check)."""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg
import shapely
from gridgeo_plugins.topology.codes import LEVELS
from gridgeo_plugins.topology.compute import check_topology
from pyproj import Transformer

from gridgeo.geometry.layer import Layer

from .prepare import PreparedLayer
from .problems import LayerProblem

# Row problems (geometry, code layout) are rejects already; these need several grids.
_KINDS = ("overlap", "gap", "outside_parent", "missing_parent", "dedicated_outside_village")
_COLUMNS = ("level", "kind", "parent_code", "village_code")


def _merged(conn: psycopg.Connection, layer: PreparedLayer, srid: int,
            earlier: list[PreparedLayer]) -> Layer:
    """This layer's grids, those of earlier grid layers of the same import (towns.shp
    before units.shp) and gridgeo's own, each code once, the newest winning."""
    fresh: dict[str, tuple[dict[str, Any], Any]] = {}
    for source in (*earlier, layer):
        for row, geom in zip(source.rows, source.geoms, strict=True):
            fresh[row["code"]] = (row, geom)
    # With retire_missing the grids the file lacks are deleted: check the import's alone.
    stored = [] if layer.mapping.retire_missing else conn.execute(
        "SELECT code, ST_AsBinary(ST_Transform(geom, %s)), level, kind, parent_code,"
        " village_code FROM gridgeo.grids WHERE NOT (code = ANY(%s))",
        (srid, list(fresh))).fetchall()
    to_metric = Transformer.from_crs(4490, srid, always_xy=True)

    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1]))

    lonlat = np.asarray([geom for _, geom in fresh.values()], dtype=object)
    new_geoms = shapely.transform(lonlat, move) if len(lonlat) else lonlat
    old_geoms = (shapely.from_wkb([bytes(r[1]) for r in stored]) if stored
                 else np.empty(0, dtype=object))
    attributes = {name: np.asarray([*(row.get(name) for row, _ in fresh.values()),
                                    *(r[2 + i] for r in stored)], dtype=object)
                  for i, name in enumerate(_COLUMNS)}
    return Layer(srid, np.asarray([*fresh, *(r[0] for r in stored)], dtype=object),
                 np.asarray([*new_geoms, *old_geoms], dtype=object), attributes)


def grid_problems(conn: psycopg.Connection, layer: PreparedLayer, srid: int,
                  earlier: list[PreparedLayer]) -> list[LayerProblem]:
    """Problems involving at least one imported grid, measured in the metric CRS."""
    if not layer.rows:
        return []
    levels = tuple(lv for lv in LEVELS if any(r.get("level") == lv for r in layer.rows))
    checked = tuple(lv for lv in levels if lv != "town")
    if not checked:
        return []
    imported = set(layer.keys())
    result = check_topology(_merged(conn, layer, srid, earlier), checked)
    return [LayerProblem(layer.report.name, p.kind.replace("_", " "), p.grid_codes, p.detail,
                         p.area_m2)
            for p in result.problems
            if p.kind in _KINDS and imported.intersection(p.grid_codes)]


def county_area(conn: psycopg.Connection, layers: list[PreparedLayer]) -> shapely.Geometry | None:
    """The county as its town grids cover it: imported ones and those already in gridgeo."""
    towns = [g for layer in layers if layer.target.name == "grids"
             for row, g in zip(layer.rows, layer.geoms, strict=True) if row.get("level") == "town"]
    imported = {row["code"] for layer in layers if layer.target.name == "grids"
                for row in layer.rows if row.get("level") == "town"}
    rows = conn.execute("SELECT code, ST_AsBinary(geom) FROM gridgeo.grids WHERE level = 'town'"
                        ).fetchall()
    towns += [shapely.from_wkb(bytes(r[1])) for r in rows if r[0] not in imported]
    return shapely.union_all(towns) if towns else None
