"""Imported grids checked together with the grids gridgeo already has: gaps, overlaps,
children outside their parent, missing parents (the grid-topology process's own check),
answered through the ``gridgeo_import_problems`` hook."""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg
import shapely
from pyproj import Transformer

from gridgeo.geometry.layer import Layer
from gridgeo.grid_codes import LEVELS
from gridgeo.importer.prepare import PreparedLayer
from gridgeo.importer.problems import LayerProblem, Reject
from gridgeo.importer.write import SAME_GEOMETRY_M

from .compute import check_topology

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
    """Problems involving at least one imported grid, measured in the metric CRS.

    A problem among grids gridgeo already holds exactly so (a gap an earlier import
    wrote with --accept-rejects) goes to the notes: an unchanged re-import is not
    refused for it. Grids whose parent was rejected make one problem per parent."""
    if layer.target.name != "grids" or not layer.rows:
        return []
    earlier = [p for p in earlier if p.target.name == "grids"]
    rejected = {r.key: r for p in [*earlier, layer] for r in p.report.rejects if r.key}
    levels = tuple(lv for lv in LEVELS if any(r.get("level") == lv for r in layer.rows))
    checked = tuple(lv for lv in levels if lv != "town")
    if not checked:
        return []
    imported = set(layer.keys())
    merged = _merged(conn, layer, srid, earlier)
    result = check_topology(merged, checked)
    found = [p for p in result.problems if p.kind in _KINDS and imported.intersection(p.grid_codes)]
    unchanged = _unchanged(conn, merged, imported, srid)
    name, problems = layer.report.name, []
    for p in found:
        if set(p.grid_codes) <= unchanged:
            area = f" ({p.area_m2:,.0f} m²)" if p.area_m2 is not None else ""
            layer.report.notes.append(
                f"{p.kind.replace('_', ' ')}{area} {', '.join(p.grid_codes)} is in gridgeo "
                "already, exactly so (accepted by an earlier import): not blocking this one")
        elif not (p.kind == "missing_parent" and p.parent_code in (rejected or {})):
            problems.append(LayerProblem(name, p.kind.replace("_", " "), p.grid_codes,
                                         p.detail, p.area_m2))
    return problems + _under_rejected(name, found, rejected or {})


def _under_rejected(name: str, found: list[Any], rejected: dict[str, Reject]
                    ) -> list[LayerProblem]:
    """One problem per rejected parent, naming the grids that hang under it."""
    children: dict[str, list[str]] = {}
    for p in found:
        if p.kind == "missing_parent" and p.parent_code in rejected:
            children.setdefault(p.parent_code, []).extend(p.grid_codes)
    return [LayerProblem(name, "under a rejected parent", tuple(codes),
                         f"their parent {parent} was rejected ({rejected[parent].sentence()}); "
                         "fix that row first")
            for parent, codes in children.items()]


def _unchanged(conn: psycopg.Connection, merged: Layer, imported: set[str], srid: int
               ) -> set[str]:
    """Codes whose grid gridgeo holds as the import has it (boundary within the
    re-import tolerance, same level and parent), and the stored grids not imported."""
    rows = conn.execute(
        "SELECT code, ST_AsBinary(ST_Transform(geom, %s)), level, parent_code "
        "FROM gridgeo.grids WHERE code = ANY(%s)", (srid, sorted(imported))).fetchall()
    stored = {r[0]: (shapely.from_wkb(bytes(r[1])), r[2], r[3]) for r in rows}
    same = {str(c) for c in merged.codes if str(c) not in imported}
    for i, code in enumerate(merged.codes):
        old = stored.get(str(code))
        if old is None or str(code) not in imported:
            continue
        level, parent = merged.attributes["level"][i], merged.attributes["parent_code"][i]
        if (old[1], old[2]) == (level, parent) and float(
                shapely.hausdorff_distance(old[0], merged.geoms[i])) < SAME_GEOMETRY_M:
            same.add(str(code))
    return same
