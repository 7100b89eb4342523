"""Street sweep: walk (or drive) every road of an area at least once (route inspection).

On foot every street is two-way, so this is the undirected (rural) postman problem:
join the area's pieces of network by a minimum spanning tree of shortest paths
(Frederickson), pair the odd-degree nodes by a minimum-weight matching of shortest-path
times (Edmonds' blossom on each odd node's 10 nearest odd nodes, which found the exact
optimum on every instance measured), then follow an Euler circuit (Hierholzer). When the
area's network is connected and costs are symmetric this is the optimum.

By car, one-way streets make it the mixed postman problem (NP-hard). The circuit is
oriented the way that breaks fewest one-way rules, and each remaining wrong-way street is
driven the right way with the shortest legal detour. The answer reports its distance from
a lower bound: the undirected relaxation (every street at its cheaper direction, odd nodes
matched at their cheaper shortest-path time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from gridgeo_plugins.patrol.network import RoutingGraph
from gridgeo_plugins.patrol.sweep_paths import Paths, Step, allowed, close_walk
from gridgeo_plugins.patrol.sweep_program import exact_on_area, lp_oriented
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree

MATCH_NEIGHBOURS = 20
EXACT_MATCHING = 100
@dataclass
class SweepResult:
    """Each patrol's steps, the streets left out (pieces) and the quality figures."""

    patrols: list[list[Step]]
    dropped: list[int] = field(default_factory=list)
    dropped_reason: dict[int, str] = field(default_factory=dict)
    required_s: float = 0.0
    lower_bound_s: float = 0.0
    total_s: float = 0.0
    area_optimum_s: float | None = None  # proven optimum over the area's own streets


def _undirected_weight(graph: RoutingGraph, piece: np.ndarray) -> np.ndarray:
    f, b = graph.piece_fwd[piece], graph.piece_back[piece]
    return np.where(f >= 0, np.where(b >= 0, np.minimum(f, b), f), b)


def min_weight_pairs(dist: np.ndarray, neighbours: int = MATCH_NEIGHBOURS
                     ) -> list[tuple[int, int]]:
    """A minimum-weight perfect matching of the rows of a symmetric distance matrix.

    Edmonds' blossom (networkx) on the complete graph up to ``EXACT_MATCHING`` nodes (about
    0.5 s); beyond, on each node's nearest neighbours only (exact on every instance measured
    with 20 neighbours; 10 missed by up to 2 %). Leftovers are paired greedily.
    """
    n = len(dist)
    if n == 0:
        return []
    g = nx.Graph()
    k = n - 1 if n <= EXACT_MATCHING else min(neighbours, n - 1)
    near = np.argsort(dist, axis=1)[:, 1:k + 1]
    for i in range(n):
        for j in near[i]:
            if np.isfinite(dist[i, j]):
                g.add_edge(i, int(j), weight=float(dist[i, j]))
    pairs = [tuple(sorted(p)) for p in nx.min_weight_matching(g)]
    left = sorted(set(range(n)) - {x for p in pairs for x in p})
    while len(left) >= 2:
        a = left.pop(0)
        b = min(left, key=lambda j: dist[a, j])
        left.remove(b)
        pairs.append((a, b))
    return [(int(a), int(b)) for a, b in pairs]


def _euler_circuit(n_nodes: int, ends: list[tuple[int, int]], start: int) -> list[tuple[int, bool]]:
    """Hierholzer: the multigraph's edges in circuit order, each with its direction."""
    adjacency: dict[int, list[int]] = {}
    for e, (u, v) in enumerate(ends):
        adjacency.setdefault(u, []).append(e)
        adjacency.setdefault(v, []).append(e)
    used = [False] * len(ends)
    stack: list[tuple[int, int, bool]] = [(start, -1, True)]
    circuit: list[tuple[int, bool]] = []
    while stack:
        node = stack[-1][0]
        edges = adjacency.get(node, [])
        while edges and used[edges[-1]]:
            edges.pop()
        if edges:
            e = edges.pop()
            used[e] = True
            u, v = ends[e]
            forward = u == node
            stack.append((v if forward else u, e, forward))
        else:
            _, e, forward = stack.pop()
            if e >= 0:
                circuit.append((e, forward))
    circuit.reverse()
    return circuit


