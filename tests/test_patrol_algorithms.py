"""Patrol routing without a database: known answers on tiny networks, solver rules, GPX."""

from __future__ import annotations

import io

import networkx as nx
import numpy as np
import pytest
from gridgeo_plugins.patrol.network import build_routing_graph
from gridgeo_plugins.patrol.solvers import (
    SOLVERS,
    VisitProblem,
    is_feasible,
    repair,
    route_duration,
    schedule,
)
from gridgeo_plugins.patrol.sweep import Step, plan_sweep
from gridgeo_plugins.patrol.tobler import tobler_kmh, walking_seconds
from scipy.sparse.csgraph import dijkstra

from tests.patrol_networks import WALK_MS, lattice, line, square

# ---- the network and its shortest paths ----------------------------------------------


def _problem(net, depot, stops, **kw):
    graph, snaps = build_routing_graph(net, np.array([depot, depot, *stops], float))
    nodes = np.array([s.node for s in snaps])
    dist, pred = graph.shortest(nodes)
    matrix = dist[:, nodes]
    n = len(stops)
    problem = VisitProblem(matrix, np.zeros(n), np.zeros(n), np.full(n, np.inf), **kw)
    return graph, snaps, problem, pred


def test_square_tour_goes_round_once():
    _, _, problem, _ = _problem(square(), (0, 0), [(100, 0), (100, 100), (0, 100)])
    plan = SOLVERS["pyvrp"].solve(problem, 1.0)
    assert plan.dropped == []
    assert route_duration(problem, plan.routes[0]) == pytest.approx(400 / WALK_MS)
    assert plan.routes[0] in ([0, 1, 2], [2, 1, 0])


def test_stop_in_the_middle_of_an_edge_is_reached_there():
    graph, snaps, problem, _ = _problem(line(2), (0, 0), [(30, 12)])
    assert snaps[2].distance_m == pytest.approx(12)
    assert problem.matrix[0, 2] == pytest.approx(30 / WALK_MS)
    assert graph.n_nodes == 3  # the edge was split at the stop


def test_line_is_visited_in_order_and_walked_back():
    _, _, problem, _ = _problem(line(4), (0, 0), [(300, 0), (100, 0), (200, 0)])
    plan = SOLVERS["pyvrp"].solve(problem, 1.0)
    assert plan.routes == [[1, 2, 0]]
    visits, total = schedule(problem, plan.routes[0])
    assert [round(v.arrival_s * WALK_MS) for v in visits] == [100, 200, 300]
    assert total == pytest.approx(600 / WALK_MS)


def test_one_way_street_is_never_driven_against_its_direction():
    # edge 0 runs 0 -> 1 only: from corner 1 back to corner 0 a car goes round the square
    graph, snaps, problem, pred = _problem(square(oneway=(0,)), (100, 0), [(0, 0)])
    assert problem.matrix[0, 2] == pytest.approx(300 / WALK_MS)
    assert problem.matrix[2, 0] == pytest.approx(100 / WALK_MS)
    start, stop = snaps[0].node, snaps[2].node
    steps = graph.path(pred[0], start, stop)
    assert [int(graph.piece_edge[p]) for p, _ in steps] == [1, 2, 3]


# ---- several patrols, durations, time windows ----------------------------------------


def _random_problem(n, patrols, hours, windows=False, seed=3, service=300.0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 6000, (n + 2, 2))
    xy[1] = xy[0]
    matrix = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)) / WALK_MS
    early = np.zeros(n)
    late = np.full(n, np.inf)
    if windows:
        early = rng.choice([0, 3600, 7200], n).astype(float)
        late = early + 5400
    return VisitProblem(matrix, np.full(n, service), early, late, patrols, hours * 3600)


