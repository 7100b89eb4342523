"""Settlements and the valleys between them.

Villages sit in valleys, so the generator places the settlements first and draws the
valley network as a minimum spanning tree over them (plus a few loops); the terrain is then
carved around it and the main roads run along it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from gridgeo.demo import names
from gridgeo.demo.county import TownSpec

N_COMMUNITIES = 3
N_VILLAGES = 22


@dataclass
class Settlement:
    """A village or community centre, a hamlet, or a gate to the next town."""

    kind: str  # community | village | hamlet | gate
    stem: str
    x: float
    y: float

    @property
    def name(self) -> str:
        return {"community": f"{self.stem}社区", "village": f"{self.stem}村"}.get(
            self.kind, self.stem)


@dataclass
class Valley:
    """One valley between two network nodes, with the road that runs along it."""

    a: int
    b: int
    line: LineString
    road_class: str
    name: str


@dataclass
class Valleys:
    nodes: list[Settlement]  # communities first (the seat is node 0), villages, gates
    valleys: list[Valley]
    hamlets: list[Settlement] = field(default_factory=list)

    @property
    def centres(self) -> list[Settlement]:
        return [n for n in self.nodes if n.kind in ("community", "village")]


def _place_centres(outline: Polygon, gates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    inner = outline.buffer(-3500.0)
    middle = np.array(inner.centroid.coords[0])
    for _ in range(100):
        seat = middle + rng.normal(0.0, 1200.0, 2)
        if inner.contains(Point(seat)):
            break
    else:
        seat = np.array(inner.representative_point().coords[0])
    angles = rng.uniform(0, 2 * math.pi) + np.array([0.0, 2.2])
    ring = seat + rng.uniform(750, 1000, (2, 1)) * np.column_stack([np.cos(angles),
                                                                    np.sin(angles)])
    points = [seat, *ring]
    village_area = outline.buffer(-1400.0)
    minx, miny, maxx, maxy = village_area.bounds
    avoid = np.vstack([np.array(points), gates]) if len(gates) else np.array(points)
    for _ in range(N_VILLAGES):
        xy = rng.uniform([minx, miny], [maxx, maxy], (60, 2))
        xy = xy[shapely.contains_xy(village_area, xy[:, 0], xy[:, 1])]
        gap = np.min(np.linalg.norm(xy[:, None, :] - avoid[None, :, :], axis=2), axis=1)
        best = xy[np.argmax(gap)]
        points.append(best)
        avoid = np.vstack([avoid, best])
    return np.array(points)


def _meander(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> LineString:
    length = float(np.linalg.norm(b - a))
    n = max(2, math.ceil(length / 40.0))
    t = np.linspace(0.0, 1.0, n + 1)
    k = np.arange(1, 5)[:, None]
    amplitude = rng.normal(0.0, 1.0, (4, 1)) * min(220.0, 0.06 * length) / k
    phase = rng.uniform(0, 2 * math.pi, (4, 1))
    offset = np.sin(math.pi * t) * (amplitude * np.sin(k * math.pi * t + phase)).sum(0)
    direction = (b - a) / length
    line = a + t[:, None] * (b - a) + offset[:, None] * np.array([-direction[1], direction[0]])
    line[0], line[-1] = a, b
    return LineString(line)


def _candidate_edges(xy: np.ndarray, kinds: list[str], outline: Polygon) -> list[tuple]:
    edges = shapely.get_parts(shapely.delaunay_triangles(MultiPoint(xy), only_edges=True))
    where = {tuple(p): i for i, p in enumerate(xy)}
    inner = outline.buffer(-200.0)
    found = []
    for edge in edges:
        p, q = shapely.get_coordinates(edge)
        i, j = sorted((where[tuple(p)], where[tuple(q)]))
        if "gate" in (kinds[i], kinds[j]) or not inner.contains(edge):
            continue
        found.append((float(edge.length), i, j))
    gates = [i for i, k in enumerate(kinds) if k == "gate"]
    others = np.array([i for i, k in enumerate(kinds) if k != "gate"])
    for g in gates:
        nearest = others[np.argmin(np.linalg.norm(xy[others] - xy[g], axis=1))]
        found.append((float(np.linalg.norm(xy[nearest] - xy[g])), int(nearest), g))
    return sorted(found)


def _dendritic_tree(n: int, edges: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """A tree grown from the seat (node 0) that trades edge length against the distance
    back to the seat (Prim-Dijkstra), so it branches like a river network instead of
    snaking like a minimum spanning tree. Edges come from a Delaunay triangulation, so
    they never cross."""
    reach = {0: 0.0}
    tree: list[tuple] = []
    remaining = list(edges)
    while len(reach) < n:
        best, cost = None, math.inf
        for edge in remaining:
            length, a, b = edge
            if (a in reach) == (b in reach):
                continue
            inside = a if a in reach else b
            value = length + 0.5 * reach[inside]
            if value < cost:
                best, cost = edge, value
        if best is None:
            break
        length, a, b = best
        outside = b if a in reach else a
        reach[outside] = reach[a if a in reach else b] + length
        tree.append(best)
        remaining.remove(best)
    return tree, remaining


def _classify(n: int, tree: list[tuple], nodes: list[Settlement]) -> dict[tuple, tuple]:
    """Road class and name per tree edge: county roads from the seat to the two ends of
    the main valley and to every gate, township roads into branches with three or more
    settlements, village roads elsewhere."""
    adjacent: dict[int, list[tuple[int, float]]] = {i: [] for i in range(n)}
    for length, a, b in tree:
        adjacent[a].append((b, length))
        adjacent[b].append((a, length))
    parent, dist, order = {0: -1}, {0: 0.0}, [0]
    for node in order:
        for other, length in adjacent[node]:
            if other not in parent:
                parent[other], dist[other] = node, dist[node] + length
                order.append(other)
    size = {i: int(nodes[i].kind != "gate") for i in range(n)}
    branch = {0: 0}
    for node in order[1:]:
        branch[node] = node if parent[node] == 0 else branch[parent[node]]
    for node in reversed(order[1:]):
        size[parent[node]] += size[node]
    far_a = max(order, key=lambda i: dist[i])
    others = [i for i in order if branch[i] != branch[far_a]]
    ends = [far_a] + ([max(others, key=lambda i: dist[i])] if others else [])
    ends += [i for i in range(n) if nodes[i].kind == "gate"]
    classes: dict[tuple, tuple] = {}
    seat = nodes[0].stem
    for end in ends:
        name = f"{seat[0]}{(nodes[end].stem)[0]}线"
        node = end
        while parent[node] != -1:
            key = tuple(sorted((node, parent[node])))
            classes.setdefault(key, ("county", name))
            node = parent[node]
    for node in order[1:]:
        key = tuple(sorted((node, parent[node])))
        if key not in classes:
            road_class = "township" if size[node] >= 3 else "village"
            suffix = "路" if road_class == "township" else "村道"
            classes[key] = (road_class, f"{nodes[node].stem}{suffix}")
    return classes


def _hamlets(valleys: list[Valley], stems: list[str]) -> list[Settlement]:
    hamlets: list[Settlement] = []
    for valley in valleys:
        length = valley.line.length
        for position in np.arange(1100.0, length - 1000.0, 1800.0):
            point = valley.line.interpolate(position)
            if len(hamlets) < len(stems):
                hamlets.append(Settlement("hamlet", stems[len(hamlets)], point.x, point.y))
    return hamlets


def plan_valleys(spec: TownSpec, rng: np.random.Generator) -> Valleys:
    """Settlement centres, gates and the valley network joining them."""
    gates = np.array([[g.x, g.y] for g in spec.gates]).reshape(-1, 2)
    xy = _place_centres(spec.outline, gates, rng)
    community = names.community_stems(rng, N_COMMUNITIES - 1)
    village = names.place_stems(rng, N_VILLAGES + 40, {spec.stem})
    nodes = [Settlement("community", spec.stem, *xy[0])]
    nodes += [Settlement("community", s, *p) for s, p in zip(community, xy[1:3], strict=True)]
    nodes += [Settlement("village", s, *p)
              for s, p in zip(village[:N_VILLAGES], xy[3:], strict=True)]
    nodes += [Settlement("gate", g.neighbour_stem, g.x, g.y) for g in spec.gates]
    all_xy = np.vstack([xy, gates])
    edges = _candidate_edges(all_xy, [n.kind for n in nodes], spec.outline)
    tree, rest = _dendritic_tree(len(nodes), edges)
    if len(tree) != len(nodes) - 1:
        raise RuntimeError("the valley network is not connected")
    classes = _classify(len(nodes), tree, nodes)
    loops = [e for e in rest if 1200.0 < e[0] < 4500.0][:3]
    valleys = []
    for length, a, b in tree + loops:
        road_class, name = classes.get((a, b), (
            "village", f"{nodes[a].stem[0]}{nodes[b].stem[0]}路"))
        line = _meander(all_xy[a], all_xy[b], rng)
        if length > 0 and spec.outline.buffer(1.0).contains(line):
            valleys.append(Valley(a, b, line, road_class, name))
        else:
            straight = LineString([all_xy[a], all_xy[b]])
            valleys.append(Valley(a, b, straight, road_class, name))
    return Valleys(nodes, valleys, _hamlets(valleys, village[N_VILLAGES:]))
