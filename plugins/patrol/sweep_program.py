"""The street sweep as a linear and an integer program (HiGHS through scipy): the
orientation of two-way streets by the relaxation, and the proven optimum over the area's
own streets when the solver finds it in time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gridgeo_plugins.patrol.network import RoutingGraph
from gridgeo_plugins.patrol.sweep_paths import Paths, Step, allowed, close_walk, directed_circuit
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix


def lp_oriented(graph: RoutingGraph, paths: Paths, required: np.ndarray,
                 links: list[tuple[int, int]], depot: int) -> list[Step] | None:
    """Orient each two-way street the way the linear relaxation of the exact program walks
    it most, then solve the directed postman on that orientation exactly (assignment)."""
    program = _program(graph, paths, required, links)
    result = milp(program.cost, bounds=Bounds(0, np.inf), constraints=program.constraints)
    if result.x is None:
        return None
    forward = np.zeros(len(graph.piece_u))
    backward = np.zeros(len(graph.piece_u))
    along = program.tail == graph.piece_u[program.piece]
    np.add.at(forward, program.piece[along], result.x[along])
    np.add.at(backward, program.piece[~along], result.x[~along])
    arcs = []
    for p in program.must:
        go = allowed(graph, p, True) and (forward[p] >= backward[p]
                                            or not allowed(graph, p, False))
        u, v = int(graph.piece_u[p]), int(graph.piece_v[p])
        arcs.append((u, v, p) if go else (v, u, p))
    return close_walk(graph, paths, arcs, depot, set(required.tolist()))


@dataclass
class _Program:
    """The postman as a linear program over the arcs among the streets to cover."""

    tail: np.ndarray
    head: np.ndarray
    piece: np.ndarray
    cost: np.ndarray
    must: list[int]
    nodes: np.ndarray
    constraints: list[LinearConstraint]


def _program(graph: RoutingGraph, paths: Paths, required: np.ndarray,
             links: list[tuple[int, int]]) -> _Program:
    must = set(required.tolist())
    for x, y in links:  # the links' streets must be walked too, so the answer is connected
        must.update(s.piece for s in paths.steps(x, y))
    must_arr = np.array(sorted(must))
    nodes = np.zeros(graph.n_nodes, bool)
    nodes[graph.piece_u[must_arr]] = nodes[graph.piece_v[must_arr]] = True
    inside = nodes[graph.piece_u] & nodes[graph.piece_v]
    fi = np.flatnonzero(inside & (graph.piece_fwd >= 0))
    bi = np.flatnonzero(inside & (graph.piece_back >= 0))
    tail = np.concatenate([graph.piece_u[fi], graph.piece_v[bi]])
    head = np.concatenate([graph.piece_v[fi], graph.piece_u[bi]])
    cost = np.maximum(np.concatenate([graph.piece_fwd[fi], graph.piece_back[bi]]), 1e-6)
    piece = np.concatenate([fi, bi])
    m = len(cost)
    balance = coo_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[tail, head], np.r_[np.arange(m),
                         np.arange(m)])), shape=(graph.n_nodes, m)).tocsr()
    row = {p: i for i, p in enumerate(must_arr.tolist())}
    hit = np.flatnonzero(np.isin(piece, must_arr))
    cover = coo_matrix((np.ones(len(hit)), ([row[int(p)] for p in piece[hit]], hit)),
                       shape=(len(must_arr), m)).tocsr()
    return _Program(tail, head, piece, cost, must_arr.tolist(), nodes,
                    [LinearConstraint(balance, 0, 0), LinearConstraint(cover, 1, np.inf)])


def exact_on_area(graph: RoutingGraph, paths: Paths, required: np.ndarray,
                   links: list[tuple[int, int]], depot: int, time_limit_s: float
                   ) -> tuple[list[Step], bool] | None:
    """The optimum over the area's own streets (and the links joining its parts), by integer
    programming (HiGHS): how often to walk each street each way so that every node is left
    as often as entered and every street is covered. Exact for asymmetric walking times and
    one-way streets alike. Returns the walk and whether it is proven optimal; None when no
    answer was found within the time limit."""
    if time_limit_s <= 0:
        return None
    program = _program(graph, paths, required, links)
    tail, head, piece, must = program.tail, program.head, program.piece, set(program.must)
    nodes = program.nodes
    result = milp(program.cost, integrality=np.ones(len(program.cost)), bounds=Bounds(0, np.inf),
                  constraints=program.constraints,
                  options={"time_limit": time_limit_s, "mip_rel_gap": 1e-4})
    if result.x is None:
        return None
    times = np.rint(result.x).astype(int)
    arcs = [(int(tail[k]), int(head[k]), int(piece[k])) for k in np.flatnonzero(times)
            for _ in range(times[k])]
    start = depot if nodes[depot] else arcs[0][0]
    steps, seen = [], set()
    for u, _, p in directed_circuit(arcs, start):
        first = p in must and p not in seen
        seen.add(p)
        steps.append(Step(p, bool(graph.piece_u[p] == u), first and p in set(required.tolist())))
    if len(steps) != len(arcs) or not must <= seen:
        return None  # not one connected circuit: keep the heuristic's answer
    walk = paths.steps(depot, start) + steps + paths.steps(start, depot)
    return walk, bool(result.status == 0 and start == depot)