@pytest.mark.parametrize("windows", [False, True])
def test_every_patrol_respects_its_maximum_duration_and_the_time_windows(windows):
    problem = _random_problem(60, 4, 3, windows)
    plan = repair(problem, SOLVERS["pyvrp"].solve(problem, 2.0))
    assert len(plan.routes) <= 4
    for route in plan.routes:
        visits, total = schedule(problem, route)
        assert total <= 3 * 3600 + 1e-6
        assert all(problem.tw_early[v.stop] <= v.start_s <= problem.tw_late[v.stop] + 1e-6
                   for v in visits)
    visited = sorted(s for r in plan.routes for s in r)
    assert sorted(visited + plan.dropped) == list(range(60))


def test_more_work_than_time_drops_stops_instead_of_failing():
    problem = _random_problem(60, 1, 1)
    plan = repair(problem, SOLVERS["pyvrp"].solve(problem, 1.0))
    assert plan.dropped and plan.routes
    assert all(is_feasible(problem, r) for r in plan.routes)


def test_pyvrp_beats_the_nearest_neighbour_baseline_on_200_stops_in_3_s_of_search():
    problem = _random_problem(200, 1, 24, service=0.0)
    best = SOLVERS["pyvrp"].solve(problem, 3.0)
    baseline = SOLVERS["nearest"].solve(problem, 0)
    assert best.dropped == [] and baseline.dropped == []
    ours = route_duration(problem, best.routes[0])
    assert ours < 0.9 * route_duration(problem, baseline.routes[0])


# ---- street sweep ----------------------------------------------------------------------


def _check_walk(graph, depot, steps: list[Step]):
    """The steps form one continuous, legal walk from the depot back to it."""
    at = depot
    for s in steps:
        u, v = int(graph.piece_u[s.piece]), int(graph.piece_v[s.piece])
        a, b = (u, v) if s.forward else (v, u)
        assert a == at
        assert graph.piece_cost(s.piece, s.forward) >= 0
        at = b
    assert at == depot


def _sweep(net, depot=(0.0, 0.0), **kw):
    kw.setdefault("ilp_time_s", 0.5)
    graph, snaps = build_routing_graph(net, np.array([depot]))
    required = np.arange(len(graph.piece_u))
    return graph, snaps[0].node, plan_sweep(graph, required, snaps[0].node, **kw)


def test_sweeping_a_square_walks_each_street_once():
    graph, depot, result = _sweep(square())
    assert result.total_s == pytest.approx(400 / WALK_MS)
    _check_walk(graph, depot, result.patrols[0])


def test_sweeping_a_line_walks_it_there_and_back():
    graph, depot, result = _sweep(line(4), depot=(100.0, 0.0))
    assert result.total_s == pytest.approx(600 / WALK_MS)
    assert result.lower_bound_s == pytest.approx(600 / WALK_MS)
    _check_walk(graph, depot, result.patrols[0])


def test_driving_sweep_of_a_one_way_square_follows_the_one_way():
    _, _, result = _sweep(square(oneway=(0, 1, 2, 3)))
    assert result.total_s == pytest.approx(400 / WALK_MS)
    assert all(s.forward for s in result.patrols[0])


def _exact_postman(net) -> float:
    """Street length plus an exact minimum matching of the odd nodes (complete graph)."""
    graph, _ = build_routing_graph(net, np.empty((0, 2)))
    degree = np.bincount(np.concatenate([net.source, net.target]), minlength=net.n_nodes)
    odd = np.flatnonzero(degree % 2)
    dist = dijkstra(graph.matrix, directed=False, indices=odd)[:, odd]
    g = nx.Graph()
    for i in range(len(odd)):
        for j in range(i + 1, len(odd)):
            g.add_edge(i, j, weight=dist[i, j])
    matching = nx.min_weight_matching(g)
    return float(net.forward.sum() + sum(dist[a, b] for a, b in matching))


