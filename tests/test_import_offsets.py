"""GCJ-02 / BD-09 offsets: published reference values, exact inverses, and detection."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from numpy.typing import NDArray
from pyproj import Geod, Transformer

from gridgeo.importer.offsets import (
    OFFSETS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    detect_offset,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    undo_offset,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")
METRIC_SRID = 4546  # CGCS2000 / 3-degree Gauss-Krüger CM 111°E, covers 112.3°E

# (name, wgs lon, wgs lat, gcj lon, gcj lat, bd lon, bd lat), computed with prcoords 1.0.2
# (PyPI, Artoria2e5/PRCoords: wgs_gcj, wgs_bd); coord-convert 0.2.1 gives identical floats.
# eviltransform 0.1.1 differs by ~1e-7° because it scales with a=6378137, not Krasovsky's.
REFERENCE = [
    ("Dengfeng", 112.3, 34.0, 112.30609400317752, 33.998588706316355,
     112.31253510915222, 34.00484541069167),
    ("Beijing", 116.397, 39.909, 116.40324350604497, 39.91040339728811,
     116.40961569346796, 39.916744221722645),
    ("Shanghai", 121.4737, 31.2304, 121.47822305927693, 31.22845773757727,
     121.484781468503, 31.234310593689997),
    ("Urumqi", 87.6168, 43.8256, 87.61964994946926, 43.82680539311119,
     87.62609977081571, 43.83294979479328),
    ("Haikou", 110.3312, 20.0311, 110.33557084396945, 20.029053664963516,
     110.34211865086186, 20.034729582393396),
]
_, WGS_LON, WGS_LAT, GCJ_LON, GCJ_LAT, BD_LON, BD_LAT = (
    np.array(column) for column in zip(*REFERENCE, strict=True))


def metres(lon1: NDArray[np.float64], lat1: NDArray[np.float64],
           lon2: NDArray[np.float64], lat2: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def test_forward_matches_published_implementations() -> None:
    np.testing.assert_allclose(wgs84_to_gcj02(WGS_LON, WGS_LAT), (GCJ_LON, GCJ_LAT),
                               rtol=0, atol=1e-11)
    np.testing.assert_allclose(wgs84_to_bd09(WGS_LON, WGS_LAT), (BD_LON, BD_LAT),
                               rtol=0, atol=1e-11)
    np.testing.assert_allclose(gcj02_to_bd09(GCJ_LON, GCJ_LAT), (BD_LON, BD_LAT),
                               rtol=0, atol=1e-11)


def test_inverses_recover_published_values_to_1e9_degrees() -> None:
    np.testing.assert_allclose(gcj02_to_wgs84(GCJ_LON, GCJ_LAT), (WGS_LON, WGS_LAT),
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(bd09_to_gcj02(BD_LON, BD_LAT), (GCJ_LON, GCJ_LAT),
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(bd09_to_wgs84(BD_LON, BD_LAT), (WGS_LON, WGS_LAT),
                               rtol=0, atol=1e-9)


def test_offsets_at_dengfeng_are_hundreds_of_metres() -> None:
    gcj = metres(np.array(112.3), np.array(34.0), *wgs84_to_gcj02(112.3, 34.0))
    bd = metres(np.array(112.3), np.array(34.0), *wgs84_to_bd09(112.3, 34.0))
    assert 100 < gcj < 1000
    assert 100 < bd < 2000 and bd > gcj


def random_points_in_china(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # Inset from the out-of-China box by 0.1°: an offset (< 0.02°) can carry a point across
    # the box's edge, where the offset is undefined.
    rng = np.random.default_rng(20240601)
    return rng.uniform(72.104, 137.7347, n), rng.uniform(0.9293, 55.7271, n)


def one_step_bd09_to_gcj02(lon: NDArray[np.float64], lat: NDArray[np.float64]
                           ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Baidu's published inverse, the common one-step shortcut."""
    x, y = lon - 0.0065, lat - 0.006
    x_pi = math.pi * 3000 / 180
    z = np.hypot(x, y) - 0.00002 * np.sin(y * x_pi)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * x_pi)
    return z * np.cos(theta), z * np.sin(theta)


