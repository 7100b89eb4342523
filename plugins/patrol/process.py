"""The OGC API process ``patrol-route``: plan patrols, store them, answer GeoJSON or GPX."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from gridgeo_plugins.patrol.gpx import patrols_to_gpx
from gridgeo_plugins.patrol.plan import Drawn, PatrolRequest, Planner, _start_at
from gridgeo_plugins.patrol.solvers import SOLVERS
from gridgeo_plugins.patrol.store import save_routes
from gridgeo_plugins.patrol.targets import (
    KINDS,
    TargetError,
    area_wkb,
    due_targets,
    feature_targets,
    parse_window,
)
from gridgeo_plugins.patrol.texts import DEFAULT_LANGUAGE, LANGUAGES, language_of, text
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from gridgeo.db.pool import connection
from gridgeo.process_errors import process_errors
from gridgeo.timezone import local_zone

_obj = {"type": "object"}
# How far a stop may lie from the road: on foot a worker crosses a field or climbs to an
# adit; from a car, only a short walk.
SNAP_M = {"walking": 1000.0, "driving": 500.0}
MAX_STOPS = 400
PROCESS_METADATA: dict[str, Any] = {
    "version": "0.1.0",
    "id": "patrol-route",
    "title": {"en": "Patrol routes", "zh": "巡查路线规划"},
    "description": {
        "en": "Plans patrols over the road network: visit due targets (sealed adits, "
              "greenhouses not scanned this month, open incidents, or named features) or "
              "sweep every street of an area; walking times follow the terrain. Stores the "
              "routes in patrol_routes and serves them as GeoJSON and GPX.",
        "zh": "基于路网规划巡查路线：到期巡查点（封闭矿洞、本月未扫码大棚、未结事件或指定要素）"
              "或遍历网格内全部道路；步行时间考虑地形。结果存入巡查路线并可下载GPX。"},
    "jobControlOptions": ["sync-execute"],
    "keywords": ["patrol", "巡查", "routing", "GPX"],
    "links": [],
    "inputs": {
        "area": {"title": "Area", "description": "{\"grids\": [codes]}, {\"level\": ...} "
                 "or {\"bbox\": [minlon, minlat, maxlon, maxlat]}",
                 "schema": _obj, "minOccurs": 1, "maxOccurs": 1},
        "patrol_kind": {"title": "Kind", "schema": {"type": "string", "enum": [
            "visit_targets", "street_sweep", "big_patrol"], "default": "visit_targets"},
            "minOccurs": 0, "maxOccurs": 1},
        "targets": {"title": "Due lists to visit", "schema": {"type": "array", "items": {
            "type": "string", "enum": list(KINDS[:3])}}, "minOccurs": 0, "maxOccurs": 1},
        "features": {"title": "Features to visit", "description": "[{\"collection\", "
                     "\"id\", \"task\", \"service_minutes\", \"time_window\"}]",
                     "schema": {"type": "array"}, "minOccurs": 0, "maxOccurs": 1},
        "time_windows": {"title": "Time windows by target code", "description":
                         "{\"<code>\": [\"09:00\", \"11:00\"]} in the deployment's local time",
                         "schema": _obj, "minOccurs": 0, "maxOccurs": 1},
        "date": {"title": "Patrol date", "schema": {"type": "string", "format": "date"},
                 "minOccurs": 0, "maxOccurs": 1},
        "start_time": {"title": "Start time (the deployment's local time)", "schema": {
            "type": "string", "default": "08:30"}, "minOccurs": 0, "maxOccurs": 1},
        "start": {"title": "Start", "description": "{\"point\": [lon, lat]} or "
                  "{\"grid\": code} (its centre, e.g. the village committee)",
                  "schema": _obj, "minOccurs": 0, "maxOccurs": 1},
        "end": {"title": "End (default: the start)", "schema": _obj, "minOccurs": 0,
                "maxOccurs": 1},
        "travel_mode": {"title": "Travel mode", "schema": {"type": "string", "enum": [
            "walking", "driving"], "default": "walking"}, "minOccurs": 0, "maxOccurs": 1},
        "patrols": {"title": "Number of patrols", "schema": {"type": "integer", "minimum": 1,
                    "maximum": 50, "default": 1}, "minOccurs": 0, "maxOccurs": 1},
        "max_hours": {"title": "Maximum hours per patrol", "schema": {"type": "number"},
                      "minOccurs": 0, "maxOccurs": 1},
        "service_minutes": {"title": "Minutes spent at each stop", "schema": {
            "type": "number"}, "minOccurs": 0, "maxOccurs": 1},
        "assignee_ids": {"title": "Staff id per patrol", "schema": {"type": "array", "items": {
            "type": "integer"}}, "minOccurs": 0, "maxOccurs": 1},
        "store": {"title": "Store in patrol_routes", "schema": {"type": "boolean",
                  "default": True}, "minOccurs": 0, "maxOccurs": 1},
        "max_snap_m": {"title": "How far a stop may be from the road (m)", "description":
                       "default 1000 walking, 500 driving; farther stops are left out",
                       "schema": {"type": "number"}, "minOccurs": 0, "maxOccurs": 1},
        "solver": {"title": "Ordering solver", "schema": {"type": "string", "default": "pyvrp"},
                   "minOccurs": 0, "maxOccurs": 1},
        "time_limit_s": {"title": "Search time limit (s)", "description":
                         "given, the search runs that long; without it, at most 3 s, less "
                         "when it stops improving", "schema": {"type": "number",
                         "default": 3}, "minOccurs": 0, "maxOccurs": 1},
        "language": {"title": "Language of route names, tasks and reasons", "description":
                     "zh (default) or en; without it the request's lang or "
                     "Accept-Language decides", "schema": {"type": "string", "enum":
                     list(LANGUAGES)}, "minOccurs": 0, "maxOccurs": 1},
        "format": {"title": "Answer format", "schema": {"type": "string", "enum": [
            "geojson", "gpx"], "default": "geojson"}, "minOccurs": 0, "maxOccurs": 1},
    },
    "writes": {"collection": "patrol_routes", "input": "store"},
    "outputs": {
        "routes": {"title": "Patrol routes", "schema": {
            "type": "object", "contentMediaType": "application/geo+json"}},
    },
    "example": {"inputs": {"area": {"level": "town"}, "targets": ["sealed_adits"],
                           "travel_mode": "walking", "patrols": 2, "max_hours": 4}},
}


def _fail(message: str) -> ProcessorExecuteError:
    return ProcessorExecuteError(user_msg=message)


def _number(data: dict[str, Any], key: str, low: float, high: float, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _fail(f"{key} must be a number from {low:g} to {high:g}; got {value!r}")
    return float(value)


def _point(conn: Any, spec: Any, what: str) -> tuple[tuple[float, float], str]:
    if not isinstance(spec, dict):
        raise _fail(f"{what} must be {{\"point\": [lon, lat]}} or {{\"grid\": code}}")
    if "point" in spec:
        p = spec["point"]
        if (not isinstance(p, list) or len(p) != 2
                or not all(isinstance(v, int | float) for v in p)
                or not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90)):
            raise _fail(f"{what}.point must be [longitude, latitude] in degrees")
        return (float(p[0]), float(p[1])), str(spec.get("name") or what)
    if "grid" in spec:
        row = conn.execute("SELECT name, ST_X(p), ST_Y(p) FROM (SELECT name, "
                           "ST_PointOnSurface(geom) AS p FROM gridgeo.grids WHERE code = %s) g",
                           (str(spec["grid"]),)).fetchone()
        if row is None:
            raise _fail(f"{what}.grid: unknown grid code {spec['grid']!r}")
        return (row[1], row[2]), f"{row[0]} ({what})"
    raise _fail(f"{what} must be {{\"point\": [lon, lat]}} or {{\"grid\": code}}")


def parse_request(conn: Any, data: dict[str, Any], asked_language: str | None = None
                  ) -> PatrolRequest:
    """Validate the inputs; every mistake becomes a sentence that says what to fix.

    ``asked_language`` is the HTTP request's (its ``lang`` or Accept-Language); the
    ``language`` input wins over it."""
    kind = data.get("patrol_kind", "visit_targets")
    if kind not in ("visit_targets", "street_sweep", "big_patrol"):
        raise _fail("patrol_kind must be visit_targets, street_sweep or big_patrol")
    mode = data.get("travel_mode", "walking")
    if mode not in ("walking", "driving"):
        raise _fail("travel_mode must be walking or driving")
    zone = local_zone(conn)
    language = _language(data, asked_language)
    try:
        day = dt.date.fromisoformat(data["date"]) if data.get("date") else \
            dt.datetime.now(zone).date()
        start_time = dt.time.fromisoformat(data.get("start_time", "08:30"))
    except (TypeError, ValueError):
        raise _fail("date must be YYYY-MM-DD and start_time HH:MM") from None
    solver = data.get("solver", "pyvrp")
    if solver not in SOLVERS:
        raise _fail(f"solver must be one of {', '.join(SOLVERS)}")
    try:
        wkb, label = area_wkb(conn, data.get("area"))
        default = conn.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface("
                               "%s::geometry) AS p) s", (wkb,)).fetchone()
        start, start_name = _point(conn, data["start"], "start") if data.get("start") else \
            ((default[0], default[1]), "area centre")
        end = _point(conn, data["end"], "end")[0] if data.get("end") else start
        targets = (_targets(conn, kind, data, wkb, day, language)
                   if kind != "street_sweep" else [])
    except TargetError as exc:
        raise _fail(str(exc)) from None
    assignees = data.get("assignee_ids") or []
    if not isinstance(assignees, list) or not all(isinstance(a, int) and not isinstance(a, bool)
                                                  for a in assignees):
        raise _fail("assignee_ids must be a list of staff ids (integers)")
    known = {r[0] for r in conn.execute("SELECT id FROM gridgeo.staff WHERE id = ANY(%s)",
                                        (assignees,))}
    if set(assignees) - known:
        raise _fail(f"unknown staff id(s) in assignee_ids: {sorted(set(assignees) - known)}")
    hours = _number(data, "max_hours", 0.1, 24, 24) if "max_hours" in data else None
    return PatrolRequest(
        patrol_kind=kind, travel_mode=mode, day=day, start_time=start_time, start=start,
        end=end, start_name=start_name, area_label=label, area_wkb=wkb, targets=targets,
        n_patrols=int(_number(data, "patrols", 1, 50, 1)),
        max_duration_s=hours * 3600 if hours else float("inf"), solver=solver,
        time_limit_s=_number(data, "time_limit_s", 0.1, 60, 3.0),
        max_snap_m=_number(data, "max_snap_m", 1, 5000, SNAP_M[mode]), assignee_ids=assignees,
        zone=zone, language=language, use_all_time="time_limit_s" in data)


def _language(data: dict[str, Any], asked: str | None) -> str:
    value = data.get("language")
    if value is not None and value not in LANGUAGES:
        raise _fail(f"language must be one of {', '.join(LANGUAGES)}; got {value!r}")
    return value or language_of(asked) or DEFAULT_LANGUAGE


def _targets(conn: Any, kind: str, data: dict[str, Any], wkb: bytes, day: dt.date,
             language: str) -> list:
    lists = data.get("targets") or []
    if not isinstance(lists, list) or any(k not in KINDS[:3] for k in lists):
        raise TargetError(f"targets must be a list of {', '.join(KINDS[:3])}")
    if not lists and not data.get("features"):
        raise TargetError("say what to visit: targets (due lists) or features")
    found = [t for k in lists for t in due_targets(conn, k, wkb, day, language)]
    if data.get("features"):
        found += feature_targets(conn, data["features"], language)
    if len(found) > MAX_STOPS:
        raise TargetError(f"{len(found)} stops is more than one request plans (at most "
                          f"{MAX_STOPS}): choose a smaller area or fewer target kinds")
    if not found:
        raise TargetError(f"nothing to visit: no {', '.join(lists) or 'feature'} due on "
                          f"{day} in the area")
    service = data.get("service_minutes")
    windows = data.get("time_windows") or {}
    if not isinstance(windows, dict):
        raise TargetError("time_windows must be {\"<code>\": [\"HH:MM\", \"HH:MM\"]}")
    unknown = set(windows) - {t.code for t in found}
    if unknown:
        raise TargetError(f"time_windows names targets not in the list: {sorted(unknown)}")
    for t in found:
        if isinstance(service, int | float) and not isinstance(service, bool):
            t.service_min = float(service)
        if t.code in windows:
            t.window = parse_window(windows[t.code], f"time_windows[{t.code}]")
    return found


def _route_dicts(req: PatrolRequest, drawn: list[Drawn]) -> list[dict[str, Any]]:
    out = []
    for i, d in enumerate(drawn):
        out.append({"name": text("route_name", req.language, area=req.area_label, day=req.day,
                                 n=i + 1),
                    "patrol_kind": req.patrol_kind, "travel_mode": req.travel_mode,
                    "patrol_date": req.day.isoformat(), "starts_at": _start_at(req),
                    "assignee_id": req.assignee_ids[i] if i < len(req.assignee_ids) else None,
                    "area": req.area_label, "length_m": round(d.length_m, 1),
                    "duration_s": round(d.duration_s, 1), "stops": d.stops,
                    "coordinates": d.coordinates, "route_no": f"draft-{i + 1}"})
    return out


def feature_collection(routes: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, Any]:
    features = []
    for r in routes:
        props = {k: v for k, v in r.items() if k != "coordinates"}
        props["gpx"] = f"/patrol-routes/{r['route_no']}.gpx" if extra.get("stored") else None
        features.append({"type": "Feature", "id": r["route_no"], "properties": props,
                         "geometry": {"type": "LineString", "coordinates": r["coordinates"]}})
        for s in r["stops"]:
            features.append({"type": "Feature", "id": f"{r['route_no']}/{s['seq']}",
                             "properties": {"route_no": r["route_no"], **s},
                             "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]}})
    return {"type": "FeatureCollection", "features": features, **extra}


def _store_asked(asked: object) -> bool:
    """Routes are stored unless the caller says ``store: false``; the core has already
    switched storing off for callers who may not write patrol_routes
    (``writes`` in PROCESS_METADATA, gridgeo.process_writes)."""
    return True if asked is None else bool(asked)


def _request_language() -> str | None:
    """The HTTP request's language, when there is one: pygeoapi hands a process only its
    inputs, so the request's ``lang`` / Accept-Language is read here, at the edge."""
    from flask import has_request_context, request

    if not has_request_context():
        return None
    return request.args.get("lang") or request.headers.get("Accept-Language")