def test_walking_sweep_of_a_2000_edge_grid_is_within_2_percent_of_optimal():
    net = lattice(32, 32, jitter=20.0)
    assert len(net.geoms) == 1984
    graph, depot, result = _sweep(net)
    covered = {s.piece for s in result.patrols[0] if s.required}
    assert covered == set(range(len(graph.piece_u)))
    _check_walk(graph, depot, result.patrols[0])
    assert result.total_s <= 1.02 * _exact_postman(net)


def test_driving_sweep_with_one_way_streets_is_legal_and_reports_its_gap():
    rng = np.random.default_rng(1)
    net = lattice(12, 12, oneway=tuple(rng.choice(264, 12, replace=False).tolist()))
    graph, depot, result = _sweep(net)
    _check_walk(graph, depot, result.patrols[0])
    assert {s.piece for s in result.patrols[0] if s.required} == set(range(len(graph.piece_u)))
    assert result.lower_bound_s <= result.total_s <= 1.25 * result.lower_bound_s


def test_a_long_sweep_is_split_into_patrols_within_the_limit():
    graph, depot, result = _sweep(lattice(8, 8), n_patrols=10, max_duration_s=3600)
    assert 1 < len(result.patrols) <= 10 and not result.dropped
    for steps in result.patrols:
        _check_walk(graph, depot, steps)
        assert sum(graph.piece_cost(s.piece, s.forward) for s in steps) <= 3600 + 1e-6
    covered = [s.piece for p in result.patrols for s in p if s.required]
    assert sorted(covered) == list(range(len(graph.piece_u)))


# ---- terrain --------------------------------------------------------------------------


def test_tobler_speeds_at_known_slopes():
    assert tobler_kmh(0.0) == pytest.approx(5.04, abs=0.01)
    assert tobler_kmh(-0.05) == pytest.approx(6.0)
    assert tobler_kmh(0.10) == pytest.approx(3.55, abs=0.01)
    assert tobler_kmh(-0.20) == pytest.approx(3.55, abs=0.01)


def test_walking_seconds_up_and_down_a_10_percent_slope():
    import shapely

    edge = np.array([shapely.LineString([(0, 0), (1000, 0)])])
    up, down = walking_seconds(edge, lambda x, y: 0.1 * x)
    assert up[0] == pytest.approx(1000 / (tobler_kmh(0.1) / 3.6), rel=1e-6)
    assert down[0] == pytest.approx(1000 / (tobler_kmh(-0.1) / 3.6), rel=1e-6)


# ---- GPX -------------------------------------------------------------------------------


def _gpx_patrol():
    return {"route_no": "XC20261125-001", "name": "村 <A&B> patrol 1",
            "starts_at": "2026-11-25T08:30:00+08:00", "length_m": 1234.0, "duration_s": 3600,
            "coordinates": [[112.3, 34.1], [112.301, 34.1005], [112.302, 34.101]],
            "stops": [{"seq": 1, "name": "矿洞 410322KD0001", "task": "inspect & scan",
                       "collection": "mine_tunnels", "lon": 112.301, "lat": 34.1005,
                       "arrival": "2026-11-25T08:41:00+08:00"}]}


def test_gpx_validates_against_the_gpx_1_1_schema_and_reads_back():
    import gpxpy
    from gridgeo_plugins.patrol.gpx import gpx_schema, patrols_to_gpx
    from lxml import etree

    body = patrols_to_gpx([_gpx_patrol()], "test")
    schema = gpx_schema()
    assert schema.validate(etree.parse(io.BytesIO(body))), schema.error_log
    gpx = gpxpy.parse(body.decode("utf-8"))
    assert len(gpx.tracks) == 1 and len(gpx.tracks[0].segments[0].points) == 3
    assert gpx.tracks[0].name == "XC20261125-001 村 <A&B> patrol 1"
    wpt = gpx.waypoints[0]
    assert (wpt.longitude, wpt.latitude) == (112.301, 34.1005)
    assert wpt.time is not None
    assert wpt.time.isoformat() == "2026-11-25T00:41:00+00:00"
