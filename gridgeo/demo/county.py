"""The fictitious county: where each demo town lies, its code, name and outline.

Towns sit side by side on a jittered lattice. Every edge between two lattice corners is one
wiggly polyline computed from the seed and the edge's position alone, so two neighbouring
towns share their boundary coordinate for coordinate, and a road crossing it meets at a
shared gate point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon

from gridgeo.demo import names

COUNTY_CODE = "410399"
METRIC_EPSG = 4546
GEO_EPSG = 4490
TOWN_SIZE_M = 17_600.0  # the jittered, wiggly square comes out near 321 km²
CENTRE_LONLAT = (112.35, 34.10)
PIXEL_M = 25.0
DEM_MARGIN_M = 250.0
_EDGE_POINTS = 201


@dataclass(frozen=True)
class Gate:
    """Where a county road leaves the town for a neighbour."""

    x: float
    y: float
    neighbour_stem: str


@dataclass(frozen=True)
class TownSpec:
    """What a town generator needs to know about its place in the county."""

    seed: int
    index: int
    code: str
    stem: str
    outline: Polygon
    gates: tuple[Gate, ...]
    mining: bool

    @property
    def name(self) -> str:
        return f"{self.stem}镇"


@dataclass(frozen=True)
class DemGrid:
    """The county DEM's pixel grid (north-up, square pixels)."""

    x0: float
    y0: float  # top edge
    width: int
    height: int
    pixel: float = PIXEL_M

    def window(self, bounds: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """(row, col, height, width) of the pixels covering bounds plus the margin."""
        minx, miny, maxx, maxy = bounds
        col = max(0, math.floor((minx - DEM_MARGIN_M - self.x0) / self.pixel))
        row = max(0, math.floor((self.y0 - maxy - DEM_MARGIN_M) / self.pixel))
        col_end = min(self.width, math.ceil((maxx + DEM_MARGIN_M - self.x0) / self.pixel))
        row_end = min(self.height, math.ceil((self.y0 - miny + DEM_MARGIN_M) / self.pixel))
        return row, col, row_end - row, col_end - col


def township_code(index: int) -> str:
    """Town codes 101–199, then 201–399 (the statistical code's town and township ranges)."""
    if index < 99:
        return f"{COUNTY_CODE}{101 + index}"
    if index < 99 + 199:
        return f"{COUNTY_CODE}{201 + index - 99}"
    raise ValueError("a county has room for at most 298 demo towns (scale <= 298)")


def metric_centre() -> tuple[float, float]:
    to_metric = Transformer.from_crs(GEO_EPSG, METRIC_EPSG, always_xy=True)
    x, y = to_metric.transform(*CENTRE_LONLAT)
    return float(x), float(y)


def _lattice_shape(scale: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(scale))
    return cols, math.ceil(scale / cols)


def _corners(seed: int, cols: int, rows: int) -> np.ndarray:
    cx, cy = metric_centre()
    i, j = np.meshgrid(np.arange(cols + 1), np.arange(rows + 1), indexing="ij")
    base = np.stack([cx + (i - cols / 2) * TOWN_SIZE_M, cy + (j - rows / 2) * TOWN_SIZE_M], -1)
    jitter = np.random.default_rng([seed, 7002]).uniform(-0.1, 0.1, base.shape)
    return base + jitter * TOWN_SIZE_M


def _edge(seed: int, corners: np.ndarray, start: tuple[int, int],
          end: tuple[int, int], kind: int) -> np.ndarray:
    """The boundary polyline from corner ``start`` to ``end``, identical for both towns."""
    a, b = corners[start], corners[end]
    rng = np.random.default_rng([seed, 7003, kind, *start])
    t = np.linspace(0.0, 1.0, _EDGE_POINTS)
    k = np.arange(1, 7)[:, None]
    amplitude = rng.normal(0.0, 1.0, (6, 1)) * TOWN_SIZE_M * 0.045 / k**1.2
    phase = rng.uniform(0.0, 2 * math.pi, (6, 1))
    offset = np.sin(math.pi * t) * (amplitude * np.sin(k * math.pi * t + phase)).sum(0)
    direction = (b - a) / np.linalg.norm(b - a)
    normal = np.array([-direction[1], direction[0]])
    line = a + t[:, None] * (b - a) + offset[:, None] * normal
    line[0], line[-1] = a, b
    return line


def _is_mining_town(index: int) -> bool:
    """Every third town mines gold and molybdenum; adit numbers (county + KD + 4 digits)
    leave room for 52 such towns of 192 adits."""
    return index % 3 == 0 and index // 3 < 52


def layout_county(seed: int, scale: int) -> tuple[list[TownSpec], DemGrid]:
    """Every town's spec and the DEM grid covering the county."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    township_code(scale - 1)
    cols, rows = _lattice_shape(scale)
    corners = _corners(seed, cols, rows)
    stems = names.town_stems(seed, scale)
    cell = {(t % cols, t // cols): t for t in range(scale)}

    def bottom(i: int, j: int) -> np.ndarray:
        return _edge(seed, corners, (i, j), (i + 1, j), 0)

    def left(i: int, j: int) -> np.ndarray:
        return _edge(seed, corners, (i, j), (i, j + 1), 1)

    specs = []
    for t in range(scale):
        i, j = t % cols, t // cols
        ring = np.concatenate([bottom(i, j), left(i + 1, j)[1:], bottom(i, j + 1)[::-1][1:],
                               left(i, j)[::-1][1:]])
        outline = Polygon(ring)
        if not outline.is_valid:
            raise RuntimeError(f"town {t} outline is not valid")
        gates = []
        for edge, neighbour in ((bottom(i, j), (i, j - 1)), (left(i + 1, j), (i + 1, j)),
                                (bottom(i, j + 1), (i, j + 1)), (left(i, j), (i - 1, j))):
            if neighbour in cell:
                mid = edge[_EDGE_POINTS // 2]
                gates.append(Gate(float(mid[0]), float(mid[1]), stems[cell[neighbour]]))
        town_seed = int(np.random.default_rng([seed, 7004, t]).integers(0, 2**62))
        specs.append(TownSpec(seed=town_seed, index=t, code=township_code(t), stem=stems[t],
                              outline=outline, gates=tuple(gates),
                              mining=_is_mining_town(t)))
    minx, miny, maxx, maxy = shapely.total_bounds([s.outline for s in specs])
    x0 = math.floor((minx - DEM_MARGIN_M) / PIXEL_M) * PIXEL_M
    y0 = math.ceil((maxy + DEM_MARGIN_M) / PIXEL_M) * PIXEL_M
    width = math.ceil((maxx + DEM_MARGIN_M - x0) / PIXEL_M)
    height = math.ceil((y0 - miny + DEM_MARGIN_M) / PIXEL_M)
    return specs, DemGrid(x0, y0, width, height)
