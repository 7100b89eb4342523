"""What a GIS officer ran into importing real data nobody here wrote (issue 19): codes
that must be computed, parents that follow from codes, one root cause behind many rows,
multi-layer files, templates that match nothing, known gaps on a re-import, files in
another CRS, data outside China.

The tiny town of test_import_checks is written as its files and imported; every file
here is made by the test (nothing fetched)."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from pyproj.transformer import AreaOfInterest, TransformerGroup

from gridgeo.db.pool import connect
from gridgeo.importer.convert import convert
from gridgeo.importer.mapping import LayerMapping, load_plan
from gridgeo.importer.prepare import ImportContext, read_positions
from gridgeo.importer.problems import ImportError_, LayerReport
from gridgeo.importer.report import report_text
from gridgeo.importer.run import check_layers
from gridgeo.importer.template import write_template
from tests.conftest import empty_database
from tests.test_import_checks import (
    GRID_FIELDS,
    TOWN,
    UNIT_1,
    UNIT_2,
    grid_counts,
    run,
    write_csv,
    write_grid_shapefile,
    write_mapping,
    write_town_files,
)
from tests.town_files import write_vector

VILLAGE = "410399101001"


@pytest.fixture(scope="module")
def town() -> Iterator[str]:
    """An empty deployment: each test's files are checked against nothing stored."""
    with empty_database("import_frictions") as url:
        yield url


def _units_without_codes(folder: Path) -> Path:
    """Two unit grids that carry only their village's name: the codes must be computed."""
    folder.mkdir(parents=True, exist_ok=True)
    write_vector(folder / "units.geojson", ["村名", "名称"],
                 [("城关镇东街社区", "一网格"), ("城关镇东街社区", "二网格")],
                 [shapely.to_wkb(UNIT_1), shapely.to_wkb(UNIT_2)], geometry_type="Polygon")
    write_csv(folder / "村.csv", ["名称", "编码"], [["城关镇东街社区", VILLAGE],
                                                    ["南关村", "410399101002"]])
    return folder / "units.geojson"


def _prepared_rows(url: str, mapping: Path) -> list[dict]:
    with connect(url) as conn:
        prepared, _, _ = check_layers(conn, load_plan(mapping), lambda _m: None)
        conn.rollback()
    return [dict(row, reject=None) for layer in prepared for row in layer.rows] + [
        {"reject": r.reason} for layer in prepared for r in layer.report.rejects]


def test_codes_and_parents_are_computed_by_the_mapping(town: str, tmp_path: Path) -> None:
    _units_without_codes(tmp_path)
    mapping = write_mapping(tmp_path / "units.yml", """\
  - target: grids
    source: units.geojson
    fields:
      village_code: {from: 村名, lookup: {source: 村.csv, key: 名称, value: 编码}}
      code: {format: "{村名}", from: 村名}
      name: 名称
""")
    with pytest.raises(ImportError_, match=r"fields\.code: format: builds the value itself; "
                                           r"drop from:"):
        load_plan(mapping)
    mapping.write_text(mapping.read_text().replace('code: {format: "{村名}", from: 村名}',
                                                   'code: {prefix: "{村号}", sequence: 3}'))
    with pytest.raises(ImportError_, match=r"names \{村号\}, which the file does not have; "
                                           r"its fields are 村名, 名称"):
        _prepared_rows(town, mapping)
    mapping.write_text(mapping.read_text().replace(
        'code: {prefix: "{村号}", sequence: 3}',
        "code: {prefix: '410399101001', sequence: 3}\n      kind: {value: basic}\n"
        "      parent_code: {from: 村名, lookup: {source: 村.csv, key: 名称, value: 编码}}"))
    rows = _prepared_rows(town, mapping)
    assert [(r["code"], r["parent_code"], r["village_code"], r["level"], r["kind"])
            for r in rows] == [("410399101001001", VILLAGE, VILLAGE, "unit", "basic"),
                               ("410399101001002", VILLAGE, VILLAGE, "unit", "basic")]
    # A name the lookup lacks is a sentence on that row, not a crash.
    (tmp_path / "村.csv").write_text("名称,编码\n南关村,410399101002\n", encoding="utf-8")
    rows = _prepared_rows(town, mapping)
    assert {r["reject"] for r in rows} == {
        "grids (units.geojson): fields.parent_code: 村名 '城关镇东街社区' is not in "
        "村.csv's 名称"}


