"""The overlap computation on hand-made grids with known answers (no database)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import shapely
from gridgeo_plugins.overlap import report
from gridgeo_plugins.overlap.compute import OverlapResult, OverlapRules, compute_overlap
from shapely import box

from gridgeo.geometry.layer import Layer, layer_from_geoms
from gridgeo.geometry.synthetic import generate_county

SRID = 4546
X, Y = 620_000.0, 3_774_000.0  # somewhere in EPSG:4546, so output transforms are realistic


def square(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    return box(X + x0, Y + y0, X + x1, Y + y1)


def layer(**geoms: shapely.Geometry) -> Layer:
    return layer_from_geoms(list(geoms), list(geoms.values()), SRID)


def overlap(grids: Layer, police: Layer, **rules: float) -> OverlapResult:
    return compute_overlap(grids, police, OverlapRules(**rules))


def pieces_by_pair(result: OverlapResult) -> dict[tuple[str, str], float]:
    p = result.pieces
    return {(result.grids.codes[g], result.police.codes[q]): round(float(a), 6)
            for g, q, a in zip(p.grid, p.police, p.area_m2, strict=True)}


def test_two_police_grids_split_a_square() -> None:
    result = overlap(layer(A=square(0, 0, 100, 100)),
                     layer(P1=square(0, 0, 60, 100), P2=square(60, 0, 100, 100)))
    assert pieces_by_pair(result) == {("A", "P1"): 6000.0, ("A", "P2"): 4000.0}
    p = result.pieces
    assert sorted(np.round(p.grid_share, 9)) == [0.4, 0.6]
    assert p.police_share.tolist() == [1.0, 1.0]
    assert result.police.codes[p.police[p.dominant]].tolist() == ["P1"]
    assert result.per_grid.split.tolist() == [True]
    assert not p.sliver.any()
    assert result.per_grid.uncovered_m2[0] == pytest.approx(0, abs=1e-6)
    assert len(result.coverage.uncovered_grid) == len(result.coverage.double_grid) == 0


def test_a_grid_inside_one_police_grid_is_its_own_piece() -> None:
    grid = square(10, 10, 40, 40)
    result = overlap(layer(A=grid), layer(P=square(0, 0, 100, 100)))
    assert result.pieces.geoms[0].equals(grid)
    assert result.pieces.grid_share.tolist() == [1.0]
    assert result.pieces.police_share[0] == pytest.approx(900 / 10_000)
    assert not result.per_grid.split[0]


def test_a_small_piece_is_a_sliver_and_does_not_split_the_grid() -> None:
    grids = layer(A=square(0, 0, 100, 100))
    police = layer(P1=square(0, 0, 99, 100), P2=square(99, 0, 200, 100))
    result = overlap(grids, police)
    assert pieces_by_pair(result)[("A", "P2")] == 100.0
    sliver = result.pieces.sliver
    assert result.police.codes[result.pieces.police[sliver]].tolist() == ["P2"]
    assert result.per_grid.sliver_count.tolist() == [1]
    assert result.per_grid.split.tolist() == [False]
    # With thresholds below the piece, the same piece is a real part: the grid is split.
    relaxed = overlap(grids, police, sliver_share=0.005, sliver_area_m2=50)
    assert not relaxed.pieces.sliver.any()
    assert relaxed.per_grid.split.tolist() == [True]


def test_a_sliver_by_area_alone() -> None:
    result = overlap(layer(A=square(0, 0, 1000, 1000)),
                     layer(P1=square(0, 0, 999.95, 1000), P2=square(999.95, 0, 2000, 1000)),
                     sliver_share=0.0, sliver_area_m2=60)
    assert result.pieces.sliver.sum() == 1  # 50 m² is 0.005 % of the grid


def test_a_gap_between_police_grids_is_uncovered() -> None:
    result = overlap(layer(A=square(0, 0, 100, 100)),
                     layer(P1=square(0, 0, 45, 100), P2=square(55, 0, 100, 100)))
    cov = result.coverage
    assert cov.uncovered_grid.tolist() == [0]
    assert cov.uncovered_area_m2[0] == pytest.approx(1000)
    assert cov.uncovered_geoms[0].equals(square(45, 0, 55, 100))
    assert result.per_grid.uncovered_m2[0] == pytest.approx(1000)


def test_a_hole_in_a_police_grid_is_uncovered() -> None:
    holed = square(0, 0, 100, 100).difference(square(40, 40, 60, 60))
    result = overlap(layer(A=square(0, 0, 100, 100)), layer(P=holed))
    cov = result.coverage
    assert cov.uncovered_area_m2.tolist() == [pytest.approx(400)]
    assert cov.uncovered_geoms[0].equals(square(40, 40, 60, 60))
    assert result.pieces.grid_share[0] == pytest.approx(0.96)


def test_two_police_grids_covering_the_same_part() -> None:
    result = overlap(layer(A=square(0, 0, 100, 100)),
                     layer(P1=square(0, 0, 60, 100), P2=square(50, 0, 100, 100)))
    cov = result.coverage
    assert cov.double_area_m2.tolist() == [pytest.approx(1000)]
    assert cov.double_geoms[0].equals(square(50, 0, 60, 100))
    assert result.police.codes[cov.double_police[0]].tolist() == ["P1", "P2"]
    # 6000 + 5000 of pieces, but only the grid's 10000 m² are covered: no gap.
    assert cov.covered_m2[0] == pytest.approx(10_000)
    assert len(cov.uncovered_grid) == 0
    assert result.per_grid.double_m2[0] == pytest.approx(1000)


def test_double_cover_does_not_hide_a_gap() -> None:
    # P1 and P2 overlap by 10 m, and 10 m of the grid are in no police grid: the piece
    # areas still add up to the grid's area, so a sum alone would miss the gap.
    result = overlap(layer(A=square(0, 0, 100, 100)),
                     layer(P1=square(0, 0, 60, 100), P2=square(50, 0, 90, 100)))
    assert result.pieces.area_m2.sum() == pytest.approx(10_000)
    assert result.coverage.uncovered_area_m2.tolist() == [pytest.approx(1000)]
    assert result.coverage.uncovered_geoms[0].equals(square(90, 0, 100, 100))


def test_a_grid_no_police_grid_touches() -> None:
    result = overlap(layer(A=square(0, 0, 100, 100), B=square(500, 0, 600, 100)),
                     layer(P=square(0, 0, 100, 100)))
    assert result.per_grid.dominant_piece[1] == -1
    assert result.per_grid.piece_count.tolist() == [1, 0]
    assert result.coverage.uncovered_grid.tolist() == [1]
    assert result.coverage.uncovered_area_m2[0] == pytest.approx(10_000)


def test_touching_along_an_edge_is_no_piece() -> None:
    result = overlap(layer(A=square(0, 0, 100, 100)),
                     layer(P1=square(0, 0, 100, 100), P2=square(100, 0, 200, 100)))
    assert pieces_by_pair(result) == {("A", "P1"): 10_000.0}


def test_a_tie_goes_to_the_lowest_police_grid_code() -> None:
    result = overlap(layer(A=square(0, 0, 100, 100)),
                     layer(P9=square(0, 0, 50, 100), P1=square(50, 0, 100, 100)))
    p = result.pieces
    assert result.police.codes[p.police[p.dominant]].tolist() == ["P1"]


def test_an_invalid_grid_is_repaired_and_reported() -> None:
    bowtie = shapely.Polygon([(X, Y), (X + 100, Y + 100), (X + 100, Y), (X, Y + 100)])
    result = overlap(layer(A=bowtie, B=square(200, 0, 300, 100)),
                     layer(P=square(-10, -10, 400, 200)))
    assert result.grids.codes[result.invalid_grids].tolist() == ["A"]
    # make_valid turns the bow tie into its two triangles: 5000 m², all inside P.
    assert pieces_by_pair(result)[("A", "P")] == pytest.approx(5000)


def test_one_thread_and_two_threads_agree() -> None:
    county = generate_county(4000, 400, seed=11)
    units = county.level("unit")
    one = compute_overlap(units, county.police, workers=1)
    two = compute_overlap(units, county.police, workers=2)
    assert pieces_by_pair(one) == pieces_by_pair(two)
    assert np.array_equal(one.per_grid.dominant_piece >= 0, two.per_grid.dominant_piece >= 0)
    assert len(one.pieces) > len(units)  # the police grids do cut the grids


def test_progress_is_reported_in_order() -> None:
    county = generate_county(2000, 200, seed=5)
    seen: list[float] = []
    compute_overlap(county.level("unit"), county.police, progress=lambda f, _m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen)


def test_layers_in_different_crs_are_refused() -> None:
    with pytest.raises(ValueError, match="same metric CRS"):
        compute_overlap(layer(A=square(0, 0, 1, 1)),
                        layer_from_geoms(["P"], [square(0, 0, 1, 1)], 4547))


def test_reports_say_what_to_fix() -> None:
    grids = layer(A=square(0, 0, 100, 100), B=square(100, 0, 200, 100))
    police = layer(P1=square(0, 0, 99, 100), P2=square(99, 0, 190, 100))
    result = overlap(grids, police)
    problems = report.problem_rows(result)
    kinds = {(r["problem"], r["grid_code"]) for r in problems}
    assert kinds == {("sliver", "A"), ("uncovered", "B")}
    sliver = next(r for r in problems if r["problem"] == "sliver")
    assert "P2" in sliver["suggested_fix"] and "P1" in sliver["suggested_fix"]
    uncovered = next(r for r in problems if r["problem"] == "uncovered")
    assert uncovered["area_m2"] == pytest.approx(1000)
    assert "extend police grid P2" in uncovered["suggested_fix"]

    rows = report.grid_rows(result)
    summary = report.summary(result, rows, max_worst=5, crosswalk_rows=None)
    assert summary["grids"] == 2 and summary["pieces"] == 3 and summary["slivers"] == 1
    assert summary["grids_partly_uncovered"] == 1
    assert [w["grid_code"] for w in summary["worst"]] == ["B", "A"]  # 90 % before 99 %

    table = report.office_csv(rows)
    assert table.startswith("\ufeffgrid_code,")
    parsed = list(csv.DictReader(io.StringIO(table.lstrip("\ufeff"))))
    assert [r["police_grid_code"] for r in parsed] == ["P1", "P2"]
    assert parsed[0]["other_police_grids"] == "P2 (1.0%)"

    pieces = report.pieces_collection(result)
    assert pieces["numberMatched"] == 3
    lon, lat = pieces["features"][0]["geometry"]["coordinates"][0][0]
    assert 112 < lon < 113 and 34 < lat < 35  # served in longitude/latitude
