"""Terrain-aware walking times: Tobler's hiking function on the DEM, both ways per edge.

Computed when roads or the DEM are loaded and stored in ``roads.walk_cost`` /
``walk_reverse_cost``, never per request. The band is read once and sampled with numpy
(bilinear): per-point ``rasterio.sample`` took 15 s for 20k edges, this 0.01-0.26 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import shapely
from pyproj import Transformer

SAMPLE_M = 20.0


def tobler_kmh(grade: np.ndarray | float) -> np.ndarray:
    """Walking speed in km/h at a grade (rise / run): 6 e^(-3.5 |grade + 0.05|).

    About 5.0 km/h on the flat, the maximum 6 km/h going down 5 %.
    """
    return 6.0 * np.exp(-3.5 * np.abs(np.asarray(grade, dtype=float) + 0.05))


def walking_seconds(geoms: np.ndarray, elevation_at) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Seconds to walk each metric LineString from start to end and back.

    ``elevation_at(x, y)`` returns metres for arrays of metric coordinates.
    """
    coords, index = shapely.get_coordinates(shapely.segmentize(geoms, SAMPLE_M),
                                            return_index=True)
    z = elevation_at(coords[:, 0], coords[:, 1])
    same = index[:-1] == index[1:]
    run = np.hypot(*(coords[1:] - coords[:-1]).T)[same]
    rise = (z[1:] - z[:-1])[same]
    grade = np.divide(rise, run, out=np.zeros_like(run), where=run > 0)
    edge = index[:-1][same]
    forward = run / (tobler_kmh(grade) / 3.6)
    backward = run / (tobler_kmh(-grade) / 3.6)
    return (np.bincount(edge, forward, len(geoms)), np.bincount(edge, backward, len(geoms)))


def dem_sampler(dem_path: Path, srid: int | None = None):  # type: ignore[no-untyped-def]
    """A bilinear elevation function over the whole band, read once.

    It takes coordinates in EPSG ``srid`` (the metric CRS the runs are measured in) and
    transforms them to the DEM's own CRS; without ``srid``, coordinates are the DEM's.
    """
    with rasterio.open(dem_path) as src:
        band = src.read(1, masked=True).astype(np.float64).filled(np.nan)
        inverse = ~src.transform
        to_dem = None
        if srid is not None and src.crs is not None and src.crs.to_epsg() != srid:
            to_dem = Transformer.from_crs(srid, src.crs.to_wkt(), always_xy=True)

    def elevation_at(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        if to_dem is not None:
            x, y = to_dem.transform(x, y)
        col = inverse.a * x + inverse.b * y + inverse.c
        row = inverse.d * x + inverse.e * y + inverse.f
        h, w = band.shape
        fx = np.clip(col - 0.5, 0, w - 1.001)
        fy = np.clip(row - 0.5, 0, h - 1.001)
        c, r = fx.astype(np.int64), fy.astype(np.int64)
        u, v = fx - c, fy - r
        top = band[r, c] * (1 - u) + band[r, c + 1] * u
        bottom = band[r + 1, c] * (1 - u) + band[r + 1, c + 1] * u
        z = top * (1 - v) + bottom * v
        return np.nan_to_num(z, nan=float(np.nanmean(band)))

    return elevation_at


def store_walk_costs(conn, dem_path: Path, only_missing: bool = False) -> int:  # type: ignore[no-untyped-def]
    """Recompute and store roads' walking times from the DEM (any CRS); runs are measured in
    the deployment's metric CRS. Returns the number of roads updated."""
    srid = int(conn.execute("SELECT gridgeo.metric_srid()").fetchone()[0])
    where = "WHERE walk_cost IS NULL" if only_missing else ""
    rows = conn.execute(
        f"SELECT id, ST_AsBinary(ST_Transform(geom, %s)) FROM gridgeo.roads {where}",
        (srid,)).fetchall()
    if not rows:
        return 0
    ids = np.array([r[0] for r in rows])
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    forward, backward = walking_seconds(geoms, dem_sampler(dem_path, srid))
    with conn.cursor() as cur:
        cur.executemany("UPDATE gridgeo.roads SET walk_cost = %s, walk_reverse_cost = %s "
                        "WHERE id = %s",
                        list(zip(forward.tolist(), backward.tolist(), ids.tolist(), strict=True)))
    return len(rows)
