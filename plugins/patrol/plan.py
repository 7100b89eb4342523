"""From a patrol request to routes: snap, price, order (or sweep), draw, explain what was left."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from gridgeo_plugins.patrol.access import AccessLegs, join_lines
from gridgeo_plugins.patrol.network import RoadNetwork, RoutingGraph, build_routing_graph
from gridgeo_plugins.patrol.roads import (
    FLAT_WALK_MS,
    load_network,
    metric_srid,
    to_lonlat,
    to_metric,
)
from gridgeo_plugins.patrol.solvers import (
    END,
    SOLVERS,
    START,
    VisitPlan,
    VisitProblem,
    is_feasible,
    repair,
    schedule,
)
from gridgeo_plugins.patrol.sweep import plan_sweep
from gridgeo_plugins.patrol.targets import Target, TargetError
from gridgeo_plugins.patrol.texts import DEFAULT_LANGUAGE, text

from gridgeo.timezone import DEFAULT_TIME_ZONE


@dataclass
class PatrolRequest:
    patrol_kind: str
    travel_mode: str
    day: dt.date
    start_time: dt.time
    start: tuple[float, float]
    end: tuple[float, float]
    start_name: str
    area_label: str
    area_wkb: bytes
    targets: list[Target] = field(default_factory=list)
    n_patrols: int = 1
    max_duration_s: float = float("inf")
    solver: str = "pyvrp"
    time_limit_s: float = 3.0
    max_snap_m: float = 500.0
    assignee_ids: list[int] = field(default_factory=list)
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIME_ZONE))
    language: str = DEFAULT_LANGUAGE
    use_all_time: bool = False  # the caller gave time_limit_s: search for all of it


@dataclass
class Drawn:
    """A patrol drawn on the map, ready for GeoJSON, GPX and the table."""

    coordinates: list[list[float]]
    length_m: float
    duration_s: float
    stops: list[dict[str, Any]]


def _window_s(req: PatrolRequest, t: Target) -> tuple[float, float]:
    if t.window is None:
        return 0.0, float("inf")
    base = dt.datetime.combine(req.day, req.start_time)
    early = (dt.datetime.combine(req.day, t.window[0]) - base).total_seconds()
    late = (dt.datetime.combine(req.day, t.window[1]) - base).total_seconds()
    return max(early, 0.0), late


def _usable(network: RoadNetwork, mode: str) -> np.ndarray | None:
    return None if mode == "walking" else (network.forward >= 0) | (network.backward >= 0)


def _start_at(req: PatrolRequest, seconds: float = 0.0) -> str:
    when = dt.datetime.combine(req.day, req.start_time, req.zone) + dt.timedelta(seconds=seconds)
    return when.isoformat(timespec="seconds")


def _gap(total: float, bound: float) -> float | None:
    return round(max(0.0, total / bound - 1), 4) if bound > 0 else None


class Planner:
    """Plans one request against the database's road network."""

    def __init__(self, conn: Any, req: PatrolRequest):
        self.req = req
        self.srid = metric_srid(conn)
        self.network = load_network(conn, req.travel_mode)
        if len(self.network.geoms) == 0:
            raise TargetError("there is no road network loaded")
        self.fwd, self.inv = to_metric(self.srid), to_lonlat(self.srid)
        self.dropped: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.timing: dict[str, float] = {}
        self.search: dict[str, Any] = {}

    def metric(self, lonlat: list[tuple[float, float]]) -> np.ndarray:
        if not lonlat:
            return np.empty((0, 2))
        x, y = self.fwd.transform(*np.array(lonlat, float).T)
        return np.column_stack([x, y])

    def lonlat(self, xy: np.ndarray) -> list[list[float]]:
        lon, lat = self.inv.transform(xy[:, 0], xy[:, 1])
        return [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]

    def _check_depot(self, snap_m: float, what: str) -> None:
        if snap_m > self.req.max_snap_m:
            raise TargetError(f"the {what} point is {snap_m:.0f} m from the nearest road "
                              f"(more than {self.req.max_snap_m:g} m): choose a point on "
                              "or near the road network")

    # ---- visiting targets -------------------------------------------------------------

    def visit(self) -> list[Drawn]:
        req, t0 = self.req, time.perf_counter()
        points = self.metric([req.start, req.end, *[(t.lon, t.lat) for t in req.targets]])
        graph, snaps = build_routing_graph(self.network, points,
                                           _usable(self.network, req.travel_mode))
        self._check_depot(snaps[0].distance_m, "start")
        self._check_depot(snaps[1].distance_m, "end")
        keep = []
        for k, (t, s) in enumerate(zip(req.targets, snaps[2:], strict=True)):
            if s.distance_m > req.max_snap_m:
                self._drop(t, text("too_far", req.language, distance=s.distance_m,
                                   limit=req.max_snap_m))
            else:
                keep.append(k)
        nodes = np.array([snaps[0].node, snaps[1].node, *[snaps[2 + k].node for k in keep]])
        unique, where = np.unique(nodes, return_inverse=True)
        dist, pred = graph.shortest(unique)
        matrix = dist[:, unique][where][:, where]
        self.timing["matrix_s"] = time.perf_counter() - t0
        ok = [i for i, k in enumerate(keep)
              if np.isfinite(matrix[START, 2 + i]) and np.isfinite(matrix[2 + i, END])]
        for i, k in enumerate(keep):
            if i not in ok:
                self._drop(req.targets[k], text("not_connected", req.language,
                                                mode=text(req.travel_mode, req.language)))
        if not ok:
            raise TargetError("none of the targets can be reached on the road network")
        rows = [START, END, *[2 + i for i in ok]]
        chosen = [keep[i] for i in ok]
        access = np.array([2 * snaps[2 + k].distance_m / FLAT_WALK_MS for k in chosen])
        windows = [_window_s(req, req.targets[k]) for k in chosen]
        problem = VisitProblem(
            matrix[np.ix_(rows, rows)],
            np.array([req.targets[k].service_min * 60 for k in chosen]) + access,
            np.array([w[0] for w in windows]), np.array([w[1] for w in windows]),
            req.n_patrols, req.max_duration_s,
            np.array([req.targets[k].priority.weight for k in chosen]))
        t1 = time.perf_counter()
        plan = repair(problem, SOLVERS[req.solver].solve(problem, req.time_limit_s,
                                                         use_all_time=req.use_all_time))
        self.timing["solve_s"] = time.perf_counter() - t1
        self.search = {"runtime_s": plan.runtime_s, "stopped_by": plan.stopped_by}
        self._explain(problem, plan, chosen)
        loc_node_row = {loc: int(where[r]) for loc, r in enumerate(rows)}
        legs = AccessLegs(points, snaps) if req.travel_mode == "walking" else None
        return [self._draw_visits(graph, problem, route, chosen, unique, pred, loc_node_row,
                                  snaps, legs) for route in plan.routes]

    def _drop(self, t: Target, reason: str) -> None:
        self.dropped.append({"collection": t.collection, "code": t.code, "name": t.name,
                             "reason": reason})

    def _explain(self, problem: VisitProblem, plan: VisitPlan, chosen: list[int]) -> None:
        lang = self.req.language
        hours = text("hours", lang, hours=self.req.max_duration_s / 3600) if np.isfinite(
            self.req.max_duration_s) else text("unlimited", lang)
        for s in plan.dropped:
            t = self.req.targets[chosen[s]]
            if not is_feasible(problem, [s]):
                why = (text("window_unmet", lang) if t.window else
                       text("out_of_reach", lang, hours=hours))
            else:
                why = text("too_much_work", lang, patrols=self.req.n_patrols, hours=hours,
                           priority=t.priority.reason(lang))
            self._drop(t, why)

    def _draw_visits(self, graph: RoutingGraph, problem: VisitProblem, route: list[int],
                     chosen: list[int], unique: np.ndarray, pred: np.ndarray,
                     loc_row: dict[int, int], snaps: list[Any],
                     access: AccessLegs | None = None) -> Drawn:
        visits, total = schedule(problem, route)
        locs = [START, *[2 + s for s in route], END]
        steps: list[tuple[int, bool]] = []
        pieces: list[np.ndarray] = []
        for a, b in pairwise(locs):
            ra, rb = loc_row[a], loc_row[b]
            leg = graph.path(pred[ra], int(unique[ra]), int(unique[rb]))
            steps += leg
            pieces.append(graph.coordinates(leg))
            if access is not None and b not in (START, END):
                pieces.append(access.out_and_back(2 + chosen[b - 2]))
        xy = join_lines(pieces)
        stops = []
        for seq, v in enumerate(visits, start=1):
            t = self.req.targets[chosen[v.stop]]
            stops.append({"seq": seq, "collection": t.collection, "code": t.code,
                          "name": t.name, "task": t.task, "lon": t.lon, "lat": t.lat,
                          "arrival": _start_at(self.req, v.arrival_s),
                          "service_min": round(float(problem.service_s[v.stop]) / 60, 1),
                          "access_m": round(snaps[2 + chosen[v.stop]].distance_m, 1)})
        length = sum(graph.piece_length(p) for p, _ in steps)
        if access is not None:  # the walk to each adit and back is part of the track
            length += sum(2 * snaps[2 + chosen[v.stop]].distance_m for v in visits)
        return Drawn(self._line(xy), float(length), float(total), stops)

    def _line(self, xy: np.ndarray) -> list[list[float]]:
        if len(xy) == 0:
            start = self.metric([self.req.start])
            xy = np.vstack([start, start])
        elif len(xy) == 1:
            xy = np.vstack([xy, xy])
        return self.lonlat(xy)

    # ---- street sweep -----------------------------------------------------------------

    def sweep(self) -> tuple[list[Drawn], dict[str, float]]:
        req, t0 = self.req, time.perf_counter()
        usable = _usable(self.network, req.travel_mode)
        graph, snaps = build_routing_graph(self.network, self.metric([req.start]), usable)
        self._check_depot(snaps[0].distance_m, "start")
        area = shapely.from_wkb(req.area_wkb)
        x, y = self.fwd.transform(*shapely.get_coordinates(area).T)
        area_m = shapely.transform(area, lambda _c: np.column_stack([x, y]))
        middle = shapely.line_interpolate_point(self.network.geoms, 0.5, normalized=True)
        inside = shapely.contains(area_m, middle)
        if usable is not None:
            skipped = int((inside & ~usable).sum())
            if skipped:
                self.notes.append(f"{skipped} footpath(s) in the area cannot be driven and are "
                                  "left out of a driving sweep")
            inside &= usable
        if not inside.any():
            raise TargetError("the area has no street to sweep")
        if req.end != req.start:
            self.notes.append("a street sweep returns to its start; the end point is ignored")
        required = np.flatnonzero(inside[graph.piece_edge])
        result = plan_sweep(graph, required, snaps[0].node, req.n_patrols, req.max_duration_s)
        for p in result.dropped:
            edge = int(graph.piece_edge[p])
            self.dropped.append({"collection": "roads", "code": str(self.network.road_id[edge]),
                                 "name": self.network.names[edge] or "",
                                 "reason": result.dropped_reason[p]})
        self.timing["sweep_s"] = time.perf_counter() - t0
        drawn = []
        for steps in result.patrols:
            pairs = [(s.piece, s.forward) for s in steps]
            xy = graph.coordinates(pairs)
            cost = sum(graph.piece_cost(p, f) for p, f in pairs)
            length = float(sum(graph.piece_length(p) for p, _ in pairs))
            drawn.append(Drawn(self._line(xy), length, float(cost), []))
        street_m = float(sum(graph.piece_length(int(p)) for p in required))
        quality = {"street_length_m": round(street_m, 1),
                   "street_time_s": round(result.required_s, 1),
                   "lower_bound_s": round(result.lower_bound_s, 1),
                   "total_s": round(result.total_s, 1),
                   "area_optimum_s": None if result.area_optimum_s is None
                   else round(result.area_optimum_s, 1),
                   "gap_to_lower_bound": _gap(result.total_s, result.lower_bound_s)
                   if not result.dropped else None}
        return drawn, quality