def test_first_characters_give_the_parent(town: str, tmp_path: Path) -> None:
    write_grid_shapefile(tmp_path / "units.shp", [(c, n, w, None, g) for c, n, w, _, g
                                                  in TOWN if len(c) == 15])
    mapping = write_mapping(tmp_path / "units.yml", """\
  - target: grids
    source: units.shp
    fields:
      code: 编码
      name: 名称
      level: {value: unit}
      parent_code: {from: 编码, first: 12}
""")
    rows = _prepared_rows(town, mapping)
    assert [(r["code"], r["parent_code"]) for r in rows] == [
        ("410399101001001", VILLAGE), ("410399101001002", VILLAGE)]
    mapping.write_text(mapping.read_text().replace("first: 12}", "first: 12, value: x}"))
    with pytest.raises(ImportError_, match="give one of first or value, not both"):
        load_plan(mapping)


def test_a_village_without_parent_gets_its_towns_only_area(town: str, tmp_path: Path) -> None:
    orphans = [(c, n, w, None if w == "村" else p, g) for c, n, w, p, g in TOWN]
    report = run(town, write_town_files(tmp_path, orphans), dry_run=True)
    assert report.clean, report_text(report)
    assert grid_counts(report) == {"inserted": len(TOWN), "updated": 0, "unchanged": 0}


def test_a_rejected_village_is_the_one_cause_of_its_units_problems(town: str,
                                                                   tmp_path: Path) -> None:
    broken = [(c, n, w, "410399102P01" if c == VILLAGE else p, g) for c, n, w, p, g in TOWN]
    report = run(town, write_town_files(tmp_path, broken), dry_run=True)
    layer = report.layers[0]
    root, *knock_on = layer.rejects
    assert root.key == VILLAGE and "disagrees with its parent 410399102P01" in root.reason
    # Written in the dry run, the units fail on their parent too: one cause, said once.
    assert {r.key for r in knock_on} == {"410399101001001", "410399101001002"}
    assert len({r.cause for r in knock_on}) == 1 and VILLAGE in str(knock_on[0].cause)
    assert report_text(report).count("fix that row first") == 2  # the problem, the rejects
    under = [p for p in layer.problems if p.kind == "under a rejected parent"]
    assert len(under) == 1 and set(under[0].codes) == {"410399101001001", "410399101001002"}
    assert "fix that row first" in under[0].detail and VILLAGE in under[0].detail
    assert not [p for p in layer.problems if p.kind == "missing parent"]


def test_a_code_that_fits_no_layout_is_said_once_with_the_layouts(town: str,
                                                                  tmp_path: Path) -> None:
    ten = [(c[:10] if len(c) > 10 else c + "0", n, w, None, g) for c, n, w, _, g in TOWN]
    folder = tmp_path / "ten"
    folder.mkdir()
    write_grid_shapefile(folder / "网格.shp", ten)
    mapping = write_mapping(folder / "town.yml", "  - target: grids\n    source: 网格.shp\n"
                            "    fields:\n      code: 编码\n      name: 名称\n")
    report = run(town, mapping, dry_run=True)
    assert len(report.rejects) == len(TOWN)
    text = report_text(report)
    assert text.count("fit no grid code layout") == 1 and "level is empty" not in text
    assert f"reject: {len(TOWN)} rows (1, 2, 3" in text
    assert "village 12 digits" in text and "unit the village's 12 digits and 3 more" in text


