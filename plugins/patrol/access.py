"""The walk between the road and a stop off it: drawn into the track, so a phone's GPX
waypoint (the adit itself) lies on the line the worker follows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gridgeo_plugins.patrol.network import Snap


@dataclass
class AccessLegs:
    """Each location's own position and where it meets the road (both metric)."""

    points: np.ndarray  # one row per location: start, end, stops (as the snaps)
    snaps: list[Snap]

    def out_and_back(self, location: int) -> np.ndarray:
        """Road point, the stop, road point again; nothing when the stop is on the road."""
        snap = self.snaps[location]
        if snap.road_xy is None or snap.distance_m <= 0.01:
            return np.empty((0, 2))
        road = np.asarray(snap.road_xy, dtype=float)
        return np.vstack([road, self.points[location], road])


def join_lines(pieces: list[np.ndarray]) -> np.ndarray:
    """Consecutive coordinate runs as one line, a joint shared by two runs kept once."""
    out: list[np.ndarray] = []
    last: np.ndarray | None = None
    for xy in pieces:
        if len(xy) == 0:
            continue
        if last is not None and np.allclose(xy[0], last, atol=1e-6):
            xy = xy[1:]
        if len(xy):
            out.append(xy)
            last = xy[-1]
    return np.vstack(out) if out else np.empty((0, 2))
