"""The digital elevation model: mountains carved by the valleys the roads follow.

Elevation = valley floor + relief x s(d), where d is the distance to the valley network,
s rises smoothly from 0 on the flat valley floor (wider around settlements) to 1 on the
ridges, and floor, relief and detail are global noise fields, so towns computed apart
still meet on the same mountains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine
from shapely.geometry import LineString

from gridgeo.demo.county import METRIC_EPSG, DemGrid
from gridgeo.demo.noise import fbm, field_key, value_noise

NODATA = -9999.0
FLANK_M = 1600.0  # horizontal distance from the valley floor's edge to the ridge
_FAR_M = 2600.0


@dataclass
class Terrain:
    """One town's window of the county DEM, with the fields the generators sample."""

    row: int  # window offset in the county grid
    col: int
    x0: float  # left edge of the window
    y0: float  # top edge of the window
    pixel: float
    elevation: np.ndarray
    slope_deg: np.ndarray
    valley_distance: np.ndarray
    floor_half_width: np.ndarray

    def index(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the pixel containing each point (clipped to the window)."""
        h, w = self.elevation.shape
        col = np.floor((np.asarray(x) - self.x0) / self.pixel).astype(np.int64)
        row = np.floor((self.y0 - np.asarray(y)) / self.pixel).astype(np.int64)
        return np.clip(row, 0, h - 1), np.clip(col, 0, w - 1)

    def pixel_centres(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.column_stack([self.x0 + (cols + 0.5) * self.pixel,
                                self.y0 - (rows + 0.5) * self.pixel])

    def slope_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.slope_deg[self.index(x, y)]

    def valley_distance_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.valley_distance[self.index(x, y)]

    def floor_width_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.floor_half_width[self.index(x, y)]

    def elevation_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear elevation between pixel centres."""
        h, w = self.elevation.shape
        fx = np.clip((np.asarray(x) - self.x0) / self.pixel - 0.5, 0, w - 1.001)
        fy = np.clip((self.y0 - np.asarray(y)) / self.pixel - 0.5, 0, h - 1.001)
        c, r = fx.astype(np.int64), fy.astype(np.int64)
        u, v = fx - c, fy - r
        z = self.elevation
        top = z[r, c] * (1 - u) + z[r, c + 1] * u
        bottom = z[r + 1, c] * (1 - u) + z[r + 1, c + 1] * u
        return top * (1 - v) + bottom * v


def slope_degrees(elevation: np.ndarray, pixel: float) -> np.ndarray:
    """Slope from central differences, the way any GIS reader of the DEM would compute it."""
    dz_row, dz_col = np.gradient(elevation.astype(np.float64), pixel, pixel)
    return np.degrees(np.arctan(np.hypot(dz_row, dz_col))).astype(np.float32)


def _upsample(coarse: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear doubling of a field sampled on every other pixel centre."""
    hc, wc = coarse.shape
    full = np.empty((2 * hc - 1, 2 * wc - 1))
    full[::2, ::2] = coarse
    full[1::2, ::2] = (coarse[:-1] + coarse[1:]) / 2
    full[:, 1::2] = (full[:, :-2:2] + full[:, 2::2]) / 2
    return full[: shape[0], : shape[1]]


def _valley_distance(valleys: Sequence[LineString], x0: float, y0: float, step: float,
                     shape: tuple[int, int]) -> np.ndarray:
    """Distance from each cell centre of a grid to the nearest valley, by jump flooding:
    every cell keeps the nearest valley point its neighbours know of, at halving offsets."""
    h, w = shape
    samples = shapely.get_coordinates(shapely.segmentize(list(valleys), step / 5.0))
    col = np.floor((samples[:, 0] - x0) / step).astype(np.int64)
    row = np.floor((y0 - samples[:, 1]) / step).astype(np.int64)
    inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)
    samples, row, col = samples[inside], row[inside], col[inside]
    centre_x = x0 + (np.arange(w) + 0.5) * step
    centre_y = y0 - (np.arange(h) + 0.5) * step
    near = np.full((h, w, 2), np.inf)
    gap = np.hypot(samples[:, 0] - centre_x[col], samples[:, 1] - centre_y[row])
    order = np.argsort(-gap, kind="stable")  # the closest sample per cell is written last
    near[row[order], col[order]] = samples[order]
    best = np.hypot(near[..., 0] - centre_x, near[..., 1] - centre_y[:, None])
    top = 1 << max(0, int(math.log2(max(h, w))))
    jumps = [top >> k for k in range(top.bit_length())] + [2, 1]  # two extra passes fix most
    for jump in jumps:                                            # of the flood's misses
        for dr in (-jump, 0, jump):
            for dc in (-jump, 0, jump):
                if dr == 0 and dc == 0:
                    continue
                moved = np.full_like(near, np.inf)
                moved[max(0, -dr):h - max(0, dr), max(0, -dc):w - max(0, dc)] = \
                    near[max(0, dr):h - max(0, -dr), max(0, dc):w - max(0, -dc)]
                dist = np.hypot(moved[..., 0] - centre_x, moved[..., 1] - centre_y[:, None])
                better = dist < best
                near[better] = moved[better]
                best[better] = dist[better]
    return np.minimum(best, _FAR_M)


def _floor_half_width(xy: np.ndarray, centres: np.ndarray, spread: np.ndarray,
                      reach: np.ndarray) -> np.ndarray:
    """Valley floors are 100 m wide on each side, wider around settlements."""
    width = np.full(len(xy), 100.0)
    for (cx, cy), a, r in zip(centres, spread, reach, strict=True):
        d2 = (xy[:, 0] - cx) ** 2 + (xy[:, 1] - cy) ** 2
        np.maximum(width, 100.0 + a * np.exp(-d2 / r**2), out=width)
    return width


def _ridged(x: np.ndarray, y: np.ndarray, cell: float, amplitude: float,
            key: int) -> np.ndarray:
    """Sharp crests and V-shaped ravines: side ridges on the flanks of the main valleys."""
    return amplitude * (0.5 - 2.0 * np.abs(value_noise(x, y, cell, key)))


def build_terrain(grid: DemGrid, window: tuple[int, int, int, int], county_seed: int,
                  valleys: Sequence[LineString], centres: np.ndarray, spread: np.ndarray,
                  reach: np.ndarray) -> Terrain:
    """The DEM window of one town: ``centres`` widen the valley floor by ``spread`` metres
    within about ``reach`` metres of each settlement."""
    row, col, h, w = window
    x0, y0, px = grid.x0 + col * grid.pixel, grid.y0 - row * grid.pixel, grid.pixel
    hc, wc = h // 2 + 1, w // 2 + 1
    cx, cy = np.meshgrid(x0 + (np.arange(wc) * 2 + 0.5) * px, y0 - (np.arange(hc) * 2 + 0.5) * px)
    coarse_xy = np.column_stack([cx.ravel(), cy.ravel()])
    distance = _upsample(_valley_distance(valleys, x0 - 0.5 * px, y0 + 0.5 * px, 2 * px,
                                          (hc, wc)), (h, w))
    half_width = _upsample(
        _floor_half_width(coarse_xy, centres, spread, reach).reshape(hc, wc), (h, w))
    floor = _upsample(520.0 + fbm(cx, cy, [(24000, 140), (9000, 40), (2500, 6)],
                                  field_key(county_seed, 1)), (h, w))
    relief = _upsample(
        np.maximum(300.0, 800.0 + fbm(cx, cy, [(8000, 380), (3000, 160)],
                                      field_key(county_seed, 2)))
        + _ridged(cx, cy, 2400.0, 190.0, field_key(county_seed, 3))
        + _ridged(cx, cy, 950.0, 80.0, field_key(county_seed, 4)), (h, w))
    x, y = np.meshgrid(x0 + (np.arange(w) + 0.5) * px, y0 - (np.arange(h) + 0.5) * px)
    detail = fbm(x, y, [(420, 18)], field_key(county_seed, 5))
    u = np.clip((distance - half_width) / FLANK_M, 0.0, 1.0)
    rise = u * u * (3.0 - 2.0 * u)
    elevation = (floor + rise * (relief + detail)).astype(np.float32)
    return Terrain(row, col, x0, y0, px, elevation, slope_degrees(elevation, px),
                   distance.astype(np.float32), half_width.astype(np.float32))


def write_dem(path: Path, grid: DemGrid, elevation: np.ndarray) -> None:
    """Write the county DEM as a tiled, compressed float32 GeoTIFF in EPSG:4546."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff", "dtype": "float32", "count": 1, "width": grid.width,
        "height": grid.height, "crs": f"EPSG:{METRIC_EPSG}", "nodata": NODATA,
        "transform": Affine(grid.pixel, 0.0, grid.x0, 0.0, -grid.pixel, grid.y0),  # north up
        "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate",
        "predictor": 3, "zlevel": 1,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(elevation, 1)