def test_gcj02_round_trip_is_sub_centimetre_and_beats_one_step() -> None:
    lon, lat = random_points_in_china(10_000)
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    exact = metres(lon, lat, *gcj02_to_wgs84(gcj_lon, gcj_lat))
    shifted_lon, shifted_lat = wgs84_to_gcj02(gcj_lon, gcj_lat)
    one_step = metres(lon, lat, 2 * gcj_lon - shifted_lon, 2 * gcj_lat - shifted_lat)
    assert exact.max() < 0.01
    assert one_step.max() > 1.0  # metres: why the one-step inverse is not enough
    assert one_step.max() > 100 * exact.max()


def test_bd09_round_trip_is_sub_centimetre_and_beats_one_step() -> None:
    lon, lat = random_points_in_china(10_000)
    bd_lon, bd_lat = wgs84_to_bd09(lon, lat)
    exact = metres(lon, lat, *bd09_to_wgs84(bd_lon, bd_lat))
    assert exact.max() < 0.01
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    one_step = metres(gcj_lon, gcj_lat, *one_step_bd09_to_gcj02(bd_lon, bd_lat))
    exact_gcj = metres(gcj_lon, gcj_lat, *bd09_to_gcj02(bd_lon, bd_lat))
    assert one_step.max() > 0.05
    assert one_step.max() > 100 * exact_gcj.max()


