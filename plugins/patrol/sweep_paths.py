"""What the street-sweep methods share: a traversal step, cached shortest paths, and the
directed Euler circuit that turns a balanced set of arcs into a walk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gridgeo_plugins.patrol.network import RoutingGraph
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import dijkstra


@dataclass
class Step:
    """One traversal of a network piece; ``required`` when it is a street being swept."""

    piece: int
    forward: bool
    required: bool


class Paths:
    """Directed shortest paths, one Dijkstra per source, cached."""

    def __init__(self, graph: RoutingGraph):
        self.graph = graph
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def row(self, src: int) -> tuple[np.ndarray, np.ndarray]:
        if src not in self._cache:
            dist, pred = dijkstra(self.graph.matrix, indices=src, return_predecessors=True)
            self._cache[src] = (dist, pred)
        return self._cache[src]

    def steps(self, src: int, dst: int) -> list[Step]:
        if src == dst:
            return []
        _, pred = self.row(src)
        return [Step(p, f, False) for p, f in self.graph.path(pred, src, dst)]


def allowed(graph: RoutingGraph, piece: int, forward: bool) -> bool:
    return bool((graph.piece_fwd if forward else graph.piece_back)[piece] >= 0)


def directed_circuit(arcs: list[tuple[int, int, int]], start: int
                      ) -> list[tuple[int, int, int]]:
    out: dict[int, list[int]] = {}
    for i, (u, _, _) in enumerate(arcs):
        out.setdefault(u, []).append(i)
    stack, circuit = [(start, -1)], []
    while stack:
        node, _ = stack[-1]
        if out.get(node):
            i = out[node].pop()
            stack.append((arcs[i][1], i))
        else:
            _, i = stack.pop()
            if i >= 0:
                circuit.append(arcs[i])
    circuit.reverse()
    return circuit


def close_walk(graph: RoutingGraph, paths: Paths, arcs: list[tuple[int, int, int]], depot: int,
           required: set[int]) -> list[Step] | None:
    """Balance a connected set of arcs (piece >= 0, or -1 for a shortest-path link) with a
    minimum-cost assignment of shortest legal paths, then follow a directed Euler circuit."""
    excess = np.zeros(graph.n_nodes, np.int64)
    for u, v, _ in arcs:
        excess[v] += 1
        excess[u] -= 1
    give = np.repeat(np.flatnonzero(excess > 0), excess[excess > 0])
    take = np.repeat(np.flatnonzero(excess < 0), -excess[excess < 0])
    if len(give):
        dist = np.vstack([paths.row(int(a))[0][take] for a in give])
        if not np.all(np.isfinite(dist.min(axis=1))):
            return None
        rows, cols = linear_sum_assignment(np.where(np.isfinite(dist), dist, 1e12))
        arcs += [(int(give[r]), int(take[c]), -1) for r, c in zip(rows, cols, strict=True)]
    start = depot if any(u == depot for u, _, _ in arcs) else arcs[0][0]
    steps: list[Step] = []
    for u, v, piece in directed_circuit(arcs, start):
        if piece >= 0:
            steps.append(Step(piece, bool(graph.piece_u[piece] == u), piece in required))
        else:
            steps += paths.steps(u, v)
    return paths.steps(depot, start) + steps + paths.steps(start, depot)
