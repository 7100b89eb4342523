"""One mapped layer read, converted and checked: the rows that can be written, and the
rejects with their reasons. Nothing is written here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import shapely
from numpy.typing import NDArray

from gridgeo.timezone import DEFAULT_TIME_ZONE

from .crs import resolve_crs, to_cgcs2000
from .geometries import fit_geometries, outside
from .geometries import to_cgcs2000 as move_to_cgcs2000
from .mapping import LayerMapping
from .offsets import detect_offset, in_china
from .problems import LayerProblem, LayerReport, Reject
from .rows import adopt_areas, cause_of, check_row, field_plans, key_of
from .sources import SourceTable, read_source
from .targets import TARGETS, TableShape, Target, table_shape


@dataclass
class ImportContext:
    """What the layers of one import share: the county and what is known so far."""

    conn: psycopg.Connection
    county_code: str | None
    metric_srid: int
    county_area: shapely.Geometry | None = None
    # Times without a zone are the deployment's local time.
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIME_ZONE))
    # Lon/lat geometries known to be right, arriving with this import (roads, addresses).
    reference: list[Any] = field(default_factory=list)
    reference_name: str = "roads and address points"
    # Area grid codes by town (9 digits): gridgeo's and this import's so far.
    areas: dict[str, set[str]] | None = None
    # Road line files, read once: first as a reference, then to build the network.
    road_files: dict[int, tuple[SourceTable, LayerReport]] = field(default_factory=dict)
    _stored: list[Any] | None = None

    def village_parents(self) -> dict[str, str]:
        """Each town's only area, the parent its villages' codes imply (a town with
        several areas leaves the choice to the mapping)."""
        if self.areas is None:
            self.areas = {}
            for (code,) in self.conn.execute(
                    "SELECT code FROM gridgeo.grids WHERE level = 'area'").fetchall():
                self.areas.setdefault(code[:9], set()).add(code)
        return {town: next(iter(codes)) for town, codes in self.areas.items()
                if len(codes) == 1}

    def reference_geoms(self) -> NDArray[np.object_]:
        """The reference for web-map offsets: gridgeo's roads and address points (read
        from the database the first time a point layer needs them) and this import's."""
        if self._stored is None:
            rows = self.conn.execute(
                "(SELECT ST_AsBinary(geom) FROM gridgeo.roads LIMIT 50000) UNION ALL "
                "(SELECT ST_AsBinary(geom) FROM gridgeo.addresses LIMIT 50000)").fetchall()
            self._stored = list(shapely.from_wkb([bytes(r[0]) for r in rows])) if rows else []
        return np.asarray([*self._stored, *self.reference], dtype=object)


@dataclass
class PreparedLayer:
    mapping: LayerMapping
    target: Target
    shape: TableShape
    report: LayerReport
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    geoms: NDArray[np.object_] = field(default_factory=lambda: np.empty(0, dtype=object))

    def keys(self) -> list[str]:
        return [key_of(row, self.target) for row in self.rows]


def read_positions(mapping: LayerMapping, context: ImportContext, report: LayerReport,
                   needs_geometry: bool = True) -> SourceTable:
    """The layer's source, its geometries moved to CGCS2000 (offset undone when told)."""
    table = read_source(mapping.source, mapping.layer, mapping.encoding, mapping.coordinates,
                        needs_geometry)
    report.rows = len(table)
    report.notes.extend(table.notes)
    if not needs_geometry or shapely.is_missing(table.geoms).all():
        return table
    present = table.geoms[~shapely.is_missing(table.geoms)]
    xy = shapely.get_coordinates(present[: 5000]) if len(present) else np.empty((0, 2))
    source_crs = resolve_crs(mapping.crs, table.crs, xy, context.metric_srid)
    report.notes.append(f"CRS {source_crs.note}")
    epsg = source_crs.crs.to_epsg()
    transformer = None if epsg == 4490 else to_cgcs2000(source_crs.crs, xy, report.notes)
    table.geoms = move_to_cgcs2000(table.geoms, transformer, mapping.offset)
    if mapping.offset != "none":
        report.notes.append(f"{mapping.offset.upper()} offset undone on every vertex")
    elif (kind_of_points(table.geoms) and offsets_can_exist(table.geoms)
          and len(reference := context.reference_geoms())):
        guess = detect_offset(table.geoms[~shapely.is_missing(table.geoms)], reference,
                              context.metric_srid, context.reference_name)
        if guess.offset in ("gcj02", "bd09"):
            report.problems.append(LayerProblem(report.name, "web-map offset", (),
                                                guess.sentence))
        elif guess.offset == "unknown":
            report.notes.append(guess.sentence)
    return table


