"""The road network as an in-memory graph: scipy shortest paths, stops snapped onto edges.

Everything here is in the deployment's metric CRS (metres, seconds). A stop is snapped to
the nearest point of the nearest road edge, and that edge is split there, so a target
beside a long mountain track is reached where it is, not at the track's far end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.ops import substring

MIN_COST = 1e-6  # scipy drops zero-weight sparse entries: keep every arc strictly positive
NODE_SNAP_M = 1.0  # a stop this close to an edge's end is that end node


@dataclass
class RoadNetwork:
    """Road edges for one travel mode: ``forward``/``backward`` seconds, negative = forbidden."""

    road_id: np.ndarray
    source: np.ndarray  # node index, 0 .. n_nodes-1
    target: np.ndarray
    forward: np.ndarray
    backward: np.ndarray
    geoms: np.ndarray  # metric LineStrings, drawn from source to target
    names: list[str | None]
    n_nodes: int

    @property
    def length(self) -> np.ndarray:
        return shapely.length(self.geoms)

    def subset(self, keep: np.ndarray) -> RoadNetwork:
        """The same network restricted to some edges (node numbering kept)."""
        return RoadNetwork(self.road_id[keep], self.source[keep], self.target[keep],
                           self.forward[keep], self.backward[keep], self.geoms[keep],
                           [n for n, k in zip(self.names, keep, strict=True) if k],
                           self.n_nodes)


@dataclass
class Snap:
    """Where a point meets the network: its graph node and how far away the point is."""

    node: int
    distance_m: float
    road_xy: tuple[float, float] | None = None  # the node's position on the road (metric)


@dataclass
class RoutingGraph:
    """The network split at snapped points: pieces of edges between graph nodes."""

    network: RoadNetwork
    piece_edge: np.ndarray  # index into network edges
    piece_a: np.ndarray  # start fraction along the edge
    piece_b: np.ndarray  # end fraction
    piece_u: np.ndarray  # node at a
    piece_v: np.ndarray  # node at b
    piece_fwd: np.ndarray  # seconds u -> v (negative = forbidden)
    piece_back: np.ndarray
    n_nodes: int
    matrix: csr_matrix = field(init=False)
    _arc_keys: np.ndarray = field(init=False)
    _arc_piece: np.ndarray = field(init=False)
    _arc_forward: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        idx = np.arange(len(self.piece_u))
        ok_f, ok_b = self.piece_fwd >= 0, self.piece_back >= 0
        u = np.concatenate([self.piece_u[ok_f], self.piece_v[ok_b]])
        v = np.concatenate([self.piece_v[ok_f], self.piece_u[ok_b]])
        cost = np.maximum(np.concatenate([self.piece_fwd[ok_f], self.piece_back[ok_b]]), MIN_COST)
        piece = np.concatenate([idx[ok_f], idx[ok_b]])
        forward = np.concatenate([np.ones(ok_f.sum(), bool), np.zeros(ok_b.sum(), bool)])
        keys = u.astype(np.int64) * self.n_nodes + v
        order = np.lexsort((cost, keys))  # cheapest parallel arc first
        keys, first = np.unique(keys[order], return_index=True)
        chosen = order[first]
        self._arc_keys, self._arc_piece, self._arc_forward = keys, piece[chosen], forward[chosen]
        self.matrix = csr_matrix((cost[chosen], (u[chosen], v[chosen])),
                                 shape=(self.n_nodes, self.n_nodes))

    def shortest(self, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and predecessors from each source node to every node."""
        dist, pred = dijkstra(self.matrix, indices=np.asarray(sources), return_predecessors=True)
        return dist, pred

    def arc(self, u: int, v: int) -> tuple[int, bool]:
        """The piece used to go from node u to node v, and whether it runs forward."""
        at = int(np.searchsorted(self._arc_keys, u * self.n_nodes + v))
        return int(self._arc_piece[at]), bool(self._arc_forward[at])

    def path(self, pred_row: np.ndarray, src: int, dst: int) -> list[tuple[int, bool]]:
        """Pieces (with direction) of the shortest path src -> dst from a predecessor row."""
        nodes = [dst]
        while nodes[-1] != src:
            prev = int(pred_row[nodes[-1]])
            if prev < 0:
                raise ValueError(f"node {dst} is not reachable from {src}")
            nodes.append(prev)
        nodes.reverse()
        return [self.arc(a, b) for a, b in pairwise(nodes)]

    def piece_cost(self, piece: int, forward: bool) -> float:
        return float(self.piece_fwd[piece] if forward else self.piece_back[piece])

    def piece_length(self, piece: int) -> float:
        edge = self.piece_edge[piece]
        return float(shapely.length(self.network.geoms[edge])
                     * (self.piece_b[piece] - self.piece_a[piece]))

    def coordinates(self, steps: list[tuple[int, bool]]) -> np.ndarray:
        """Metric coordinates of a walk along pieces, joints not repeated."""
        parts: list[np.ndarray] = []
        for piece, forward in steps:
            edge = self.network.geoms[self.piece_edge[piece]]
            a, b = float(self.piece_a[piece]), float(self.piece_b[piece])
            line = substring(edge, a, b, normalized=True)
            xy = shapely.get_coordinates(line)
            if len(xy) == 1:  # a zero-length piece
                xy = np.vstack([xy, xy])
            parts.append(xy if forward else xy[::-1])
        if not parts:
            return np.empty((0, 2))
        out = [parts[0]] + [p[1:] for p in parts[1:]]
        return np.vstack(out)


