"""What a patrol must visit: the area, today's due lists, or features the caller names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from gridgeo_plugins.patrol.priority import Priority
from gridgeo_plugins.patrol.texts import text
from psycopg import sql

from gridgeo.plugins import get_plugin_manager

LEVELS = ("town", "area", "village", "unit", "micro")
KINDS = ("sealed_adits", "greenhouses", "incidents", "features")
SERVICE_MIN = {"sealed_adits": 10.0, "greenhouses": 5.0, "incidents": 15.0, "features": 10.0}


class TargetError(ValueError):
    """A request's area or targets that cannot be used; the message says what to fix."""


@dataclass
class Target:
    """One place to visit, in CGCS2000 longitude/latitude."""

    collection: str
    code: str
    name: str
    task: str
    lon: float
    lat: float
    service_min: float
    window: tuple[dt.time, dt.time] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    priority: Priority = field(default_factory=Priority)


def area_wkb(conn: Any, area: dict[str, Any]) -> tuple[bytes, str]:
    """The area's geometry (EWKB, EPSG:4490) and a short label for it."""
    if not isinstance(area, dict):
        raise TargetError("area must be an object: {\"grids\": [codes]}, {\"level\": ...} "
                          "or {\"bbox\": [minlon, minlat, maxlon, maxlat]}")
    if "bbox" in area:
        box = area["bbox"]
        if (not isinstance(box, list) or len(box) != 4
                or not all(isinstance(v, int | float) for v in box)
                or box[0] >= box[2] or box[1] >= box[3]):
            raise TargetError("area.bbox must be [minlon, minlat, maxlon, maxlat] with min < max")
        row = conn.execute("SELECT ST_AsEWKB(ST_MakeEnvelope(%s, %s, %s, %s, 4490))",
                           box).fetchone()
        return bytes(row[0]), "bbox " + ",".join(f"{v:g}" for v in box)
    level = area.get("level")
    if level is not None and level not in LEVELS:
        raise TargetError(f"area.level must be one of {', '.join(LEVELS)}; got {level!r}")
    codes = area.get("grids")
    if codes is None and level is None:
        raise TargetError("area needs grids (a list of grid codes), a level, or a bbox")
    if codes is not None and (not isinstance(codes, list) or not codes
                              or not all(isinstance(c, str) for c in codes)):
        raise TargetError("area.grids must be a non-empty list of grid codes (strings)")
    rows = conn.execute(
        "SELECT code FROM gridgeo.grids WHERE (%(codes)s::text[] IS NULL OR code = ANY(%(codes)s))"
        " AND (%(level)s::text IS NULL OR level = %(level)s)",
        {"codes": codes, "level": level}).fetchall()
    found = {r[0] for r in rows}
    missing = [c for c in codes or [] if c not in found]
    if missing:
        where = f" at level {level}" if level else ""
        raise TargetError(f"unknown grid code(s){where}: {', '.join(missing)}")
    if not found:
        raise TargetError(f"no grid at level {level}")
    # one grid is used as drawn: a union, even of one polygon, moves its vertices slightly
    row = conn.execute("SELECT ST_AsEWKB(CASE WHEN count(*) = 1 THEN (array_agg(geom))[1] "
                       "ELSE ST_Union(geom) END) FROM gridgeo.grids WHERE code = ANY(%s)",
                       (sorted(found),)).fetchone()
    label = ", ".join(sorted(found)) if len(found) <= 3 else f"{len(found)} {level or ''} grids"
    return bytes(row[0]), label