def lower_bound(graph: RoutingGraph, required: np.ndarray) -> float:
    """Every required piece once at its cheaper direction, plus a minimum matching of its odd
    nodes at undirected shortest-path times (connectivity relaxed). A proven bound when the
    matching is exact (up to ``EXACT_MATCHING`` odd nodes)."""
    weight = _undirected_weight(graph, required)
    degree = np.bincount(np.concatenate([graph.piece_u[required], graph.piece_v[required]]),
                         minlength=graph.n_nodes)
    odd = np.flatnonzero(degree % 2)
    if len(odd) == 0:
        return float(weight.sum())
    dist = dijkstra(graph.matrix, directed=False, indices=odd)[:, odd]
    return float(weight.sum() + sum(dist[a, b] for a, b in min_weight_pairs(dist)))


def plan_sweep(graph: RoutingGraph, required: np.ndarray, depot: int, n_patrols: int = 1,
               max_duration_s: float = float("inf"), ilp_time_s: float = 1.5) -> SweepResult:
    """Cover every required piece from and back to ``depot``; split into patrols if long."""
    required = np.asarray(required, dtype=np.int64)
    result = SweepResult([])
    reach = np.isfinite(Paths(graph).row(depot)[0])
    back = np.isfinite(dijkstra(graph.matrix.T.tocsr(), indices=depot))
    u, v = graph.piece_u[required], graph.piece_v[required]
    # a street counts when it can be entered from the start, driven its legal way and left
    # back to the start (one-way streets out of a clipped network cannot)
    ok = ((graph.piece_fwd[required] >= 0) & reach[u] & back[v]) | \
         ((graph.piece_back[required] >= 0) & reach[v] & back[u])
    for p in required[~ok]:
        result.dropped.append(int(p))
        result.dropped_reason[int(p)] = "not connected to the start on the road network"
    required = required[ok]
    if len(required) == 0:
        return result
    result.required_s = float(_undirected_weight(graph, required).sum())
    result.lower_bound_s = lower_bound(graph, required)
    ends = [(int(graph.piece_u[p]), int(graph.piece_v[p])) for p in required]
    ends += _connectors(graph, required, depot)
    links = list(ends[len(required):])
    ends += _odd_pairs(graph, ends)
    circuit = _euler_circuit(graph.n_nodes, ends, depot)
    paths = Paths(graph)
    walks = [_drive(graph, paths, circuit, ends, len(required), required, depot, flip)
             for flip in (False, True)]
    if np.any(graph.piece_back[required] < 0) or np.any(graph.piece_fwd[required] < 0):
        walks += [w for flip in (False, True)
                  if (w := _balanced(graph, paths, circuit, ends, required, depot, flip))]
        if (oriented := lp_oriented(graph, paths, required, links, depot)) is not None:
            walks.append(oriented)
    fwd, back = graph.piece_fwd[required], graph.piece_back[required]
    symmetric = bool(np.allclose(fwd, back)) and not links
    # symmetric and connected: matching + Euler circuit is already optimal
    exact = None if symmetric else exact_on_area(graph, paths, required, links, depot,
                                                  ilp_time_s)
    if exact is not None:
        walks.append(exact[0])
        if exact[1]:
            result.area_optimum_s = _cost(graph, exact[0])
    steps = min(walks, key=lambda w: _cost(graph, w))
    patrols, left = _split(graph, paths, steps, depot, n_patrols, max_duration_s)
    result.patrols = patrols
    for p in left:
        result.dropped.append(p)
        result.dropped_reason[p] = (f"more street than {n_patrols} patrol(s) of "
                                    f"{max_duration_s / 3600:g} h can cover")
    result.total_s = sum(_cost(graph, s) for s in patrols)
    return result


def _connectors(graph: RoutingGraph, required: np.ndarray, depot: int) -> list[tuple[int, int]]:
    """Shortest-path links (as virtual edges) joining the required pieces and the depot."""
    u, v = graph.piece_u[required], graph.piece_v[required]
    adj = csr_matrix((np.ones(len(u)), (u, v)), shape=(graph.n_nodes, graph.n_nodes))
    _, label = connected_components(adj, directed=False)
    groups = sorted({int(label[x]) for x in np.concatenate([u, v])})
    members = [np.unique(np.concatenate([u[label[u] == g], v[label[v] == g]])) for g in groups]
    if not np.isin(depot, np.concatenate([u, v])):
        members.append(np.array([depot]))
    k = len(members)
    if k == 1:
        return []
    between = np.full((k, k), np.inf)
    pick: dict[tuple[int, int], tuple[int, int]] = {}
    for i, nodes in enumerate(members):
        dist, _, source = dijkstra(graph.matrix, directed=False, indices=nodes, min_only=True,
                                   return_predecessors=True)
        for j, other in enumerate(members):
            if i != j:
                best = other[int(np.argmin(dist[other]))]
                between[i, j] = dist[best]
                pick[(i, j)] = (int(source[best]), int(best))
    tree = minimum_spanning_tree(np.where(np.isfinite(between), np.maximum(between, 1e-9), 0))
    rows, cols = tree.nonzero()
    return [pick[(int(i), int(j))] for i, j in zip(rows, cols, strict=True)]