def test_template_of_a_multi_layer_geopackage_asks_which_layer(town: str,
                                                              tmp_path: Path) -> None:
    gpkg = tmp_path / "town.gpkg"
    wkb = [shapely.to_wkb(shapely.MultiPolygon([UNIT_1]))]
    write_vector(gpkg, ["编码", "名称"], [("410399101001001", "一网格")], wkb, layer="units",
                 geometry_type="MultiPolygon")
    write_vector(gpkg, ["道路名"], [("东街",)], [shapely.to_wkb(shapely.LineString(
        [(112.30, 34.0), (112.31, 34.0)]))], layer="roads", geometry_type="LineString")
    with connect(town) as conn:
        with pytest.raises(ImportError_, match=r"town.gpkg has 2 layers: units "
                                               r"\(Multi ?Polygon\), roads \(Line ?String\); "
                                               r"choose one with layer: NAME"):
            write_template(conn, gpkg, "grids")
        text = write_template(conn, gpkg, "grids", "units")
    assert "      code: 编码  # (required)" in text.splitlines()


def test_a_template_that_matched_nothing_names_what_the_target_needs(town: str,
                                                                    tmp_path: Path) -> None:
    shp = tmp_path / "odd.shp"
    write_vector(shp, ["AAA", "BBB"], [("x", "y")], [shapely.to_wkb(shapely.MultiPolygon(
        [UNIT_1]))], geometry_type="MultiPolygon")
    with connect(town) as conn:
        text = write_template(conn, shp, "grids")
    assert "# none of the file's fields matched a field of grids; it needs code, name" in text
    mapping = tmp_path / "odd.yml"
    mapping.write_text(text, encoding="utf-8")
    with pytest.raises(ImportError_, match=r"grids needs code, name, but the mapping gives no "
                                           "source field or default for them"):
        _prepared_rows(town, mapping)


def test_a_template_for_roads_without_attributes_suggests_a_default_class(
        town: str, tmp_path: Path) -> None:
    shp = tmp_path / "tracks.shp"
    write_vector(shp, ["ID"], [(1,)], [shapely.to_wkb(shapely.LineString(
        [(112.30, 34.0), (112.31, 34.0)]))], geometry_type="LineString")
    with connect(town) as conn:
        text = write_template(conn, shp, "roads")
    assert "      road_class: {default: village}  # no road class field" in text
    mapping = tmp_path / "tracks.yml"
    mapping.write_text(text, encoding="utf-8")
    rule = load_plan(mapping).layers[0].rule("road_class")
    assert rule is not None and rule.default == "village"


def _in_utm_rounded(folder: Path, grids: list, step_m: float) -> Path:
    """The grids re-exported through UTM 49N with coordinates rounded to ``step_m``."""
    to_utm = Transformer.from_crs(4490, 32649, always_xy=True)

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = to_utm.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([x, y]) / step_m) * step_m

    folder.mkdir(parents=True, exist_ok=True)
    rows = [(c, n, w, p) for c, n, w, p, _ in grids]
    wkb = [shapely.to_wkb(shapely.MultiPolygon(shapely.get_parts(shapely.transform(g, move))))
           for *_, g in grids]
    write_vector(folder / "网格.shp", ["编码", "名称", "级别", "上级编码"], rows, wkb,
                 crs="EPSG:32649", encoding="GBK", geometry_type="MultiPolygon")
    return write_mapping(folder / "town.yml",
                         f"  - target: grids\n    source: 网格.shp\n{GRID_FIELDS}")


