"""Installing a town's real DEM: check it fits the deployment, copy it in, re-walk the roads."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import rasterio
import rasterio.shutil
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds

from gridgeo.importer.deployment import terrain_changed

PLAUSIBLE_M = (-500.0, 9000.0)  # the Dead Sea shore to above Everest
_M_PER_DEGREE = 111_320.0
_GTIFF = {"driver": "GTiff", "TILED": "YES", "BLOCKXSIZE": 256, "BLOCKYSIZE": 256,
          "COMPRESS": "DEFLATE", "BIGTIFF": "IF_SAFER"}


@dataclass(frozen=True)
class DemReport:
    path: Path
    crs: str
    width: int
    height: int
    resolution_m: float
    min_m: float
    max_m: float
    roads_rewalked: int


class DemError(ValueError):
    """A DEM that cannot be used; the message is a sentence saying what to fix."""


def _box(bounds: tuple[float, float, float, float]) -> str:
    return (f"lon {bounds[0]:.4f}..{bounds[2]:.4f}, lat {bounds[1]:.4f}..{bounds[3]:.4f}")


def _resolution_m(src: rasterio.DatasetReader) -> float:
    x, y = src.res
    if src.crs.is_geographic:  # degrees: metres at the DEM's middle latitude
        lat = math.radians((src.bounds.bottom + src.bounds.top) / 2)
        return float((x * math.cos(lat) + y) / 2 * _M_PER_DEGREE)
    return float((x + y) / 2 * src.crs.linear_units_factor[1])


def _elevation_range(src: rasterio.DatasetReader, source: Path) -> tuple[float, float]:
    band = src.read(1, masked=True)
    if band.count() == 0:
        raise DemError(f"{source.name} holds no elevations: every cell is nodata")
    low, high = float(band.min()), float(band.max())
    if not (PLAUSIBLE_M[0] <= low and high <= PLAUSIBLE_M[1]) or not np.isfinite([low, high]).all():
        raise DemError(f"{source.name} has elevations from {low:g} to {high:g}, outside "
                       f"{PLAUSIBLE_M[0]:g}..{PLAUSIBLE_M[1]:g} m: check its units and that "
                       "its nodata value is set")
    return low, high


def _check_coverage(conn: psycopg.Connection, src: rasterio.DatasetReader, source: Path) -> None:
    """Every grid and road must lie on the DEM (one pixel of slack at the edges)."""
    left, bottom, right, top = src.bounds
    slack_x, slack_y = src.res
    epsg = src.crs.to_epsg()
    for table in ("grids", "roads"):
        row = conn.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                           f"(SELECT ST_Extent(geom) AS e FROM gridgeo.{table}) s").fetchone()
        if row is None or row[0] is None:
            continue
        if epsg is not None:  # the features themselves in the DEM's CRS: the corners of
            # their lon/lat box stick out hundreds of metres past a projected DEM
            projected = conn.execute(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                f"ST_Extent(ST_Transform(geom, %s)) AS e FROM gridgeo.{table}) s",
                (epsg,)).fetchone()
            assert projected is not None
            x0, y0, x1, y1 = projected
        else:
            x0, y0, x1, y1 = transform_bounds("EPSG:4490", src.crs, *row, densify_pts=21)
        if (x0 < left - slack_x or x1 > right + slack_x
                or y0 < bottom - slack_y or y1 > top + slack_y):
            dem = transform_bounds(src.crs, "EPSG:4490", *src.bounds, densify_pts=21)
            raise DemError(f"{source.name} covers {_box(dem)} but the {table} reach "
                           f"{_box(row)}: supply a DEM that covers all of them")


def _inspect(conn: psycopg.Connection, source: Path) -> DemReport:
    try:
        with rasterio.open(source) as src:
            if src.count < 1:
                raise DemError(f"{source.name} has no raster band: supply a one-band DEM")
            if src.crs is None:
                raise DemError(f"{source.name} has no coordinate reference system: assign one "
                               "(e.g. gdal_edit.py -a_srs EPSG:4490) and import it again")
            low, high = _elevation_range(src, source)
            _check_coverage(conn, src, source)
            crs = src.crs.to_string()
            return DemReport(source, crs, src.width, src.height, _resolution_m(src), low,
                             high, 0)
    except RasterioError:
        raise DemError(f"{source.name} is not a raster GDAL can read: supply a GeoTIFF "
                       "DEM") from None


def import_dem(conn: psycopg.Connection, source: Path, dest: Path,
               progress: Callable[[str], None] = lambda _m: None) -> DemReport:
    """Check the DEM at ``source``, install a tiled, compressed GeoTIFF copy at ``dest`` and
    recompute the roads' walking times in the caller's transaction.

    ``dest`` is replaced in one step, and only once the walking times are computed: a
    failure leaves the previous DEM in place.
    """
    if not source.is_file():
        raise DemError(f"there is no DEM file at {source}")
    progress(f"Checking the DEM {source.name}")
    report = _inspect(conn, source)
    progress(f"{report.width} x {report.height} cells of {report.resolution_m:.1f} m in "
             f"{report.crs}, elevations {report.min_m:.0f}..{report.max_m:.0f} m")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tif", dir=dest.parent)
    os.close(fd)
    partial = Path(name)
    try:
        rasterio.shutil.copy(source, partial, **_GTIFF)
        progress("Recomputing the roads' walking times on the new terrain")
        walked = terrain_changed(conn, partial)
        os.replace(partial, dest)
    except RasterioError as exc:
        raise DemError(f"the DEM could not be written to {dest.parent} ({exc}): check the "
                       "free space and permissions there") from None
    finally:
        partial.unlink(missing_ok=True)
    progress(f"DEM installed at {dest}; {walked:,} roads re-walked")
    return DemReport(dest, report.crs, report.width, report.height, report.resolution_m,
                     report.min_m, report.max_m, walked)