def _odd_pairs(graph: RoutingGraph, ends: list[tuple[int, int]]) -> list[tuple[int, int]]:
    degree = np.bincount(np.array(ends).ravel(), minlength=graph.n_nodes)
    odd = np.flatnonzero(degree % 2)
    if len(odd) == 0:
        return []
    dist = dijkstra(graph.matrix, directed=False, indices=odd)[:, odd]
    return [(int(odd[a]), int(odd[b])) for a, b in min_weight_pairs(dist)]


def _drive(graph: RoutingGraph, paths: Paths, circuit: list[tuple[int, bool]],
           ends: list[tuple[int, int]], n_required: int, required: np.ndarray, depot: int,
           flip: bool) -> list[Step]:
    """Follow the circuit (or its reverse) on the directed network, fixing wrong-way streets."""
    order = [(e, not f) for e, f in reversed(circuit)] if flip else circuit
    at, steps = depot, []
    for e, forward in order:
        u, v = ends[e] if forward else ends[e][::-1]
        if e >= n_required:  # a connector or matching link: the shortest legal way on
            steps += paths.steps(at, v)
            at = v
            continue
        piece = int(required[e])
        along = graph.piece_u[piece] == u
        if not allowed(graph, piece, along):
            along, u, v = not along, v, u
        steps += paths.steps(at, u)
        steps.append(Step(piece, bool(along), True))
        at = v
    steps += paths.steps(at, depot)
    return steps


def _balanced(graph: RoutingGraph, paths: Paths, circuit: list[tuple[int, bool]],
              ends: list[tuple[int, int]], required: np.ndarray, depot: int, flip: bool
              ) -> list[Step] | None:
    """One-way streets keep their direction, two-way ones the circuit's; then the nodes
    left unbalanced are joined by a minimum-cost assignment of shortest legal paths and a
    directed Euler circuit is followed (the directed postman on that orientation)."""
    order = [(e, not f) for e, f in reversed(circuit)] if flip else circuit
    arcs: list[tuple[int, int, int]] = []  # (from, to, required piece or -1)
    for e, forward in order:
        u, v = ends[e] if forward else ends[e][::-1]
        if e < len(required):
            piece = int(required[e])
            along = graph.piece_u[piece] == u
            if not allowed(graph, piece, along):
                u, v = v, u
            arcs.append((u, v, piece))
        else:
            arcs.append((u, v, -1))
    return close_walk(graph, paths, arcs, depot, set(required.tolist()))


def _cost(graph: RoutingGraph, steps: list[Step]) -> float:
    return float(sum(graph.piece_cost(s.piece, s.forward) for s in steps))


def _step_ends(graph: RoutingGraph, step: Step) -> tuple[int, int]:
    u, v = int(graph.piece_u[step.piece]), int(graph.piece_v[step.piece])
    return (u, v) if step.forward else (v, u)


def _split(graph: RoutingGraph, paths: Paths, steps: list[Step], depot: int, n_patrols: int,
           max_duration_s: float) -> tuple[list[list[Step]], list[int]]:
    """Cut the tour into patrols that each leave and return to the depot within the limit."""
    if _cost(graph, steps) <= max_duration_s:
        return [steps], []
    to_depot = dijkstra(graph.matrix.T.tocsr(), indices=depot)
    from_depot = paths.row(depot)[0]
    work = [s for s in steps if s.required]
    patrols: list[list[Step]] = []
    left: list[int] = []
    i = 0
    while i < len(work):
        if len(patrols) == n_patrols:  # no patrol left for the rest
            left += [s.piece for s in work[i:]]
            break
        first = _step_ends(graph, work[i])[0]
        chunk: list[Step] = []
        t, at, j = from_depot[first], first, i
        while j < len(work):
            u, v = _step_ends(graph, work[j])
            link = paths.row(at)[0][u] + graph.piece_cost(work[j].piece, work[j].forward)
            if t + link + to_depot[v] > max_duration_s:
                break
            chunk += [*paths.steps(at, u), work[j]]
            t, at, j = t + link, v, j + 1
        if j == i:  # this street alone does not fit in one patrol
            left.append(work[i].piece)
            i += 1
            continue
        patrols.append(paths.steps(depot, first) + chunk + paths.steps(at, depot))
        i = j
    return patrols, left