def test_known_gaps_and_a_round_trip_through_utm_do_not_block_a_reimport(
        tmp_path: Path) -> None:
    with empty_database("import_known_gaps") as url:
        holed = [g for g in TOWN if g[0] != "410399101002"]
        first = run(url, write_town_files(tmp_path / "holed", holed))
        assert not first.written and [p.kind for p in first.problems] == ["gap"]
        refusal = report_text(first).splitlines()[-1]
        assert refusal == (
            "nothing written: 1 problem among the grids. Fix the source or the mapping, or run "
            "again with --accept-rejects to write the grids with the listed problems as they "
            "are (a later re-import of the same files is then not refused for those problems)")
        accepted = run(url, tmp_path / "holed" / "town.yml", accept_rejects=True)
        assert accepted.written
        again = run(url, tmp_path / "holed" / "town.yml")
        assert again.written and again.clean, report_text(again)
        assert any("accepted by an earlier import" in n for n in again.layers[0].notes)
        # 2 mm rounding in a metric CRS moves vertices by up to 1.4 mm: more than the old
        # tolerance in degrees (1e-8° is 1.1 mm north-south, 0.9 mm east-west here).
        utm = run(url, _in_utm_rounded(tmp_path / "utm", holed, 0.002))
        assert utm.written, report_text(utm)
        assert grid_counts(utm) == {"inserted": 0, "updated": 0, "unchanged": len(holed)}


def test_points_in_arizona_skip_the_web_map_check_and_proj_speaks_in_sentences(
        town: str, tmp_path: Path) -> None:
    # NAD83 / UTM 12N: PROJ's best way to WGS84 needs a grid file pyproj does not ship.
    to_utm = Transformer.from_crs(4326, 26912, always_xy=True)
    x, y = to_utm.transform([-111.90, -111.91], [33.45, 33.46])
    path = tmp_path / "adits.shp"
    write_vector(path, ["编号"], [("A1",), ("A2",)],
                 [shapely.to_wkb(shapely.Point(a, b)) for a, b in zip(x, y, strict=True)],
                 crs="EPSG:26912", geometry_type="Point")
    mapping = LayerMapping(target="mine_tunnels", source=path)
    report = LayerReport(mapping.label, "mine_tunnels", str(path))
    with connect(town) as conn, warnings.catch_warnings(record=True) as raw:
        warnings.simplefilter("always")
        context = ImportContext(conn, None, 32612, reference=[shapely.Point(-111.9, 33.45)])
        table = read_positions(mapping, context, report)
    assert not [w for w in raw if "transformation" in str(w.message)]
    lonlat = shapely.get_coordinates(table.geoms)
    assert np.allclose(lonlat, [[-111.90, 33.45], [-111.91, 33.46]], atol=1e-5)
    assert not report.problems and not any("GCJ" in n or "offset" in n for n in report.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = TransformerGroup(26912, 4326, always_xy=True, area_of_interest=AreaOfInterest(
            -111.91, 33.45, -111.9, 33.46)).best_available
    grid_notes = [n for n in report.notes if "grid file" in n]
    if best:  # the grid is installed here: nothing to say
        assert not grid_notes
    else:
        assert grid_notes and grid_notes[0].startswith(
            "PROJ's most accurate transformation from NAD83 / UTM zone 12N needs the grid "
            "file us_noaa_azhpgn.tif, which is not installed here; the next best was used")


def test_a_time_without_zone_is_the_deployments_local_time(town: str, tmp_path: Path) -> None:
    phoenix = convert("2026-03-05 08:00", "timestamptz", ZoneInfo("America/Phoenix"))
    assert phoenix.astimezone(dt.UTC).hour == 15
    assert convert("2026-03-05 08:00", "timestamptz").astimezone(dt.UTC).hour == 0
    mapping = write_town_files(tmp_path, TOWN)
    mapping.write_text("time_zone: America/Phoenix\n" + mapping.read_text(), encoding="utf-8")
    with connect(town) as conn:
        _, _, context = check_layers(conn, load_plan(mapping), lambda _m: None)
        assert context.zone == ZoneInfo("America/Phoenix")
        assert conn.execute("SELECT gridgeo.local_tz(), current_setting('TimeZone')"
                            ).fetchone() == ("America/Phoenix", "America/Phoenix")
        conn.rollback()
    mapping.write_text(mapping.read_text().replace("America/Phoenix", "Arizona/Phoenix"))
    with connect(town) as conn, pytest.raises(ImportError_, match="time_zone Arizona/Phoenix "
                                                              "is not a time zone name"):
        check_layers(conn, load_plan(mapping), lambda _m: None)