def offsets_can_exist(geoms: NDArray[np.object_]) -> bool:
    """GCJ-02 and BD-09 shift only points inside China: elsewhere (Arizona, Europe) no
    web map offsets them, so there is nothing to look for."""
    xy = shapely.get_coordinates(geoms[~shapely.is_missing(geoms)][: 5000])
    return bool(len(xy)) and bool(np.any(in_china(xy[:, 0], xy[:, 1])))


def kind_of_points(geoms: NDArray[np.object_]) -> bool:
    """Offsets are judged on point layers: a polygon's centre says little about roads."""
    types = shapely.get_type_id(geoms[~shapely.is_missing(geoms)])
    return bool(len(types)) and bool(np.all(types == shapely.GeometryType.POINT))


PROGRESS_ROWS = 100_000


def prepare_layer(mapping: LayerMapping, context: ImportContext,
                  say: Callable[[str], None] = lambda _m: None) -> PreparedLayer:
    """Read, convert and check one layer; the rejects are in ``report.rejects``."""
    target = TARGETS[mapping.target]
    report = LayerReport(mapping.label, target.name, str(mapping.source))
    table = read_positions(mapping, context, report, needs_geometry=target.geometry is not None)
    shape = table_shape(context.conn, target.table)
    plans = field_plans(mapping, shape, target, table.fields)
    required = shape.required(target)
    layer = PreparedLayer(mapping, target, shape, report)
    geoms = table.geoms
    geom_reasons: list[str | None] = [None] * len(table)
    far = None
    if target.geometry:
        geoms, geom_reasons, repaired = fit_geometries(table.geoms, target.geometry,
                                                       mapping.repair)
        if repaired:
            report.notes.append(f"{repaired} invalid geometries repaired")
        far = outside(geoms, context.county_area) if target.name != "grids" else None
    parents = context.village_parents() if target.name == "grids" else {}
    checked = []
    for i, source in enumerate(table.rows):
        if (i + 1) % PROGRESS_ROWS == 0:
            say(f"{mapping.label}: {i + 1:,} of {len(table):,} rows checked")
        checked.append(check_row(source, plans, shape, target, context.county_code, required,
                                 zone=context.zone, row_no=i + 1, village_parents=parents))
    if target.name == "grids":  # areas of this very file are parents of its villages
        checked = adopt_areas(context, checked)
    first_row: dict[str, int] = {}
    kept = []
    for i, (row, reason) in enumerate(checked):
        number = i + 1
        key = key_of(row, target)
        reason = reason or geom_reasons[i]
        if reason is None and far is not None and far[i]:
            reason = "lies outside the county (its town grids)"
        if reason is None and key in first_row:
            reason = f"duplicates row {first_row[key]}, which has the same {'/'.join(target.key)}"
        if reason is not None:
            report.rejects.append(Reject(report.name, number, key if key != "None" else None,
                                         reason, cause_of(reason)))
            continue
        first_row[key] = number
        kept.append(i)
        layer.rows.append(row)
        layer.row_numbers.append(number)
    layer.geoms = np.asarray(geoms, dtype=object)[kept] if target.geometry else layer.geoms
    return layer
