"""Benchmark of the patrol-route methods on the demo town: speed and quality.

    .venv/bin/python scripts/bench_patrol.py [--database-url URL] [--long 60]

Needs the demo town loaded (`gridgeo demo`). Compares, for the same requests:
- stop-to-stop matrices: scipy (in memory) against pgRouting's pgr_dijkstraCostMatrix;
- ordering: a nearest-neighbour baseline, PyVRP as the process runs it (3 s), and a long
  run of a different solver (OR-Tools guided local search, `pip install ortools`);
- several patrols with a 4 h limit, with and without time windows;
- street sweep: our postman against a proven lower bound and a long integer-programming run;
- walking times: rasterio's per-point sample() against reading the band once.
Prints Markdown tables (docs/patrol-routes.md shows one run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DAY = dt.date(2026, 11, 20)
START, END = 0, 1  # as gridgeo_plugins.patrol.solvers


def _table(title: str, head: list[str], rows: list[list[object]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(f"{v:,.2f}" if isinstance(v, float) else str(v) for v in r)
              + " |")


def _ortools(problem, seconds: float) -> float | None:  # type: ignore[no-untyped-def]
    """OR-Tools' best single-patrol tour time (guided local search), or None if absent."""
    try:
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    except ImportError:
        return None
    n = 2 + problem.n_stops
    cost = np.rint(problem.matrix).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n, 1, [0], [1])
    routing = pywrapcp.RoutingModel(manager)
    cb = routing.RegisterTransitCallback(
        lambda i, j: int(cost[manager.IndexToNode(i), manager.IndexToNode(j)]))
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.seconds = int(seconds)
    solution = routing.SolveWithParameters(params)
    return float(solution.ObjectiveValue()) if solution else None


def _lkh(problem, runs: int = 10) -> float | None:  # type: ignore[no-untyped-def]
    """LKH's single-patrol tour time through elkai (the `bench` extra), or None if absent.

    The start-to-end path is an asymmetric TSP on [start, stops...] where returning to the
    start costs what reaching the end does. elkai wraps LKH, whose licence allows
    non-commercial use only: it is a benchmark reference here, never shipped or run.
    """
    try:
        import elkai
    except ImportError:
        return None
    n = problem.n_stops
    rows = [START, *range(2, 2 + n)]
    tour = problem.matrix[np.ix_(rows, rows)].copy()
    tour[:, 0] = problem.matrix[rows, END]
    tour[0, 0] = 0
    # LKH works in integers: tenths of a second keep the rounding below 0.01 %.
    order = elkai.DistanceMatrix(np.rint(tour * 10).astype(int).tolist()).solve_tsp(runs)
    order = order[:-1] if order[-1] == order[0] else order
    at = order.index(0)
    stops = [k - 1 for k in order[at + 1:] + order[:at]]
    from gridgeo_plugins.patrol.solvers import route_duration

    return route_duration(problem, stops)