def build_routing_graph(network: RoadNetwork, points: np.ndarray,
                        usable: np.ndarray | None = None) -> tuple[RoutingGraph, list[Snap]]:
    """Split the network at the points' nearest positions; returns the graph and each snap.

    ``usable`` restricts which edges a point may snap to (a car stops on a road it may
    drive, not on a footpath).
    """
    geoms = network.geoms
    candidates = np.arange(len(geoms)) if usable is None else np.flatnonzero(usable)
    if len(candidates) == 0:
        raise ValueError("the road network has no usable edge")
    pts = shapely.points(points) if len(points) else np.empty(0, dtype=object)
    tree = shapely.STRtree(geoms[candidates])
    if len(pts):
        (_, hit), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
        edge_of = candidates[hit]
        frac = shapely.line_locate_point(geoms[edge_of], pts, normalized=True)
    else:
        edge_of, dist, frac = np.empty(0, int), np.empty(0), np.empty(0)
    length = shapely.length(geoms)
    n = network.n_nodes
    snaps: list[Snap] = []
    splits: dict[int, dict[float, int]] = {}
    for e, d, t in zip(edge_of, dist, frac, strict=True):
        e = int(e)
        at_end = 0.0 if t * length[e] <= NODE_SNAP_M else (
            1.0 if (1 - t) * length[e] <= NODE_SNAP_M else float(t))
        road = shapely.get_coordinates(
            shapely.line_interpolate_point(geoms[e], at_end, normalized=True))[0]
        if at_end == 0.0:
            node = int(network.source[e])
        elif at_end == 1.0:
            node = int(network.target[e])
        else:
            at = splits.setdefault(e, {})
            key = round(float(t), 9)
            if key not in at:
                at[key] = n
                n += 1
            node = at[key]
        snaps.append(Snap(node, float(d), (float(road[0]), float(road[1]))))
    graph = _split(network, splits, n)
    return graph, snaps


def _split(network: RoadNetwork, splits: dict[int, dict[float, int]], n_nodes: int
           ) -> RoutingGraph:
    m = len(network.geoms)
    whole = np.ones(m, bool)
    whole[list(splits)] = False
    edge = [np.flatnonzero(whole)]
    a, b = [np.zeros(whole.sum())], [np.ones(whole.sum())]
    u, v = [network.source[whole]], [network.target[whole]]
    for e, at in splits.items():
        fracs = sorted(at)
        nodes = [int(network.source[e]), *(at[f] for f in fracs), int(network.target[e])]
        cuts = [0.0, *fracs, 1.0]
        k = len(cuts) - 1
        edge.append(np.full(k, e))
        a.append(np.array(cuts[:-1]))
        b.append(np.array(cuts[1:]))
        u.append(np.array(nodes[:-1]))
        v.append(np.array(nodes[1:]))
    pe = np.concatenate(edge).astype(np.int64)
    pa, pb = np.concatenate(a), np.concatenate(b)
    share = pb - pa
    fwd = np.where(network.forward[pe] >= 0, network.forward[pe] * share, -1.0)
    back = np.where(network.backward[pe] >= 0, network.backward[pe] * share, -1.0)
    return RoutingGraph(network, pe, pa, pb, np.concatenate(u).astype(np.int64),
                        np.concatenate(v).astype(np.int64), fwd, back, n_nodes)
