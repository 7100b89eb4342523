"""Walking times on a real DEM: matplotlib's sample of the Jacksboro fault (USGS, 3")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from gridgeo_plugins.patrol.network import build_routing_graph
from gridgeo_plugins.patrol.sweep import plan_sweep
from gridgeo_plugins.patrol.tobler import dem_sampler, tobler_kmh, walking_seconds
from matplotlib import cbook
from pyproj import Transformer

from tests.patrol_networks import network
from tests.test_patrol_algorithms import _check_walk

UTM_16N = 32616


@pytest.fixture(scope="module")
def real_dem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample DEM as a geographic GeoTIFF (EPSG:4326), as a survey would deliver it."""
    data = np.load(cbook.get_sample_data("jacksboro_fault_dem.npz", asfileobj=False))
    z = data["elevation"].astype(np.float32)
    path = tmp_path_factory.mktemp("dem") / "jacksboro.tif"
    with rasterio.open(path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1,
                       dtype="float32", crs="EPSG:4326",
                       transform=Affine(float(data["dx"]), 0.0, float(data["xmin"]),
                                        0.0, -float(data["dy"]), float(data["ymax"]))) as dst:
        dst.write(z, 1)
    return path


def _draped_lattice(dem: Path, cols: int = 10, rows: int = 10, step: float = 400.0):
    with rasterio.open(dem) as src:
        centre = src.xy(src.height // 2, src.width // 2)
    x0, y0 = Transformer.from_crs(4326, UTM_16N, always_xy=True).transform(*centre)
    ids = np.arange(cols * rows).reshape(rows, cols)
    edges = [(int(ids[r, c]), int(ids[r, c + 1])) for r in range(rows) for c in range(cols - 1)]
    edges += [(int(ids[r, c]), int(ids[r + 1, c])) for r in range(rows - 1) for c in range(cols)]
    xy = np.column_stack([x0 + (np.arange(cols * rows) % cols) * step,
                          y0 + (np.arange(cols * rows) // cols) * step])
    net = network(xy, edges)
    forward, backward = walking_seconds(net.geoms, dem_sampler(dem, UTM_16N))
    net.forward, net.backward = forward, backward
    return net


def test_walking_times_on_a_real_dem_follow_the_terrain(real_dem):
    net = _draped_lattice(real_dem)
    length = shapely.length(net.geoms)
    fastest = length / (tobler_kmh(-0.05) / 3.6)  # nobody walks faster than 6 km/h
    assert np.all(net.forward >= fastest - 1e-6) and np.all(net.backward >= fastest - 1e-6)
    asymmetry = np.abs(net.forward - net.backward) / np.minimum(net.forward, net.backward)
    assert asymmetry.max() > 0.2  # real slopes: uphill and downhill differ
    sampler = dem_sampler(real_dem, UTM_16N)
    a, b = shapely.get_coordinates(net.geoms[0])[[0, -1]]
    rise = sampler(np.array([b[0]]), np.array([b[1]]))[0] - sampler(np.array([a[0]]),
                                                                   np.array([a[1]]))[0]
    assert (net.forward[0] > net.backward[0]) == (rise > 0)


def test_a_walking_sweep_over_real_terrain_is_the_optimum(real_dem):
    net = _draped_lattice(real_dem)
    graph, snaps = build_routing_graph(net, shapely.get_coordinates(net.geoms[0])[:1])
    result = plan_sweep(graph, np.arange(len(graph.piece_u)), snaps[0].node, ilp_time_s=5)
    _check_walk(graph, snaps[0].node, result.patrols[0])
    assert result.area_optimum_s is not None  # the integer program proved it
    assert result.total_s == pytest.approx(result.area_optimum_s)
    assert result.lower_bound_s <= result.total_s
