"""Noding the drawn roads into a routable pgRouting graph with driving and walking costs."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import shapely

from gridgeo.demo.lanes import OVERSHOOT_M, RoadLine
from gridgeo.demo.terrain import Terrain
from gridgeo.road_classes import SPEED_KMH

GRID_M = 0.01


@dataclass
class RoadGraph:
    """Edges (metric LineStrings) and their attributes; node ids are 0-based and local."""

    geoms: np.ndarray
    road_class: list[str]
    name: list[str]
    source: np.ndarray
    target: np.ndarray
    nodes: np.ndarray  # (n, 2) node coordinates
    oneway: np.ndarray
    cost: np.ndarray
    reverse_cost: np.ndarray
    walk_cost: np.ndarray
    walk_reverse_cost: np.ndarray
    dropped: int  # edges left out because they did not join the network


def _components(n: int, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Connected-component label of each node (the smallest node id in it)."""
    label = np.arange(n)
    while True:
        low = np.minimum(label[source], label[target])
        before = label.copy()
        np.minimum.at(label, source, low)
        np.minimum.at(label, target, low)
        label = label[label]
        if np.array_equal(label, before):
            return label


def _strongly_connected(n: int, source: np.ndarray, target: np.ndarray,
                        forward: np.ndarray, backward: np.ndarray) -> bool:
    """Can a car get from every driveable node to every other one?"""
    used = np.unique(np.concatenate([source[forward | backward], target[forward | backward]]))
    if len(used) == 0:
        return True
    for flip in (False, True):
        out: dict[int, list[int]] = {}
        for s, t, f, b in zip(source, target, forward, backward, strict=True):
            if f:
                out.setdefault(int(t if flip else s), []).append(int(s if flip else t))
            if b:
                out.setdefault(int(s if flip else t), []).append(int(t if flip else s))
        seen = {int(used[0])}
        queue = deque(seen)
        while queue:
            for nxt in out.get(queue.popleft(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        if len(seen) < len(used):
            return False
    return True


def _walking_seconds(geoms: np.ndarray, terrain: Terrain) -> tuple[np.ndarray, np.ndarray]:
    """Tobler's hiking function along each edge, both ways, on the DEM's elevations."""
    coords, index = shapely.get_coordinates(shapely.segmentize(geoms, 20.0), return_index=True)
    z = terrain.elevation_at(coords[:, 0], coords[:, 1])
    same = index[:-1] == index[1:]
    run = np.hypot(*(coords[1:] - coords[:-1]).T)[same]
    rise = (z[1:] - z[:-1])[same]
    grade = np.divide(rise, run, out=np.zeros_like(run), where=run > 0)
    forward = run / (6.0 * np.exp(-3.5 * np.abs(grade + 0.05)) / 3.6)
    backward = run / (6.0 * np.exp(-3.5 * np.abs(-grade + 0.05)) / 3.6)
    edge = index[:-1][same]
    return (np.bincount(edge, forward, len(geoms)), np.bincount(edge, backward, len(geoms)))


def _choose_oneways(graph: RoadGraph, seat_street: np.ndarray, rng: np.random.Generator,
                    wanted: int = 6) -> None:
    degree = np.bincount(np.concatenate([graph.source, graph.target]), minlength=len(graph.nodes))
    candidates = np.flatnonzero(seat_street & (degree[graph.source] >= 3)
                                & (degree[graph.target] >= 3))
    forward = graph.cost >= 0
    for edge in rng.permutation(candidates):
        if graph.oneway.sum() >= wanted:
            break
        backward = graph.reverse_cost >= 0
        backward[edge] = False
        if _strongly_connected(len(graph.nodes), graph.source, graph.target, forward, backward):
            graph.oneway[edge] = True
            graph.reverse_cost[edge] = -1.0


def _topology(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node coordinates and each edge's source and target node (edges meeting at a node
    share its exact coordinate)."""
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(edges, 0)),
                      shapely.get_coordinates(shapely.get_point(edges, -1))])
    nodes, inverse = np.unique(ends, axis=0, return_inverse=True)
    return nodes, inverse[: len(edges)], inverse[len(edges):]


def build_graph(roads: list[RoadLine], terrain: Terrain, rng: np.random.Generator) -> RoadGraph:
    """Node the roads where they meet, keep the largest connected part, price every edge."""
    lines = shapely.set_precision(np.array([r.line for r in roads]), GRID_M)
    edges = shapely.get_parts(shapely.unary_union(lines, grid_size=GRID_M))
    edges = edges[shapely.length(edges) > 0]
    nodes, source, target = _topology(edges)
    degree = np.bincount(np.concatenate([source, target]), minlength=len(nodes))
    stub = (shapely.length(edges) <= 2 * OVERSHOOT_M) & (
        (degree[source] == 1) | (degree[target] == 1))
    edges = edges[~stub]
    nodes, source, target = _topology(edges)
    label = _components(len(nodes), source, target)
    keep = label[source] == np.bincount(label[source]).argmax()
    dropped = int((~keep).sum())
    edges = edges[keep]
    nodes, source, target = _topology(edges)
    middle = shapely.line_interpolate_point(edges, 0.5, normalized=True)
    drawn = shapely.STRtree(lines).query_nearest(middle, all_matches=False)[1]
    road_class = [roads[i].road_class for i in drawn]
    length = shapely.length(edges)
    speed = np.array([SPEED_KMH.get(c, np.nan) for c in road_class])
    cost = np.where(np.isnan(speed), -1.0, length / (speed / 3.6))
    walk, walk_back = _walking_seconds(edges, terrain)
    graph = RoadGraph(
        geoms=edges, road_class=road_class, name=[roads[i].name for i in drawn],
        source=source, target=target, nodes=nodes, oneway=np.zeros(len(edges), bool),
        cost=cost, reverse_cost=cost.copy(), walk_cost=walk, walk_reverse_cost=walk_back,
        dropped=dropped)
    seat_street = np.array([roads[i].seat_street for i in drawn])
    _choose_oneways(graph, seat_street, rng)
    return graph
