"""Loading the roads table as an in-memory network per travel mode, cached per process."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import shapely
from gridgeo_plugins.patrol.network import RoadNetwork
from gridgeo_plugins.patrol.tobler import tobler_kmh
from pyproj import Transformer

FLAT_WALK_MS = float(tobler_kmh(0.0)) / 3.6
_lock = threading.Lock()
_cache: dict[tuple[Any, ...], RoadNetwork] = {}


def metric_srid(conn: Any) -> int:
    return int(conn.execute("SELECT gridgeo.metric_srid()").fetchone()[0])


def to_lonlat(srid: int) -> Transformer:
    return Transformer.from_crs(srid, 4490, always_xy=True)


def to_metric(srid: int) -> Transformer:
    return Transformer.from_crs(4490, srid, always_xy=True)


def load_network(conn: Any, mode: str) -> RoadNetwork:
    """The roads as a graph for ``walking`` or ``driving``; rebuilt when the table changes."""
    sig = conn.execute(
        "SELECT count(*), coalesce(max(id), 0), coalesce(sum(cost), 0), "
        "coalesce(sum(walk_cost), 0), gridgeo.metric_srid() FROM gridgeo.roads").fetchone()
    key = (conn.info.host, conn.info.port, conn.info.dbname, mode, *sig)
    with _lock:
        if key in _cache:
            return _cache[key]
    rows = conn.execute(
        "SELECT id, source, target, cost, reverse_cost, walk_cost, walk_reverse_cost, name, "
        "ST_AsBinary(ST_Transform(geom, gridgeo.metric_srid())) FROM gridgeo.roads ORDER BY id"
    ).fetchall()
    network = network_from_rows(rows, mode)
    with _lock:
        _cache.clear()  # one network per process is plenty
        _cache[key] = network
    return network


def network_from_rows(rows: list[tuple[Any, ...]], mode: str) -> RoadNetwork:
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    ends = np.array([[r[1], r[2]] for r in rows], dtype=np.int64).reshape(-1, 2)
    _, inverse = np.unique(ends.ravel(), return_inverse=True)
    inverse = inverse.reshape(-1, 2)
    geoms = shapely.from_wkb([bytes(r[8]) for r in rows])
    if mode == "walking":
        flat = shapely.length(geoms) / FLAT_WALK_MS
        forward = np.array([r[5] if r[5] is not None else np.nan for r in rows], float)
        backward = np.array([r[6] if r[6] is not None else np.nan for r in rows], float)
        forward = np.where(np.isnan(forward), flat, forward)
        backward = np.where(np.isnan(backward), flat, backward)
    else:
        forward = np.array([r[3] for r in rows], float)
        backward = np.array([r[4] for r in rows], float)
    n_nodes = int(inverse.max()) + 1 if len(rows) else 0
    return RoadNetwork(ids, inverse[:, 0], inverse[:, 1], forward, backward, geoms,
                       [r[7] for r in rows], n_nodes)