def due_targets(conn: Any, kind: str, area: bytes, day: dt.date,
                language: str = "zh") -> list[Target]:
    """The due list of one kind inside the area on a date (days in the deployment's time
    zone), each stop with its priority.

    Adits and greenhouses come from the due-list functions the scans work defined
    (``mine_tunnels_due_on``, ``greenhouses_due_on``), so a patrol plans what the due-list
    collections show.
    """
    if kind == "sealed_adits":
        rows = conn.execute(
            "SELECT adit_no, name, status, inspection_due_on, ST_X(geom), ST_Y(geom), "
            "%s::date - inspection_due_on FROM gridgeo.mine_tunnels_due_on(%s) "
            "WHERE ST_Intersects(geom, %s::geometry) ORDER BY adit_no",
            (day, day, area)).fetchall()
        return [Target("mine_tunnels", r[0], r[1],
                       text("adit_task", language, code=r[0], status=r[2], due=r[3]),
                       r[4], r[5], SERVICE_MIN[kind], priority=Priority(r[6], risk=r[2]))
                for r in rows]
    if kind == "greenhouses":
        rows = conn.execute(
            "SELECT gh_no, status, ST_X(p), ST_Y(p) FROM (SELECT gh_no, status, "
            "ST_PointOnSurface(geom) AS p FROM gridgeo.greenhouses_due_on(%s) "
            "WHERE ST_Intersects(geom, %s::geometry)) g ORDER BY gh_no", (day, area)).fetchall()
        # Due since the month began: every greenhouse of the list is as late as the others.
        return [Target("greenhouses", r[0], r[0],
                       text("greenhouse_task", language, code=r[0], status=r[1]),
                       r[2], r[3], SERVICE_MIN[kind], priority=Priority(day.day - 1))
                for r in rows]
    if kind == "incidents":
        rows = conn.execute(
            "SELECT case_no, title, colour, ST_X(geom), ST_Y(geom), greatest(0, %s::date - "
            "(gridgeo.incident_deadline(accepted_at, colour) AT TIME ZONE gridgeo.local_tz())"
            "::date) FROM gridgeo.incidents_view "
            "WHERE NOT gridgeo.incident_state_is_final(state) "
            "AND reported_at < (%s::date + 1)::timestamptz "
            "AND ST_Intersects(geom, %s::geometry) ORDER BY case_no",
            (day, day, area)).fetchall()
        return [Target("incidents", r[0], r[1],
                       text("incident_task", language, code=r[0], colour=r[2], title=r[1]),
                       r[3], r[4], SERVICE_MIN[kind],
                       priority=Priority(int(r[5] or 0), colour=r[2])) for r in rows]
    raise TargetError(f"unknown target kind {kind!r}")


def _collections() -> dict[str, dict[str, Any]]:
    out = {}
    for batch in get_plugin_manager().hook.gridgeo_collections():
        for c in batch:
            out[c.id] = c.resource["providers"][0]
    return out


def feature_targets(conn: Any, features: list[Any], language: str = "zh") -> list[Target]:
    """Features named by the caller: [{"collection": id, "id": value, "task": ...}]."""
    if not isinstance(features, list) or not features:
        raise TargetError("features must be a non-empty list of {\"collection\", \"id\"}")
    providers = _collections()
    targets = []
    for i, f in enumerate(features):
        if not isinstance(f, dict) or "collection" not in f or "id" not in f:
            raise TargetError(f"features[{i}] needs a collection and an id")
        resource = providers.get(f["collection"])
        if resource is None:
            raise TargetError(f"features[{i}]: unknown collection {f['collection']!r}")
        provider = {**resource.get("data", {}), **resource}
        query = sql.SQL(
            "SELECT ST_X(p), ST_Y(p), {title} FROM (SELECT ST_PointOnSurface({geom}) AS p, "
            "{title_col} FROM gridgeo.{source} WHERE {id}::text = %s) s").format(
            geom=sql.Identifier(provider["geometry_column"]),
            source=sql.Identifier(provider["source"]), id=sql.Identifier(provider["id_field"]),
            title=sql.Identifier("title"),
            title_col=sql.SQL("{}::text AS title").format(
                sql.Identifier(provider.get("title_field") or provider["id_field"])))
        row = conn.execute(query, (str(f["id"]),)).fetchone()
        if row is None:
            raise TargetError(f"features[{i}]: {f['collection']} has no feature {f['id']!r}")
        targets.append(Target(f["collection"], str(f["id"]), str(row[2] or f["id"]),
                              str(f.get("task") or text("feature_task", language,
                                                        collection=f["collection"],
                                                        code=f["id"])),
                              row[0], row[1], float(f.get("service_minutes",
                                                          SERVICE_MIN["features"])),
                              parse_window(f.get("time_window"), f"features[{i}]")))
    return targets


def parse_window(value: Any, where: str) -> tuple[dt.time, dt.time] | None:
    """["09:00", "11:30"] (the deployment's local time) or None."""
    if value is None:
        return None
    try:
        early, late = (dt.time.fromisoformat(v) for v in value)
    except (TypeError, ValueError):
        raise TargetError(f"{where}.time_window must be [\"HH:MM\", \"HH:MM\"]") from None
    if late <= early:
        raise TargetError(f"{where}.time_window ends before it starts")
    return early, late