def _outside_own_grids(conn: Any, area: bytes) -> str | None:
    """Why a grid worker's routes are not stored: the area reaches beyond the grids
    assigned to them (the core has already checked the write right itself)."""
    from gridgeo.identity import current_identity

    if current_identity().roles & {"gis_editor", "admin"}:
        return None
    inside = conn.execute(
        "SELECT coalesce(ST_CoveredBy(%s::geometry, ST_Buffer(ST_Union(g.geom), 0.0001)),"
        " false) FROM gridgeo.grids g"
        " WHERE g.code = ANY (gridgeo.request_grid_codes())", (area,)).fetchone()
    if inside and inside[0]:
        return None
    return ("the area reaches beyond your own grids; a grid worker stores patrol_routes only "
            "inside the grids assigned to them (GET /me lists them), so nothing was stored")


class PatrolRouteProcessor(BaseProcessor):
    """Plans, stores and returns patrol routes."""

    def __init__(self, processor_def: dict[str, Any]):
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict[str, Any], outputs: Any = None) -> tuple[str, Any]:
        with process_errors("patrol-route"):
            return self._plan(data)

    def _plan(self, data: dict[str, Any]) -> tuple[str, Any]:
        if not isinstance(data, dict):
            raise _fail("inputs must be an object")
        with connection() as conn:
            req = parse_request(conn, data, _request_language())
            try:
                planner = Planner(conn, req)
                if req.patrol_kind == "street_sweep":
                    drawn, quality = planner.sweep()
                else:
                    drawn, quality = planner.visit(), {}
            except TargetError as exc:
                raise _fail(str(exc)) from None
            routes = _route_dicts(req, drawn)
            store = _store_asked(data.get("store"))
            why = _outside_own_grids(conn, req.area_wkb) if store else None
            store = store and why is None
            if store and routes:
                save_routes(conn, req.day, routes)
        if data.get("format") == "gpx":
            return "application/gpx+xml", patrols_to_gpx(routes, req.area_label)
        extra = {"stored": store and bool(routes), "dropped": planner.dropped,
                 "notes": planner.notes, "solver": req.solver if not quality else "postman",
                 "timing_s": {k: round(v, 3) for k, v in planner.timing.items()},
                 "language": req.language}
        if why:
            extra["why"] = why
        if planner.search:
            extra["search"] = planner.search
        if quality:
            extra["sweep"] = quality
        return "application/geo+json", orjson.dumps(feature_collection(routes, extra))
