"""An import from start to end: check every layer, then write all of them in one
transaction, or nothing.

Order matters: departments and staff before the assignments that name them, grids
before what lies in them (their town grids are the county every position is checked
against), the road network and the DEM last.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import shapely

from gridgeo.geometry.layer import metric_srid
from gridgeo.timezone import local_zone, set_session_zone

from .convert import ConversionError, as_text, convert
from .county import county_area
from .deployment import adopt_metric_srid, deployment_is_empty
from .mapping import ImportPlan, LayerMapping
from .prepare import ImportContext, PreparedLayer, prepare_layer, read_positions
from .problems import ImportError_, ImportReport, LayerProblem, LayerReport, Reject
from .rows import FieldPlan, mapped_value
from .sources import SourceTable
from .targets import ORDER, SPECIAL_TARGETS
from .write import write_layer

Say = Callable[[str], None]


def _county_code(conn: psycopg.Connection, plan: ImportPlan) -> str | None:
    row = conn.execute("SELECT value FROM gridgeo.deployment WHERE key = 'county_code'"
                       ).fetchone()
    current = row[0] if row else None
    if plan.county_code is None or plan.county_code == current:
        return current
    if not deployment_is_empty(conn):
        demo = conn.execute("SELECT 1 FROM gridgeo.deployment WHERE key = 'demo'").fetchone()
        remedy = ("remove the demo first (gridgeo demo --remove)" if demo else
                  "import into a new database to start another county")
        raise ImportError_(f"this gridgeo serves county {current}; the mapping says "
                           f"county_code {plan.county_code}: {remedy}")
    conn.execute("INSERT INTO gridgeo.deployment (key, value) VALUES ('county_code', %s) "
                 "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (plan.county_code,))
    return plan.county_code


def _time_zone(conn: psycopg.Connection, plan: ImportPlan) -> None:
    """The mapping's time zone becomes the deployment's: times without a zone in the files,
    due lists and case numbers follow it from this import on."""
    if plan.time_zone is None:
        return
    known = conn.execute("SELECT EXISTS (SELECT FROM pg_timezone_names WHERE name = %s)",
                         (plan.time_zone,)).fetchone()
    if not (known and known[0]):
        raise ImportError_(f"time_zone {plan.time_zone} is not a time zone name; write it as "
                           "Region/City, e.g. Asia/Shanghai or America/Phoenix")
    conn.execute("INSERT INTO gridgeo.deployment (key, value) VALUES ('time_zone', %s) "
                 "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (plan.time_zone,))
    set_session_zone(conn)


def _sorted(layers: list[LayerMapping]) -> list[LayerMapping]:
    for layer in layers:
        if layer.target not in ORDER:
            raise ImportError_(f"target '{layer.target}' is not something gridgeo imports; "
                               f"choose one of {', '.join(ORDER)}")
    return sorted(layers, key=lambda layer: ORDER.index(layer.target))


def _adopt_srid(conn: psycopg.Connection, layer: PreparedLayer, context: ImportContext) -> None:
    if len(layer.geoms):
        lon0, lat0, lon1, lat1 = shapely.total_bounds(layer.geoms)
        context.metric_srid = adopt_metric_srid(conn, (lon0 + lon1) / 2, (lat0 + lat1) / 2)


def _plugin_problems(conn: psycopg.Connection, layer: PreparedLayer, context: ImportContext,
                     earlier: list[PreparedLayer]) -> list[LayerProblem]:
    """Problems plugins find across rows (the topology plugin: gaps and overlaps of grids)."""
    from gridgeo.plugins import get_plugin_manager

    answers = get_plugin_manager().hook.gridgeo_import_problems(
        conn=conn, layer=layer, srid=context.metric_srid, earlier=earlier)
    return [problem for answer in answers for problem in answer]


def check_layers(conn: psycopg.Connection, plan: ImportPlan, say: Say
                 ) -> tuple[list[PreparedLayer], list[LayerMapping], ImportContext]:
    """Every table layer read and checked (in import order); road and DEM layers returned
    for the writing step."""
    county = _county_code(conn, plan)
    _time_zone(conn, plan)
    context = ImportContext(conn, county, metric_srid(conn), zone=local_zone(conn))
    for mapping in plan.layers:  # roads coming in now are a better reference than none
        if mapping.target == "roads" and mapping.source.suffix.lower() != ".pbf":
            report = LayerReport(mapping.label, mapping.target, str(mapping.source))
            roads = read_positions(mapping, context, report)
            context.road_files[id(mapping)] = (roads, report)
            context.reference.extend(roads.geoms[~shapely.is_missing(roads.geoms)])
    prepared: list[PreparedLayer] = []
    special = []
    for mapping in _sorted(plan.layers):
        if mapping.target in SPECIAL_TARGETS:
            special.append(mapping)
            continue
        say(f"reading {mapping.label}")
        layer = prepare_layer(mapping, context, say)
        say(f"{mapping.label}: {layer.report.rows} rows read, {len(layer.rows)} pass, "
            f"{len(layer.report.rejects)} rejected")
        if mapping.target == "grids" and deployment_is_empty(conn):
            _adopt_srid(conn, layer, context)
        say(f"{mapping.label}: checking it with the other layers and the stored data")
        layer.report.problems.extend(_plugin_problems(conn, layer, context, prepared))
        if mapping.target == "grids":
            context.county_area = county_area(conn, [*prepared, layer])
        prepared.append(layer)
        if mapping.target == "addresses":
            context.reference.extend(layer.geoms)
    return prepared, special, context


def _road_lines(mapping: LayerMapping, table: SourceTable, report: LayerReport) -> list:
    """Road lines from a line file's rows, with the mapping's fields and value maps."""
    from .roads import ROAD_CLASSES, RoadLine

    plans = {}
    for name in ("name", "road_class", "oneway"):
        rule = mapping.rule(name)
        source = rule.source if rule else (name if name in table.fields else None)
        plans[name] = FieldPlan(name, source, {as_text(k): v for k, v in rule.map.items()}
                                if rule else {}, rule.default if rule else None)
    lines = []
    for i, (row, geom) in enumerate(zip(table.rows, table.geoms, strict=True), start=1):
        road_class = mapped_value(plans["road_class"], row)
        reason = None
        if road_class not in ROAD_CLASSES:
            reason = (f"road_class '{road_class}' is not one of {', '.join(ROAD_CLASSES)}; "
                      "map it with fields.road_class.map")
        parts = shapely.get_parts(geom) if geom is not None else []
        if reason is None and not (len(parts) and all(
                p.geom_type == "LineString" and p.length > 0 for p in parts)):
            reason = "is not a line"
        try:
            oneway = bool(convert(mapped_value(plans["oneway"], row), "bool"))
        except ConversionError as exc:
            reason = reason or f"oneway '{mapped_value(plans['oneway'], row)}' {exc}"
        if reason is not None:
            report.rejects.append(Reject(report.name, i, None, reason))
            continue
        name = mapped_value(plans["name"], row)
        lines += [RoadLine(p, road_class, None if name is None else as_text(name), oneway)
                  for p in parts]
    return lines


def _write_special(conn: psycopg.Connection, mapping: LayerMapping, context: ImportContext,
                   dem_dest: Path, dry_run: bool, accept: bool, say: Say) -> LayerReport:
    if mapping.target == "roads":
        from .roads import read_osm_roads, replace_roads

        if id(mapping) in context.road_files:
            table, report = context.road_files[id(mapping)]
            lines = _road_lines(mapping, table, report)
        else:  # an OpenStreetMap extract, cut to the county when it is known
            report = LayerReport(mapping.label, mapping.target, str(mapping.source))
            bbox = (tuple(shapely.bounds(context.county_area).tolist())
                    if context.county_area is not None else None)
            lines = read_osm_roads(mapping.source, bbox, progress=say)
            report.rows = len(lines)
        if report.rejects and not accept:
            return report
        noding = mapping.noding or ("endpoints" if mapping.source.suffix.lower() == ".pbf"
                                    else "crossings")
        try:
            result = replace_roads(conn, lines, noding=noding,
                                   dem_path=dem_dest if dem_dest.exists() else None,
                                   progress=say)
        except ValueError as exc:  # a sentence about the lines
            raise ImportError_(f"{mapping.label}: {exc}") from exc
        report.counts = {"edges": result.edges, "nodes": result.nodes}
        report.notes.append(f"{result.components} connected parts; the largest holds "
                            f"{result.largest_component_share:.0%} of the roads")
        return report
    from .dem import DemError, import_dem

    report = LayerReport(mapping.label, mapping.target, str(mapping.source))
    if dry_run:
        report.notes.append("DEM not installed in a dry run")
        return report
    try:  # installed beside the deployment's DEM; moved into place once committed
        dem = import_dem(conn, mapping.source, _staged_dem(dem_dest), progress=say)
    except DemError as exc:
        raise ImportError_(str(exc)) from exc
    report.counts = {"roads_rewalked": dem.roads_rewalked}
    report.notes.append(f"{dem.width}×{dem.height} cells of {dem.resolution_m:.0f} m, "
                        f"{dem.min_m:.0f}–{dem.max_m:.0f} m, installed at {dem_dest}")
    return report


def _staged_dem(dem_dest: Path) -> Path:
    return dem_dest.with_name(f".{dem_dest.name}.importing.tif")


def _write_all(conn: psycopg.Connection, report: ImportReport, prepared: list[PreparedLayer],
               special: list[LayerMapping], context: ImportContext, dem_dest: Path,
               go_on: bool, say: Say) -> None:
    """Write every layer in order; stop at the first layer with rejects unless ``go_on``."""
    if not report.clean and not go_on:
        return
    for layer in prepared:
        say(f"writing {layer.report.name}")
        rejected = {r.key: r for r in report.rejects if r.key}
        layer.report.rejects.extend(write_layer(conn, layer, rejected))
        if layer.report.rejects and not go_on:
            return
    for mapping in special:
        say(f"loading {mapping.label}")
        special_report = _write_special(conn, mapping, context, dem_dest, report.dry_run,
                                        go_on, say)
        report.layers.append(special_report)
        if special_report.rejects and not go_on:
            return


def run_import(conn: psycopg.Connection, plan: ImportPlan, *, dem_dest: Path,
               dry_run: bool = False, accept_rejects: bool = False,
               say: Say = lambda _m: None) -> ImportReport:
    """Check everything, then write everything in the caller's connection as one
    transaction: committed only when every row passed (or ``accept_rejects``) and this is
    not a dry run; rolled back otherwise. A new DEM goes live only with the commit."""
    report = ImportReport(dry_run=dry_run)
    staged = _staged_dem(dem_dest)
    try:
        # As the demo loader: the grid-lookup triggers' generic plans stay on the geometry
        # index instead of ANDing it with a growing bitmap (this transaction only).
        conn.execute("SET LOCAL enable_bitmapscan = off")
        prepared, special, context = check_layers(conn, plan, say)
        report.layers = [layer.report for layer in prepared]
        # A dry run goes on past rejects: it shows what the rest would change.
        _write_all(conn, report, prepared, special, context, dem_dest,
                   accept_rejects or dry_run, say)
        if dry_run or not (report.clean or accept_rejects):
            conn.rollback()
            return report
        # Imported rows are no demo: `gridgeo demo` must not replace them unasked.
        conn.execute("DELETE FROM gridgeo.deployment WHERE key = 'demo'")
        conn.commit()
        report.written = True
        if staged.exists():  # the DEM goes live with the walking times computed from it
            staged.replace(dem_dest)
        return report
    except BaseException:
        conn.rollback()
        raise
    finally:
        staged.unlink(missing_ok=True)
