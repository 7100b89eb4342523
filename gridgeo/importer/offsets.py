"""Detect and undo the GCJ-02 and BD-09 offsets of Chinese consumer web maps.

Coordinates copied from Gaode, Tencent or Google China carry GCJ-02's offset, and those
from Baidu carry BD-09's on top of it: hundreds of metres either way. The forward
formulas are the published ones; the inverses are solved by fixed-point iteration
because the usual one-step inverse is off by metres.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

OFFSETS = ("none", "gcj02", "bd09")

Coords = tuple[NDArray[np.float64], NDArray[np.float64]]

# Krasovsky 1940, the ellipsoid GCJ-02's published formula scales its offsets with.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0  # Baidu's constant
_TOLERANCE_DEG = 1e-10  # below the promised 1e-9 degrees (~0.1 mm)
_MAX_ITERATIONS = 30  # the offset's slope is ~1e-4, so ~4 iterations reach the tolerance

# A median this close to the reference counts as "on it"; a candidate must beat the
# as-given median by this factor, so that noise never turns into a conversion.
_CLOSE_M = 30.0
_CLEARLY_BETTER = 3.0
# On a dense reference everything is near something: a candidate that puts the points
# right on it (and beats as-given clearly) wins even when as-given is under _CLOSE_M.
_ON_IT_M = 5.0
_MAX_SAMPLE = 2000
_NAMES = {"gcj02": "after undoing GCJ-02", "bd09": "after undoing BD-09"}


def _floats(lon: ArrayLike, lat: ArrayLike) -> Coords:
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def in_china(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
    # The box every published implementation uses; GCJ-02 leaves the rest of the world alone.
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj02_shift_m(x: NDArray[np.float64], y: NDArray[np.float64]) -> Coords:
    """The published offset in metres east and north, of x = lon - 105, y = lat - 35."""
    waves = 20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)
    east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    east += (waves + 20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)
             + 150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    north += (waves + 20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)
              + 160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y / 30.0 * np.pi)) * 2.0 / 3.0
    return east, north


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """WGS84 (or CGCS2000) to GCJ-02; points outside China's box are returned unchanged."""
    lon, lat = _floats(lon, lat)
    east, north = _gcj02_shift_m(lon - 105.0, lat - 35.0)
    rad = np.radians(lat)
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad) ** 2
    dlat = np.degrees(north / (_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (magic * np.sqrt(magic))))
    dlon = np.degrees(east / (_KRASOVSKY_A / np.sqrt(magic) * np.cos(rad)))
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _invert(forward: Callable[[ArrayLike, ArrayLike], Coords], lon: ArrayLike,
            lat: ArrayLike, start: Coords | None = None) -> Coords:
    """Solve forward(x) = (lon, lat) by fixed-point iteration x <- x - (forward(x) - target)."""
    lon, lat = _floats(lon, lat)
    x, y = start if start is not None else (lon, lat)
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        step_x, step_y = fx - lon, fy - lat
        x, y = x - step_x, y - step_y
        # `not any(>=)` also stops on NaN input, which never converges.
        if not (np.any(np.abs(step_x) >= _TOLERANCE_DEG)
                or np.any(np.abs(step_y) >= _TOLERANCE_DEG)):
            break
    return x, y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """GCJ-02 to WGS84, the exact inverse of wgs84_to_gcj02 to better than 1e-9 degrees."""
    return _invert(wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """GCJ-02 to BD-09 by Baidu's published formula (which has no China box)."""
    lon, lat = _floats(lon, lat)
    radius = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return radius * np.cos(theta) + 0.0065, radius * np.sin(theta) + 0.006


def _bd09_to_gcj02_published(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Coords:
    x, y = lon - 0.0065, lat - 0.006
    radius = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return radius * np.cos(theta), radius * np.sin(theta)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """BD-09 to GCJ-02: Baidu's published inverse, refined to the exact inverse of
    gcj02_to_bd09 (the published one alone is off by up to decimetres)."""
    lon, lat = _floats(lon, lat)
    return _invert(gcj02_to_bd09, lon, lat, start=_bd09_to_gcj02_published(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """WGS84 to BD-09: GCJ-02 first, then Baidu's formula, as Baidu does."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """BD-09 to WGS84, undoing Baidu's formula and then GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _identity(lon: ArrayLike, lat: ArrayLike) -> Coords:
    return _floats(lon, lat)


_TO_WGS84: dict[str, Callable[[ArrayLike, ArrayLike], Coords]] = {
    "none": _identity, "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


def _converter(offset: str) -> Callable[[ArrayLike, ArrayLike], Coords]:
    if offset not in _TO_WGS84:
        raise ValueError(f"offset must be one of {', '.join(OFFSETS)}, not {offset!r}.")
    return _TO_WGS84[offset]


def to_wgs84(lon: ArrayLike, lat: ArrayLike, offset: str) -> Coords:
    """Undo `offset` (one of OFFSETS) on lon/lat coordinates."""
    return _converter(offset)(lon, lat)


def undo_offset(geoms: NDArray[np.object_], offset: str) -> NDArray[np.object_]:
    """Undo `offset` on every vertex of shapely geometries in lon/lat; Z is kept."""
    convert = _converter(offset)

    def vertices(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        out = coords.copy()
        out[:, 0], out[:, 1] = convert(coords[:, 0], coords[:, 1])
        return out

    return np.asarray(shapely.transform(geoms, vertices, include_z=None), dtype=object)


@dataclass(frozen=True)
class OffsetGuess:
    """What detect_offset concluded, with the evidence for the import report."""

    offset: str  # "none", "gcj02", "bd09" or "unknown"
    median_m: dict[str, float]  # median metres from the points to the reference, per offset
    sentence: str


@lru_cache(maxsize=8)
def _to_metric(metric_srid: int) -> Transformer:
    # Building a Transformer reads proj.db: keep one per CRS.
    return Transformer.from_crs(4490, metric_srid, always_xy=True)


def _present(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    geoms = np.asarray(geoms, dtype=object)
    return geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]


def _sample_points(points: NDArray[np.object_]) -> Coords:
    points = _present(points)
    if len(points) > _MAX_SAMPLE:
        # A fixed seed: the same file gives the same report every time.
        points = np.random.default_rng(0).choice(points, _MAX_SAMPLE, replace=False)
    xy = shapely.get_coordinates(shapely.point_on_surface(points))
    return xy[:, 0], xy[:, 1]


def _median_m(lon: NDArray[np.float64], lat: NDArray[np.float64], tree: shapely.STRtree,
              transformer: Transformer) -> float:
    x, y = transformer.transform(lon, lat)
    _, distances = tree.query_nearest(shapely.points(x, y), return_distance=True,
                                      all_matches=False)
    return float(np.median(distances))


def _metres(value: float) -> str:
    return f"{value:,.0f} m"


def _sentence(offset: str, medians: dict[str, float], reference_name: str) -> str:
    given = f"these points sit a median {_metres(medians['none'])} from the {reference_name}"
    if offset in ("gcj02", "bd09"):
        name = "GCJ-02" if offset == "gcj02" else "BD-09"
        return (f"{given} as given and {_metres(medians[offset])} after undoing {name}: they"
                f" were probably copied from a {name} web map; set offset: {offset} to"
                " convert them.")
    others = ", ".join(f"{_metres(medians[o])} {_NAMES[o]}" for o in ("gcj02", "bd09"))
    if offset == "none":
        return (f"{given} as given ({others}): they are close enough as given, so no"
                " offset needs undoing.")
    return (f"{given} as given, {others}: no offset fits clearly, so check the points'"
            f" coordinate system and the {reference_name} before importing.")


def detect_offset(points: NDArray[np.object_], reference: NDArray[np.object_],
                  metric_srid: int, reference_name: str = "reference layer") -> OffsetGuess:
    """Guess whether points in lon/lat carry a GCJ-02 or BD-09 offset.

    Each point (a representative point of each geometry; at most 2000 sampled) is measured
    in `metric_srid` to its nearest `reference` geometry (lon/lat, CGCS2000 or WGS84;
    distance 0 inside polygons) as given and after undoing each offset. An offset is named
    only when the as-given median is over 30 m and its own is under a third of that; the
    guess is "none" when the points already sit within 30 m, and "unknown" otherwise.
    """
    lon, lat = _sample_points(points)
    reference = _present(reference)
    if len(lon) == 0 or len(reference) == 0:
        missing = "points" if len(lon) == 0 else f"geometries in the {reference_name}"
        return OffsetGuess("unknown", {}, f"there were no {missing}, so there was nothing"
                           " to compare with and no offset could be detected.")
    transformer = _to_metric(metric_srid)
    tree = shapely.STRtree(shapely.transform(
        reference, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))))
    medians = {o: _median_m(*to_wgs84(lon, lat, o), tree, transformer) for o in OFFSETS}
    best = min(("gcj02", "bd09"), key=medians.__getitem__)
    clearly = medians[best] * _CLEARLY_BETTER < medians["none"]
    if clearly and (medians["none"] > _CLOSE_M or (medians[best] < _ON_IT_M
                                                   and medians["none"] > 2 * _ON_IT_M)):
        offset = best
    elif medians["none"] <= _CLOSE_M or medians["none"] * _CLEARLY_BETTER < medians[best]:
        offset = "none"
    else:
        offset = "unknown"
    return OffsetGuess(offset, medians, _sentence(offset, medians, reference_name))