def bench_visits(conn, long_s: float) -> None:  # type: ignore[no-untyped-def]
    from gridgeo_plugins.patrol.network import build_routing_graph
    from gridgeo_plugins.patrol.plan import Planner
    from gridgeo_plugins.patrol.process import parse_request
    from gridgeo_plugins.patrol.solvers import SOLVERS, VisitProblem, repair, route_duration

    req = parse_request(conn, {"area": {"level": "town"}, "targets": ["incidents"],
                               "date": DAY.isoformat(), "service_minutes": 0,
                               "travel_mode": "driving"})
    req.targets = req.targets[:200]
    planner = Planner(conn, req)
    pts = planner.metric([req.start, req.end, *[(t.lon, t.lat) for t in req.targets]])
    started = time.perf_counter()
    usable = (planner.network.forward >= 0) | (planner.network.backward >= 0)
    graph, snaps = build_routing_graph(planner.network, pts, usable)
    nodes = np.array([s.node for s in snaps])
    dist, _ = graph.shortest(np.unique(nodes))
    scipy_s = time.perf_counter() - started
    vids = conn.execute("SELECT DISTINCT source FROM gridgeo.roads ORDER BY source LIMIT %s",
                        (len(nodes),)).fetchall()
    started = time.perf_counter()
    conn.execute("SELECT count(*) FROM pgr_dijkstraCostMatrix('SELECT id, source, target, "
                 "cost, reverse_cost FROM gridgeo.roads', %s)",
                 ([v[0] for v in vids],)).fetchone()
    pgr_s = time.perf_counter() - started
    _table(f"Stop-to-stop matrix, {len(nodes)} stops, {len(planner.network.geoms):,} edges",
           ["method", "seconds"], [["scipy dijkstra (snapping and edge splitting included)",
                                    scipy_s], ["pgr_dijkstraCostMatrix", pgr_s]])
    index = {int(n): i for i, n in enumerate(np.unique(nodes))}
    rows = [index[int(n)] for n in nodes]
    matrix = dist[:, np.unique(nodes)][rows][:, rows]
    n = len(nodes) - 2
    zero = np.zeros(n)

    def problem(patrols: int = 1, hours: float = 24, windows: bool = False,
                service: float = 0) -> VisitProblem:
        early, late = zero.copy(), np.full(n, np.inf)
        if windows:
            rng = np.random.default_rng(7)
            early = rng.choice([0.0, 3600.0, 7200.0, 10800.0], n)
            late = early + 7200
        return VisitProblem(matrix, np.full(n, service), early, late, patrols, hours * 3600)

    single = problem(hours=float("inf"))  # as a request without max_hours
    rows_out = []
    for name, solver, limit in [("nearest neighbour", "nearest", 0), ("PyVRP 3 s (default)",
                                "pyvrp", 3), (f"PyVRP {long_s:g} s", "pyvrp", long_s)]:
        t = time.perf_counter()
        # The long run is a time_limit_s a caller gives: searched whole.
        plan = repair(single, SOLVERS[solver].solve(single, limit,
                                                    use_all_time=limit == long_s))
        rows_out.append([name, time.perf_counter() - t,
                         route_duration(single, plan.routes[0]) / 3600])
    t = time.perf_counter()
    ref = _ortools(single, long_s)
    if ref is not None:
        rows_out.append([f"OR-Tools guided local search {long_s:g} s", time.perf_counter() - t,
                         ref / 3600])
    t = time.perf_counter()
    lkh = _lkh(single)
    if lkh is not None:
        rows_out.append(["LKH (elkai, 10 runs)", time.perf_counter() - t, lkh / 3600])
    else:
        print("\n(elkai not installed: pip install -e '.[bench]'; the best run is the "
              "reference)", file=sys.stderr)
    best = lkh / 3600 if lkh is not None else min(r[2] for r in rows_out)
    reference = "LKH" if lkh is not None else "the best"
    _table(f"One driving patrol to {n} open incidents of the town (gap to {reference})",
           ["method", "seconds", "hours", "gap"],
           [[*r, f"{(r[2] / best - 1) * 100:.2f} %"] for r in rows_out])
    rows_out = []
    for label, p in [("4 h limit, 10 min per stop", problem(12, 4, service=600)),
                     ("4 h limit, 10 min per stop, 2 h time windows",
                      problem(12, 4, windows=True, service=600))]:
        for name, solver, limit in [("nearest neighbour", "nearest", 0),
                                    ("PyVRP 3 s", "pyvrp", 3), ("PyVRP 10 s", "pyvrp", 10)]:
            t = time.perf_counter()
            plan = repair(p, SOLVERS[solver].solve(p, limit))
            total = sum(route_duration(p, r) for r in plan.routes) / 3600
            rows_out.append([label, name, time.perf_counter() - t, len(plan.routes), total,
                             len(plan.dropped)])
    _table(f"Several driving patrols, {n} incidents", ["case", "method", "seconds", "patrols",
                                           "total hours", "dropped"], rows_out)


def _reference_postman(graph, required, seconds: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Integer program over every edge within 2 km of the area (HiGHS, long run)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    ends = np.unique(np.concatenate([graph.piece_u[required], graph.piece_v[required]]))
    near = dijkstra(graph.matrix, directed=False, indices=ends, min_only=True, limit=1800)
    keep = np.isfinite(near[graph.piece_u]) & np.isfinite(near[graph.piece_v])
    fi = np.flatnonzero(keep & (graph.piece_fwd >= 0))
    bi = np.flatnonzero(keep & (graph.piece_back >= 0))
    tail = np.r_[graph.piece_u[fi], graph.piece_v[bi]]
    head = np.r_[graph.piece_v[fi], graph.piece_u[bi]]
    cost = np.maximum(np.r_[graph.piece_fwd[fi], graph.piece_back[bi]], 1e-6)
    piece = np.r_[fi, bi]
    m = len(cost)
    balance = coo_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[tail, head],
                          np.r_[np.arange(m), np.arange(m)])), shape=(graph.n_nodes, m))
    row = {int(p): i for i, p in enumerate(required)}
    hit = np.flatnonzero(np.isin(piece, required))
    cover = coo_matrix((np.ones(len(hit)), ([row[int(p)] for p in piece[hit]], hit)),
                       shape=(len(required), m))
    res = milp(cost, integrality=np.ones(m), bounds=Bounds(0, np.inf),
               constraints=[LinearConstraint(balance.tocsr(), 0, 0),
                            LinearConstraint(cover.tocsr(), 1, np.inf)],
               options={"time_limit": seconds})
    return float(res.fun) if res.x is not None else float("nan"), float(res.mip_dual_bound)


