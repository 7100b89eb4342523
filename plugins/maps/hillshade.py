"""A hillshade of the deployment's DEM as one PNG image overlay for the overview map.

The DEM (a metric GeoTIFF, EPSG:4546 for the demo) is warped once to Web Mercator, so
the image lines up exactly with the map's tiles, shaded with numpy and kept in memory
per server process: the page needs no tile server and no internet.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_SIDE = 1600  # pixels on the image's longer side: a full-screen overview needs no more
AZIMUTH, ALTITUDE = 315.0, 45.0

_lock = threading.Lock()
_cache: dict[tuple[str, float], Hillshade] = {}


@dataclass(frozen=True)
class Hillshade:
    png: bytes
    bounds: tuple[float, float, float, float]  # west, south, east, north in degrees


def shade(elevation: np.ndarray, pixel_x: float, pixel_y: float,
          azimuth: float = AZIMUTH, altitude: float = ALTITUDE) -> np.ndarray:
    """Horn-style hillshade (0-255) of an elevation array with north up."""
    dz_dy, dz_dx = np.gradient(elevation, pixel_y, pixel_x)
    slope = np.arctan(np.hypot(dz_dx, dz_dy))
    aspect = np.arctan2(-dz_dx, dz_dy)  # rows grow southwards: flip the y gradient
    zenith, az = np.radians(90.0 - altitude), np.radians(azimuth)
    lit = (np.cos(zenith) * np.cos(slope)
           + np.sin(zenith) * np.sin(slope) * np.cos(az - np.pi / 2 - aspect))
    return np.clip(lit * 255.0, 0, 255).astype(np.uint8)


def build(dem: Path) -> Hillshade:
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

    with rasterio.open(dem) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:3857", src.width, src.height, *src.bounds)
        scale = max(width, height) / MAX_SIDE
        if scale > 1:
            width, height = int(width / scale), int(height / scale)
            transform = transform * transform.scale(scale, scale)
        elevation = np.full((height, width), np.nan, dtype=np.float32)
        reproject(rasterio.band(src, 1), elevation, dst_transform=transform,
                  dst_crs="EPSG:3857", resampling=Resampling.bilinear, dst_nodata=np.nan)
        west, north = transform * (0, 0)
        east, south = transform * (width, height)
        bounds = transform_bounds("EPSG:3857", "EPSG:4326", west, south, east, north)
    valid = np.isfinite(elevation)
    filled = np.where(valid, elevation, np.nanmean(elevation) if valid.any() else 0.0)
    grey = shade(filled, transform.a, -transform.e)
    alpha = np.where(valid, 255, 0).astype(np.uint8)
    with warnings.catch_warnings(), MemoryFile() as memfile:
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a PNG needs no CRS
        with memfile.open(driver="PNG", width=width, height=height, count=2,
                          dtype="uint8") as png:
            png.write(grey, 1)
            png.write(alpha, 2)
        return Hillshade(memfile.read(), tuple(round(v, 7) for v in bounds))  # type: ignore[arg-type]


def hillshade(dem: Path) -> Hillshade:
    """The hillshade of ``dem``, computed on first use and again when the file changes."""
    key = (str(dem), dem.stat().st_mtime)
    with _lock:
        if key not in _cache:
            _cache.clear()
            _cache[key] = build(dem)
        return _cache[key]