def test_points_outside_china_are_unchanged() -> None:
    # Tokyo, Paris, New York, Sydney, and north of the box over Siberia.
    lon = np.array([139.6917, 2.3522, -74.006, 151.2093, 100.0])
    lat = np.array([35.6895, 48.8566, 40.7128, -33.8688, 60.0])
    for convert in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = convert(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_to_wgs84_dispatches_and_rejects_unknown_offsets() -> None:
    np.testing.assert_array_equal(to_wgs84(GCJ_LON, GCJ_LAT, "none"), (GCJ_LON, GCJ_LAT))
    np.testing.assert_allclose(to_wgs84(GCJ_LON, GCJ_LAT, "gcj02"), (WGS_LON, WGS_LAT),
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(to_wgs84(BD_LON, BD_LAT, "bd09"), (WGS_LON, WGS_LAT),
                               rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="offset must be one of none, gcj02, bd09"):
        to_wgs84(GCJ_LON, GCJ_LAT, "wgs84")
    with pytest.raises(ValueError, match="offset must be one of"):
        undo_offset(np.array([shapely.Point(112.3, 34.0)]), "baidu")


def test_undo_offset_keeps_type_and_vertices_of_any_geometry() -> None:
    gcj = np.column_stack(wgs84_to_gcj02(WGS_LON, WGS_LAT))
    ring = [(112.30, 34.00), (112.31, 34.00), (112.31, 34.01), (112.30, 34.01), (112.30, 34.00)]
    hole = [(112.302, 34.002), (112.304, 34.002), (112.304, 34.004), (112.302, 34.002)]
    geoms = np.array([
        shapely.Polygon(ring, [hole]),
        shapely.MultiLineString([gcj[:2], gcj[2:]]),
        shapely.LineString(gcj),
        shapely.Point(GCJ_LON[0], GCJ_LAT[0], 120.0),
        None,
    ], dtype=object)
    undone = undo_offset(geoms, "gcj02")
    assert list(shapely.get_type_id(undone)) == list(shapely.get_type_id(geoms))
    assert list(shapely.get_num_coordinates(undone)) == list(shapely.get_num_coordinates(geoms))
    np.testing.assert_allclose(shapely.get_coordinates(undone[2]),
                               np.column_stack((WGS_LON, WGS_LAT)), rtol=0, atol=1e-9)
    before, after = shapely.get_coordinates(geoms[0]), shapely.get_coordinates(undone[0])
    moved = metres(before[:, 0], before[:, 1], after[:, 0], after[:, 1])
    assert np.all((moved > 100) & (moved < 1000))
    assert shapely.get_coordinates(undone[3], include_z=True)[0, 2] == 120.0


# --- detection -------------------------------------------------------------------------

TO_LONLAT = Transformer.from_crs(METRIC_SRID, 4490, always_xy=True)
CENTRE_X, CENTRE_Y = Transformer.from_crs(4490, METRIC_SRID, always_xy=True).transform(
    112.3, 34.0)
SPACING_M, LINES = 1000.0, 7


def lonlat(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    return np.asarray(shapely.transform(
        geoms, lambda xy: np.column_stack(TO_LONLAT.transform(xy[:, 0], xy[:, 1]))))


@pytest.fixture(scope="module")
def roads_m() -> NDArray[np.object_]:
    """A 6 km lattice of synthetic roads 1 km apart around 112.3°E 34.0°N, in metres.

    Wider than the offsets (GCJ-02 ~580 m, BD-09 ~1,280 m here): on a 200 m lattice a
    shifted point lands within ~40 m of some other road, which says little about detection.
    """
    half = SPACING_M * (LINES - 1) / 2
    lines = []
    for k in np.linspace(-half, half, LINES):
        lines.append(shapely.LineString([(CENTRE_X - half, CENTRE_Y + k),
                                         (CENTRE_X + half, CENTRE_Y + k)]))
        lines.append(shapely.LineString([(CENTRE_X + k, CENTRE_Y - half),
                                         (CENTRE_X + k, CENTRE_Y + half)]))
    return np.array(lines, dtype=object)


@pytest.fixture(scope="module")
def points_on_roads(roads_m: NDArray[np.object_]) -> tuple[NDArray[np.float64],
                                                           NDArray[np.float64]]:
    """500 points on the roads, within 5 m of them as real address points would be."""
    rng = np.random.default_rng(7)
    picks = roads_m[rng.integers(0, len(roads_m), 500)]
    xy = shapely.get_coordinates(
        shapely.line_interpolate_point(picks, rng.uniform(0, 1, 500), normalized=True))
    xy += rng.uniform(-3.5, 3.5, xy.shape)
    lon, lat = TO_LONLAT.transform(xy[:, 0], xy[:, 1])
    return np.asarray(lon), np.asarray(lat)


@pytest.mark.parametrize(("shift", "expected", "name"), [
    (None, "none", None),
    (wgs84_to_gcj02, "gcj02", "GCJ-02"),
    (wgs84_to_bd09, "bd09", "BD-09"),
])
def test_detect_offset_names_the_web_map(roads_m, points_on_roads, shift, expected, name):
    lon, lat = points_on_roads if shift is None else shift(*points_on_roads)
    guess = detect_offset(shapely.points(lon, lat), lonlat(roads_m), METRIC_SRID, "roads")
    assert guess.offset == expected
    assert set(guess.median_m) == set(OFFSETS)
    assert guess.median_m[expected] < 5
    others = [guess.median_m[o] for o in OFFSETS if o != expected]
    assert min(others) > 100
    for offset in ("none", expected):
        assert f"{guess.median_m[offset]:,.0f} m" in guess.sentence
    assert "from the roads" in guess.sentence
    if name is not None:
        assert f"after undoing {name}" in guess.sentence
        assert f"set offset: {expected}" in guess.sentence
    else:
        assert "close enough as given" in guess.sentence


def test_detect_offset_measures_zero_inside_polygons(roads_m, points_on_roads):
    blocks = lonlat(shapely.buffer(roads_m, 20.0, cap_style="flat"))
    guess = detect_offset(shapely.points(*points_on_roads), blocks, METRIC_SRID, "grids")
    assert guess.offset == "none"
    assert guess.median_m["none"] == 0.0


def test_detect_offset_gives_up_when_nothing_fits(roads_m):
    rng = np.random.default_rng(3)
    x = CENTRE_X + 3000 + 5000 + rng.uniform(0, 2000, 300)  # 5-7 km east of the lattice
    y = CENTRE_Y + rng.uniform(-3000, 3000, 300)
    points = shapely.points(np.column_stack(TO_LONLAT.transform(x, y)))
    guess = detect_offset(points, lonlat(roads_m), METRIC_SRID, "roads")
    assert guess.offset == "unknown"
    assert all(median > 4000 for median in guess.median_m.values())
    assert f"{guess.median_m['none']:,.0f} m" in guess.sentence
    assert "no offset fits" in guess.sentence


def test_detect_offset_with_nothing_to_compare(roads_m):
    nothing = np.array([], dtype=object)
    for points, reference in ((nothing, lonlat(roads_m)),
                              (np.array([shapely.Point(112.3, 34.0)]), nothing)):
        guess = detect_offset(points, reference, METRIC_SRID, "roads")
        assert guess.offset == "unknown"
        assert guess.median_m == {}
        assert "nothing to compare with" in guess.sentence