def bench_sweeps(conn, long_s: float) -> None:  # type: ignore[no-untyped-def]
    import gridgeo_plugins.patrol.plan as plan_module
    import shapely
    from gridgeo_plugins.patrol.network import build_routing_graph
    from gridgeo_plugins.patrol.plan import Planner
    from gridgeo_plugins.patrol.process import parse_request
    from gridgeo_plugins.patrol.sweep import plan_sweep

    from tests.patrol_networks import helsinki, lattice

    rows: list[list[object]] = []
    net = lattice(32, 32, jitter=20.0)
    graph, snaps = build_routing_graph(net, np.array([[0.0, 0.0]]))
    required = np.arange(len(graph.piece_u))
    t = time.perf_counter()
    result = plan_sweep(graph, required, snaps[0].node)
    rows.append(["flat 32x32 grid, 1,984 edges", "walking", time.perf_counter() - t,
                 result.total_s / result.required_s - 1, result.total_s / result.lower_bound_s - 1,
                 "proven optimal (bound is exact)"])
    net = helsinki("driving")
    centre = shapely.centroid(shapely.union_all(net.geoms))
    graph, snaps = build_routing_graph(net, np.array([[centre.x, centre.y]]))
    t = time.perf_counter()
    result = plan_sweep(graph, np.arange(len(graph.piece_u)), snaps[0].node)
    took = time.perf_counter() - t
    kept = np.setdiff1d(np.arange(len(graph.piece_u)), result.dropped)
    best, bound = _reference_postman(graph, kept, long_s)
    rows.append([f"Helsinki (OSM), {len(kept):,} of {len(graph.piece_u):,} edges", "driving",
                 took, result.total_s / result.required_s - 1,
                 result.total_s / result.lower_bound_s - 1,
                 f"{(result.total_s / best - 1) * 100:+.2f} % vs MIP {long_s:g} s "
                 f"(its bound {(result.total_s / bound - 1) * 100:.2f} % below us)"])
    seen: dict[str, tuple] = {}
    original = plan_module.plan_sweep

    def spy(graph, required, depot, *a, **k):  # type: ignore[no-untyped-def]
        seen["last"] = (graph, required)
        return original(graph, required, depot, *a, **k)

    plan_module.plan_sweep = spy
    for grid in ("410399101218", "410399101001", "410399101210"):
        for mode in ("walking", "driving"):
            req = parse_request(conn, {"area": {"grids": [grid]}, "patrol_kind": "street_sweep",
                                       "travel_mode": mode})
            t = time.perf_counter()
            _, q = Planner(conn, req).sweep()
            took = time.perf_counter() - t
            g, r = seen["last"]
            best, bound = _reference_postman(g, r, long_s)
            rows.append([f"village {grid}, {len(r):,} edges", mode, took,
                         q["total_s"] / q["street_time_s"] - 1, q["gap_to_lower_bound"],
                         f"{(q['total_s'] / best - 1) * 100:+.2f} % vs MIP {long_s:g} s "
                         f"(its bound {(q['total_s'] / bound - 1) * 100:.2f} % below us)"])
    plan_module.plan_sweep = original
    _table("Street sweep (every street at least once)",
           ["network", "mode", "seconds", "over street time", "over lower bound", "reference"],
           [[a, b, c, f"{float(d) * 100:.1f} %", f"{float(e) * 100:.2f} %", f]  # type: ignore[arg-type]
            for a, b, c, d, e, f in rows])


def bench_terrain(conn, dem: Path) -> None:  # type: ignore[no-untyped-def]
    import rasterio
    import shapely
    from gridgeo_plugins.patrol.tobler import SAMPLE_M, dem_sampler, walking_seconds

    rows = conn.execute("SELECT ST_AsBinary(ST_Transform(geom, 4546)) FROM gridgeo.roads"
                        ).fetchall()
    geoms = shapely.from_wkb([bytes(r[0]) for r in rows])
    t = time.perf_counter()
    walking_seconds(geoms, dem_sampler(dem))
    numpy_s = time.perf_counter() - t
    coords = shapely.get_coordinates(shapely.segmentize(geoms, SAMPLE_M))
    t = time.perf_counter()
    with rasterio.open(dem) as src:
        list(src.sample([tuple(c) for c in coords]))
    sample_s = time.perf_counter() - t
    _table(f"Walking times for {len(geoms):,} edges ({len(coords):,} DEM samples)",
           ["method", "seconds"], [["rasterio sample() per point", sample_s],
                                   ["band read once, numpy bilinear", numpy_s]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--long", type=float, default=60.0, help="seconds of the long runs")
    parser.add_argument("--dem", type=Path, help="the DEM GeoTIFF (default: settings)")
    parser.add_argument("--only", choices=["visits", "sweeps", "terrain"])
    args = parser.parse_args()
    from gridgeo.db.pool import connect
    from gridgeo.settings import get_settings

    with connect(args.database_url) as conn:
        count = conn.execute("SELECT count(*) FROM gridgeo.roads").fetchone()
        if not count or count[0] == 0:
            sys.exit("no roads: load the demo town first (gridgeo demo)")
        if args.only in (None, "visits"):
            bench_visits(conn, args.long)
        if args.only in (None, "sweeps"):
            bench_sweeps(conn, args.long)
        dem = args.dem or get_settings().dem
        if args.only not in (None, "terrain"):
            pass
        elif dem.exists():
            bench_terrain(conn, dem)
        else:
            print(f"\n(no DEM at {dem}: terrain timing skipped)", file=sys.stderr)


if __name__ == "__main__":
    main()
