"""`gridgeo import` on the files towns really have, into a real PostGIS: encodings, broken
rows, Excel, web-map offsets, re-imports and grid history, mapping errors, CRS guesses,
the template and the command line.

A tiny hand-made town (one town, one area, four villages, two unit grids) is written as a
GBK Shapefile without a .cpg file and imported into an empty database; the broken files
are imported on top of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click.testing
import numpy as np
import pytest
import shapely
import yaml
from openpyxl import Workbook
from pyproj import CRS, Geod, Transformer

from gridgeo.db.pool import connect
from gridgeo.importer.command import import_command
from gridgeo.importer.crs import guess_crs, resolve_crs
from gridgeo.importer.mapping import load_plan
from gridgeo.importer.offsets import wgs84_to_gcj02
from gridgeo.importer.problems import ImportError_, ImportReport
from gridgeo.importer.run import run_import
from gridgeo.importer.sources import read_source
from gridgeo.importer.template import write_template
from gridgeo.settings import get_settings
from tests.conftest import empty_database
from tests.town_files import write_town, write_vector

GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid
TOWN_NAME = "城关镇东街社区第一网格"
LEVEL_WORDS = {"镇": "town", "片区": "area", "村": "village", "单元网格": "unit"}
X0, X1, XV, Y0, YM, Y1 = 112.30, 112.36, 112.34, 34.00, 34.01, 34.02


def _triangles(box: tuple[float, float, float, float], sides: str) -> shapely.MultiPolygon:
    """Two opposite triangles of a box meeting at its centre: left+right or bottom+top."""
    x0, y0, x1, y1 = box
    c = ((x0 + x1) / 2, (y0 + y1) / 2)
    if sides == "left-right":
        parts = [[(x0, y0), c, (x0, y1)], [(x1, y0), (x1, y1), c]]
    else:
        parts = [[(x0, y0), (x1, y0), c], [(x0, y1), c, (x1, y1)]]
    return shapely.MultiPolygon([shapely.Polygon(p) for p in parts])


NORTH_BOX = (XV, YM, X1, Y1)
UNIT_1 = shapely.box(X0, Y0, 112.32, Y1)
UNIT_2 = shapely.Polygon([(112.32, Y0), (XV, Y0), (XV, YM), (XV, Y1), (112.32, Y1)])
# Parents are the union of their children, so shared edges share their vertices (a vertex
# in the middle of a straight edge in lon/lat is off that edge in Gauss–Krüger).
VILLAGES = {"410399101001": shapely.union_all([UNIT_1, UNIT_2]),
            "410399101002": shapely.box(XV, Y0, X1, YM),
            "410399101003": _triangles(NORTH_BOX, "left-right"),
            "410399101004": _triangles(NORTH_BOX, "bottom-top")}
AREA = shapely.union_all(list(VILLAGES.values()))
# (code, name, level word, parent code, geometry) in EPSG:4490
TOWN: list[tuple[str, str, str, str | None, shapely.Geometry]] = [
    ("410399101", "城关镇", "镇", None, AREA),
    ("410399101P01", "城关镇东片区", "片区", "410399101", AREA),
    ("410399101001", "城关镇东街社区", "村", "410399101P01", VILLAGES["410399101001"]),
    ("410399101002", "南关村", "村", "410399101P01", VILLAGES["410399101002"]),
    ("410399101003", "北山村", "村", "410399101P01", VILLAGES["410399101003"]),
    ("410399101004", "北坡村", "村", "410399101P01", VILLAGES["410399101004"]),
    ("410399101001001", TOWN_NAME, "单元网格", "410399101001", UNIT_1),
    ("410399101001002", "城关镇东街社区第二网格", "单元网格", "410399101001", UNIT_2),
]
GRID_FIELDS = """\
    fields:
      code: 编码
      name: 名称
      level: {from: 级别, map: {镇: town, 片区: area, 村: village, 单元网格: unit}}
      parent_code: 上级编码
"""


# --- writing files -------------------------------------------------------------------------

def write_grid_shapefile(path: Path, grids: list[tuple[Any, ...]], keep_cpg: bool = False
                         ) -> None:
    """Grids as a GBK Shapefile with Chinese field names (and, by default, no .cpg)."""
    rows = [(code, name, level, parent) for code, name, level, parent, _ in grids]
    wkb = [shapely.to_wkb(shapely.MultiPolygon(shapely.get_parts(g))) for *_, g in grids]
    write_vector(path, ["编码", "名称", "级别", "上级编码"], rows, wkb, encoding="GBK",
                 geometry_type="MultiPolygon")
    if not keep_cpg:
        path.with_suffix(".cpg").unlink()


def write_mapping(path: Path, layers: str) -> Path:
    path.write_text(f'county_code: "410399"\nlayers:\n{layers}', encoding="utf-8")
    return path


def write_town_files(folder: Path, grids: list[tuple[Any, ...]] = TOWN,
                     extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_grid_shapefile(folder / "网格.shp", grids)
    return write_mapping(folder / "town.yml",
                         f"  - target: grids\n    source: 网格.shp\n{extra}{GRID_FIELDS}")


def write_csv(path: Path, header: list[str], rows: list[list[Any]],
              encoding: str = "utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


# --- running imports and reading the database ---------------------------------------------

def run(url: str, mapping: Path, **options: Any) -> ImportReport:
    with connect(url) as conn:
        return run_import(conn, load_plan(mapping), dem_dest=mapping.parent / "dem.tif",
                          **options)


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def snapshot(url: str) -> tuple[Any, ...]:
    """Row counts of what an import may touch, and a checksum of every grid."""
    return query(url, """
        SELECT (SELECT count(*) FROM gridgeo.grids), (SELECT count(*) FROM gridgeo.grid_versions),
               (SELECT count(*) FROM gridgeo.addresses), (SELECT count(*) FROM gridgeo.audit_log),
               (SELECT count(*) FROM gridgeo.staff), (SELECT count(*) FROM gridgeo.mine_tunnels),
               (SELECT md5(string_agg(code || name || ST_AsText(geom), ',' ORDER BY code))
                  FROM gridgeo.grids)""")[0]


def rejects_of(report: ImportReport, target: str) -> dict[int, str]:
    return {r.row: r.reason for layer in report.layers if layer.target == target
            for r in layer.rejects}


def layer_of(report: ImportReport, target: str) -> Any:
    return next(layer for layer in report.layers if layer.target == target)


@contextmanager
def town_database(name: str, folder: Path) -> Iterator[str]:
    """An empty database with the tiny town imported (committed)."""
    with empty_database(name) as url:
        report = run(url, write_town_files(folder))
        assert report.written and report.clean, report
        yield url


@pytest.fixture(scope="module")
def town_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("town")


@pytest.fixture(scope="module")
def town_url(town_folder: Path) -> Iterator[str]:
    with town_database("import_checks", town_folder) as url:
        yield url


# --- 1. encodings ---------------------------------------------------------------------------

def test_gbk_shapefile_without_cpg_is_detected_as_gb18030(town_url: str,
                                                          town_folder: Path) -> None:
    shp = town_folder / "网格.shp"
    assert not shp.with_suffix(".cpg").exists()
    table = read_source(shp)
    assert "attribute encoding GB18030 (detected from the attribute bytes (no .cpg file))" \
        in table.notes
    assert table.fields == ["编码", "名称", "级别", "上级编码"]
    names = dict(query(town_url, "SELECT code, name FROM gridgeo.grids"))
    assert names == {code: name for code, name, *_ in TOWN}
    assert names["410399101001001"] == TOWN_NAME
    levels = dict(query(town_url, "SELECT code, level FROM gridgeo.grids"))
    assert levels == {code: LEVEL_WORDS[word] for code, _, word, *_ in TOWN}


def test_gbk_shapefile_with_cpg_reads_it(tmp_path: Path) -> None:
    shp = tmp_path / "有编码页.shp"
    write_grid_shapefile(shp, TOWN, keep_cpg=True)
    assert shp.with_suffix(".cpg").read_text().strip() == "GBK"
    table = read_source(shp)
    assert "attribute encoding GB18030 (from 有编码页.cpg)" in table.notes
    assert [row["名称"] for row in table.rows] == [name for _, name, *_ in TOWN]
    # A .cpg that lies is believed: the file's word beats the guess.
    shp.with_suffix(".cpg").write_text("UTF-8")
    with pytest.raises(ImportError_, match="not in UTF-8; set encoding"):
        read_source(shp)


# --- 2. broken rows: rejected with their reasons, and nothing written -------------------------

BOWTIE = shapely.Polygon([(XV, YM), (X1, Y1), (X1, YM), (XV, Y1)])  # self-intersecting
OVERLAPPING = shapely.box(112.301, 34.001, 112.305, 34.005)  # inside unit 410399101001001
SMALL = shapely.box(112.35, Y0, 112.351, 34.001)
BROKEN_UNITS = [  # row 1 is the only good one
    ("410399101002001", "南关村第一网格", "unit", "410399101002", VILLAGES["410399101002"]),
    ("410399101003001", "北山村第一网格", "unit", "410399101003", BOWTIE),
    ("41039910100200", "编码少一位", "unit", "410399101002", SMALL),
    ("410399101001004", "上级不符", "unit", "410399101002", SMALL),
    ("410399101002001", "重复编码", "unit", "410399101002", shapely.box(112.35, Y0, X1, 34.005)),
    ("410399101001003", "压盖网格", "unit", "410399101001", OVERLAPPING),
]
ADDRESS_HEADER = ["address_code", "province", "city", "county", "township", "village", "road",
                  "house_number", "full_address", "经度", "纬度"]
ADDRESSES = [
    ["4103991010010010001", "河南省", "洛阳市", "示范县", "城关镇", "东街社区", "东街", "1号",
     "河南省洛阳市示范县城关镇东街社区东街1号", 112.31, 34.01],
    ["4103991010010010002", "河南省", "洛阳市", "示范县", "城关镇", "东街社区", "东街", "2号",
     "河南省洛阳市示范县城关镇东街社区东街2号", 113.60, 34.75],  # Zhengzhou: far outside
]
EXPECTED_REJECTS = {("grids", 2): "Self-intersection", ("grids", 3): "is not",
                    ("grids", 4): "disagrees", ("grids", 5): "duplicates row 1",
                    ("addresses", 2): "outside the county"}


def write_broken_files(folder: Path, repair: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_vector(folder / "units.gpkg", ["code", "name", "level", "parent_code"],
                 [row[:4] for row in BROKEN_UNITS],
                 [shapely.to_wkb(row[4]) for row in BROKEN_UNITS],
                 geometry_type="Polygon", layer="units")
    write_csv(folder / "门牌.csv", ADDRESS_HEADER, ADDRESSES, encoding="gb18030")
    return write_mapping(folder / ("repair.yml" if repair else "broken.yml"), f"""\
  - target: grids
    source: units.gpkg
    repair: {'true' if repair else 'false'}
  - target: addresses
    source: 门牌.csv
""")


@pytest.fixture(scope="module")
def broken_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("broken")
    write_broken_files(folder)
    write_broken_files(folder, repair=True)
    return folder


def assert_rejects(report: ImportReport, expected: dict[tuple[str, int], str]) -> None:
    found = {(target, row): reason for target in ("grids", "addresses")
             for row, reason in rejects_of(report, target).items()}
    assert set(found) == set(expected), found
    for where, word in expected.items():
        assert word in found[where], (where, found[where])


def assert_one_overlap(report: ImportReport) -> None:
    problems = report.problems
    assert [p.kind for p in problems] == ["overlap"], [p.sentence() for p in problems]
    assert set(problems[0].codes) == {"410399101001001", "410399101001003"}
    area = abs(GEOD.geometry_area_perimeter(OVERLAPPING)[0])  # all of it, ~164,000 m²
    assert problems[0].area_m2 == pytest.approx(area, rel=1e-3)


def test_broken_rows_are_listed_and_nothing_is_written(town_url: str,
                                                       broken_folder: Path) -> None:
    before = snapshot(town_url)
    report = run(town_url, broken_folder / "broken.yml")
    assert_rejects(report, EXPECTED_REJECTS)
    reasons = rejects_of(report, "grids")
    assert "geometry is invalid" in reasons[2] and "repair: true" in reasons[2]
    assert "41039910100200 of a unit grid is not" in reasons[3]
    assert "410399101001004 disagrees with its parent 410399101002" in reasons[4]
    assert_one_overlap(report)
    assert report.written is False and not report.clean
    assert layer_of(report, "addresses").notes[0].startswith("encoding GB18030")
    assert snapshot(town_url) == before


def test_repair_mends_the_bowtie_and_nothing_else(town_url: str, broken_folder: Path) -> None:
    before = snapshot(town_url)
    report = run(town_url, broken_folder / "repair.yml")
    assert "1 invalid geometries repaired" in layer_of(report, "grids").notes
    assert_rejects(report, {k: v for k, v in EXPECTED_REJECTS.items() if k != ("grids", 2)})
    # The mended bow-tie tiles its village exactly: no gap, no new overlap.
    assert_one_overlap(report)
    assert report.written is False
    assert snapshot(town_url) == before


def test_accept_rejects_writes_the_rows_that_pass_and_only_those(
        tmp_path: Path, broken_folder: Path) -> None:
    with town_database("import_accept", tmp_path / "town") as url:
        before = dict(query(url, "SELECT code, ST_AsText(geom) FROM gridgeo.grids"))
        report = run(url, broken_folder / "repair.yml", accept_rejects=True)
        assert report.written is True
        assert layer_of(report, "grids").counts == {"inserted": 3, "updated": 0,
                                                     "unchanged": 0}
        after = dict(query(url, "SELECT code, ST_AsText(geom) FROM gridgeo.grids"))
        assert {k: v for k, v in after.items() if k in before} == before
        # Rows 1 and 2 (mended) pass; row 6 passes on its own, its overlap stays listed.
        assert set(after) - set(before) == {"410399101002001", "410399101003001",
                                            "410399101001003"}
        row = query(url, "SELECT name, ST_Equals(geom, ST_GeomFromText(%s, 4490)),"
                    " ST_Equals(geom, ST_GeomFromText(%s, 4490)) FROM gridgeo.grids"
                    " WHERE code = '410399101002001'",
                    (VILLAGES["410399101002"].wkt, VILLAGES["410399101003"].wkt))
        assert row == [("南关村第一网格", True, False)]  # row 1, not its duplicate row 5
        assert query(url, "SELECT ST_Area(geom::geography) / ST_Area(%s::geography)"
                     " FROM gridgeo.grids WHERE code = '410399101003001'",
                     (shapely.to_wkt(shapely.set_srid(VILLAGES["410399101003"], 4490)),)
                     )[0][0] == pytest.approx(1, abs=1e-6)
        assert query(url, "SELECT address_code, grid_code FROM gridgeo.addresses") == [
            ("4103991010010010001", "410399101001001")]


# --- 5. re-import: nothing changes; a changed boundary closes a version ----------------------

MOVED = (112.325, 34.01)  # the middle vertex of the edge units 001 and 002 share, moved east
UNIT_1_MOVED = shapely.Polygon([(X0, Y0), (112.32, Y0), MOVED, (112.32, Y1), (X0, Y1)])
UNIT_2_MOVED = shapely.Polygon([(112.32, Y0), (XV, Y0), (XV, YM), (XV, Y1), (112.32, Y1), MOVED])
RENAMED = "城关镇东街社区第一网格（调整）"


def grid_counts(report: ImportReport) -> dict[str, int]:
    return layer_of(report, "grids").counts


def test_reimport_changes_nothing_and_a_moved_boundary_keeps_history(tmp_path: Path) -> None:
    with town_database("import_history", tmp_path / "v1") as url:
        again = run(url, tmp_path / "v1" / "town.yml")
        assert again.written and grid_counts(again) == {"inserted": 0, "updated": 0,
                                                        "unchanged": len(TOWN)}
        assert query(url, "SELECT count(*) FROM gridgeo.grid_versions") == [(0,)]

        moved = [*TOWN[:6], ("410399101001001", RENAMED, "单元网格", "410399101001", UNIT_1_MOVED),
                 (*TOWN[7][:4], UNIT_2_MOVED)]
        mapping = write_town_files(tmp_path / "v2", moved)
        before = snapshot(url)
        dry = run(url, mapping, dry_run=True)
        assert dry.clean, [p.sentence() for p in dry.problems]
        assert grid_counts(dry) == {"inserted": 0, "updated": 2, "unchanged": len(TOWN) - 2}
        assert dry.written is False and snapshot(url) == before

        report = run(url, mapping)
        assert report.written and grid_counts(report)["updated"] == 2
        versions = query(url, """
            SELECT code, name, valid_to > valid_from, ST_AsBinary(geom)
              FROM gridgeo.grid_versions ORDER BY code""")
        assert [v[:3] for v in versions] == [("410399101001001", TOWN_NAME, True),
                                             ("410399101001002", "城关镇东街社区第二网格", True)]
        old = [shapely.from_wkb(bytes(v[3])) for v in versions]
        assert shapely.equals(old[0], UNIT_1) and shapely.equals(old[1], UNIT_2)
        current = query(url, "SELECT name, ST_Equals(geom, ST_GeomFromText(%s, 4490))"
                        " FROM gridgeo.grids WHERE code = '410399101001001'", (UNIT_1_MOVED.wkt,))
        assert current == [(RENAMED, True)]


# --- 6. retire_missing: a grid the file no longer has is deleted into grid_versions ----------

def test_retire_missing_deletes_the_absent_grid_into_history(tmp_path: Path) -> None:
    with town_database("import_retire", tmp_path / "v1") as url:
        merged = [*TOWN[:6], (*TOWN[6][:4], VILLAGES["410399101001"])]  # unit 002 merged into 001
        mapping = write_town_files(tmp_path / "v2", merged, extra="    retire_missing: true\n")
        report = run(url, mapping)
        assert report.clean, [p.sentence() for p in report.problems]
        assert report.written
        assert grid_counts(report) == {"inserted": 0, "updated": 1, "unchanged": len(TOWN) - 2,
                                       "retired": 1}
        assert query(url, "SELECT count(*) FROM gridgeo.grids WHERE code = '410399101001002'"
                     ) == [(0,)]
        versions = query(url, "SELECT code, ST_Equals(geom, ST_GeomFromText(%s, 4490))"
                         " FROM gridgeo.grid_versions WHERE code = '410399101001002'",
                         (UNIT_2.wkt,))
        assert versions == [("410399101001002", True)]


def test_retire_missing_keeps_a_grid_whose_row_was_rejected(tmp_path: Path) -> None:
    """A rejected row is still in the source: with --accept-rejects its grid must stay."""
    with town_database("import_retire_reject", tmp_path / "v1") as url:
        bowtie = shapely.Polygon([(X0, Y0), (XV, YM), (X0, YM), (XV, Y0)])
        broken = [*TOWN[:6], (*TOWN[6][:4], bowtie), *TOWN[7:]]
        mapping = write_town_files(tmp_path / "v2", broken, extra="    retire_missing: true\n")
        report = run(url, mapping, accept_rejects=True)
        assert report.written and [r.key for r in report.rejects] == [TOWN[6][0]]
        assert grid_counts(report)["retired"] == 0
        assert query(url, "SELECT count(*) FROM gridgeo.grids WHERE code = %s",
                     (TOWN[6][0],)) == [(1,)]


# --- 3. Excel: Chinese headers, value maps, yes/no, numbers as codes, dates ------------------

STAFF_HEADER = ["工号", "姓名", "角色", "电话", "在岗"]
STAFF_ROWS = [[1001, "张伟", "网格员", 13800000001, "是"],
              [1002.0, "李娜", "网格长", "13800000002", "否"],
              [1003, "王强", "志愿者", "13800000003", "是"]]  # a role word the mapping lacks
ADIT_HEADER = ["adit_no", "name", "mineral", "seal_method", "sealed_on", "status",
               "patrol_frequency_days", "responsible_unit", "lon", "lat"]
ADIT_ROWS = [
    ["410399KD0101", "东沟1号洞", "gold", "concrete_wall", "2021-03-05", "sealed", 30,
     "城关镇应急办", 112.305, 34.005],
    ["410399KD0102", "东沟2号洞", "gold", "backfill", "2021/3/5", "sealed", 30.0,
     "城关镇应急办", 112.345, 34.005],
    ["410399KD0103", "北坡洞", "iron", "steel_gate", "2021年3月5日", "sealed", "30",
     "城关镇应急办", 112.325, 34.015],
]
EXCEL_MAPPING = """\
  - target: staff
    source: registers.xlsx
    layer: 人员
    fields:
      staff_no: 工号
      name: 姓名
      role: {from: 角色, map: {网格员: grid_worker, 网格长: grid_leader}}
      work_phone: 电话
      active: 在岗
  - target: mine_tunnels
    source: registers.xlsx
    layer: 矿洞
"""


def test_excel_sheets_round_trip(town_url: str, tmp_path: Path) -> None:
    book = Workbook()
    staff = book.active
    staff.title = "人员"
    for line in [STAFF_HEADER, *STAFF_ROWS]:
        staff.append(line)
    adits = book.create_sheet("矿洞")
    for line in [ADIT_HEADER, *ADIT_ROWS]:
        adits.append(line)
    book.save(tmp_path / "registers.xlsx")
    mapping = write_mapping(tmp_path / "excel.yml", EXCEL_MAPPING)

    before = snapshot(town_url)
    refused = run(town_url, mapping)
    assert refused.written is False and snapshot(town_url) == before
    assert rejects_of(refused, "staff") == {3: "role '志愿者' is not one of grid_leader, "
                                               "grid_worker, grid_instructor, info_reporter, "
                                               "volunteer, police_officer, inspector; map it "
                                               "with fields.role.map"}
    assert rejects_of(refused, "mine_tunnels") == {}
    assert "positions from columns lon lat" in layer_of(refused, "mine_tunnels").notes

    report = run(town_url, mapping, accept_rejects=True)
    assert report.written
    assert layer_of(report, "staff").counts == {"inserted": 2, "updated": 0, "unchanged": 0}
    assert query(town_url, "SELECT staff_no, name, role, work_phone, active FROM gridgeo.staff"
                 " WHERE staff_no LIKE '100_' ORDER BY staff_no") == [
        ("1001", "张伟", "grid_worker", "13800000001", True),
        ("1002", "李娜", "grid_leader", "13800000002", False)]
    rows = query(town_url, "SELECT adit_no, name, sealed_on, patrol_frequency_days, grid_code,"
                 " ST_X(geom), ST_Y(geom) FROM gridgeo.mine_tunnels"
                 " WHERE adit_no LIKE '410399KD01__' ORDER BY adit_no")
    assert [r[:5] for r in rows] == [
        ("410399KD0101", "东沟1号洞", dt.date(2021, 3, 5), 30, "410399101001001"),
        ("410399KD0102", "东沟2号洞", dt.date(2021, 3, 5), 30, None),  # village 002 has no unit
        ("410399KD0103", "北坡洞", dt.date(2021, 3, 5), 30, "410399101001002")]
    np.testing.assert_allclose(np.array([r[5:] for r in rows], dtype=float),
                               np.array([r[-2:] for r in ADIT_ROWS], dtype=float),
                               rtol=0, atol=1e-12)


def test_a_long_code_typed_as_a_number_is_refused_not_truncated(town_url: str,
                                                                tmp_path: Path) -> None:
    """Excel keeps 15 significant digits: a 17-digit micro-grid code entered as a number has
    lost its end before gridgeo sees it, and must not be stored as some other grid's code."""
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "name", "level", "parent_code", "wkt"])
    sheet.append([41039910100100101.0, "第一微网格", "micro", "410399101001001",
                  UNIT_2.wkt])
    book.save(tmp_path / "micro.xlsx")
    mapping = write_mapping(tmp_path / "micro.yml",
                            "  - target: grids\n    source: micro.xlsx\n"
                            "    coordinates: {wkt: wkt}\n")
    report = run(town_url, mapping, dry_run=True)
    reasons = rejects_of(report, "grids")
    assert list(reasons) == [1]
    assert "lost its last digits; format the column as text" in reasons[1]


def test_grids_in_several_files_are_checked_together(tmp_path: Path) -> None:
    """Towns, areas and villages in one file, unit grids in another: the units' parents
    come from the first file of the same import, not only from the database."""
    upper = [g for g in TOWN if g[2] != "单元网格"]
    units = [g for g in TOWN if g[2] == "单元网格"]
    write_grid_shapefile(tmp_path / "上级.shp", upper)
    write_grid_shapefile(tmp_path / "单元.shp", units)
    mapping = write_mapping(tmp_path / "two.yml",
                            f"  - target: grids\n    source: 上级.shp\n{GRID_FIELDS}"
                            f"  - target: grids\n    source: 单元.shp\n{GRID_FIELDS}")
    with empty_database("import_two_files") as url:
        report = run(url, mapping)
        assert report.clean and report.written, [p.sentence() for p in report.problems]
        assert query(url, "SELECT count(*) FROM gridgeo.grids") == [(len(TOWN),)]


# --- 7. mapping errors are sentences --------------------------------------------------------

ADIT_FIELDS = ADIT_HEADER[:8]


def adit_csv(path: Path, xy: list[tuple[float, float]], first: int = 201) -> Path:
    """Adits at ``xy`` in columns x and y, numbered from 410399KD0<first>."""
    rows = [[f"410399KD{first + i:04d}", f"{i + 1}号洞", "gold", "concrete_wall", "2020-05-01",
             "sealed", 30, "城关镇应急办", x, y] for i, (x, y) in enumerate(xy)]
    write_csv(path, [*ADIT_FIELDS, "x", "y"], rows)
    return path


def grids_layer(town_folder: Path, fields: str, extra: str = "") -> str:
    return (f"  - target: grids\n    source: {town_folder / '网格.shp'}\n{extra}"
            f"    fields:\n{fields}")


XIAN_1980 = {  # the demo town's corner in Xi'an 1980: Gauss–Krüger CM 114°E, and lon/lat
    "EPSG:2383": Transformer.from_crs(4610, 2383, always_xy=True).transform(112.31, 34.01),
    "EPSG:4610": (112.31, 34.01),
}


@pytest.mark.parametrize("case", ["target", "field", "source field", "required", "crs",
                                  "offset", "EPSG:2383", "EPSG:4610"])
def test_mapping_errors_are_sentences(case: str, town_url: str, town_folder: Path,
                                      tmp_path: Path) -> None:
    code_name = "      code: 编码\n      name: 名称\n"
    layers = {
        "target": (f"  - target: wells\n    source: {town_folder / '网格.shp'}\n",
                   "target 'wells' is not something gridgeo imports; choose one of "
                   "departments, staff, grids,"),
        "field": (grids_layer(town_folder, code_name + "      colour: 级别\n"),
                  "grids (网格.shp): fields.colour: grids has no field 'colour'; it has code, "
                  "name, level, kind,"),
        "source field": (grids_layer(town_folder, "      code: 编码\n      name: 名字\n"),
                         "grids (网格.shp): fields.name reads '名字', which the file does not "
                         "have; its fields are 编码, 名称, 级别, 上级编码"),
        "required": (grids_layer(town_folder, "      code: 编码\n"),
                     "grids (网格.shp): grids needs name, but the mapping gives no source "
                     "field or default for it (add them under fields:)"),
        "crs": (grids_layer(town_folder, code_name, "    crs: EPSG:999999\n"),
                "crs 'EPSG:999999' is not a coordinate reference system PROJ knows; write it "
                "as EPSG:4490, EPSG:4549 or a PROJ string"),
        "offset": (grids_layer(town_folder, code_name, "    offset: gcj03\n"),
                   "mapping file bad.yml, layers.0.offset: Input should be 'none', 'gcj02' or "
                   "'bd09'"),
    }
    if case.startswith("EPSG:"):
        adit_csv(tmp_path / "adits.csv", [XIAN_1980[case]])
        layers[case] = (f"  - target: mine_tunnels\n    source: adits.csv\n    crs: {case}\n",
                        "(Xian 1980) differs from CGCS2000 by tens of metres and PROJ knows no "
                        "published transformation between them; give your surveying bureau's "
                        "parameters as crs: '+proj=... +towgs84=dx,dy,dz,rx,ry,rz,s'")
    layer, sentence = layers[case]
    mapping = write_mapping(tmp_path / "bad.yml", layer)
    before = snapshot(town_url)
    with pytest.raises(ImportError_) as refused:
        run(town_url, mapping)
    assert sentence in str(refused.value)
    assert "Traceback" not in str(refused.value) and "\n" not in str(refused.value)
    assert snapshot(town_url) == before


# --- 7/8. CRS: told by the numbers, and Gauss–Krüger end to end ------------------------------

def test_zone_prefix_tells_the_gauss_kruger_zone() -> None:
    zone38 = np.array([[38_500_000.0, 3_762_000.0], [38_512_000.0, 3_770_000.0]])
    guess = guess_crs(zone38, 4546)
    assert guess is not None and guess.crs.to_epsg() == 4526
    assert "zone 38" in CRS.from_epsg(4526).name and "3-degree" in CRS.from_epsg(4526).name
    assert "zone 38" in guess.note and "EPSG:4526" in guess.note
    assert resolve_crs("auto", None, zone38, 4546).crs.to_epsg() == 4526
    six_degree = zone38 - [19_000_000.0, 0]  # zone 19 is a 6-degree zone (CM 111°E)
    assert resolve_crs("auto", None, six_degree, 4546).crs.to_epsg() == 4497
    lonlat = np.array([[112.3, 34.0]])
    assert resolve_crs("auto", None, lonlat, 4546).crs.to_epsg() == 4490
    no_zone = np.array([[530_000.0, 3_762_000.0]])
    assert resolve_crs("auto", None, no_zone, 4546).crs.to_epsg() == 4546
    declared = resolve_crs("EPSG:4549", CRS.from_epsg(4546), no_zone, 4546)
    assert declared.crs.to_epsg() == 4549 and "the file itself says" in declared.note
    with pytest.raises(ImportError_, match="do not tell which one"):
        resolve_crs("auto", None, np.array([[5.0e8, 1.0]]), 4546)


def test_metric_coordinates_without_zone_land_where_they_were(town_url: str,
                                                              tmp_path: Path) -> None:
    lonlat = [(112.3013, 34.0042), (112.3377, 34.0191), (112.3521, 34.0033)]
    to_gk = Transformer.from_crs(4490, 4546, always_xy=True)
    adit_csv(tmp_path / "adits.csv", [to_gk.transform(x, y) for x, y in lonlat])
    mapping = write_mapping(tmp_path / "gk.yml",
                            "  - target: mine_tunnels\n    source: adits.csv\n")
    report = run(town_url, mapping)
    assert report.clean and report.written
    notes = layer_of(report, "mine_tunnels").notes
    assert ("CRS no CRS in the file; Gauss–Krüger coordinates without a zone prefix: taken as "
            "the deployment's zone EPSG:4546 (set crs: if they belong to another zone)") in notes
    rows = query(town_url, "SELECT ST_X(geom), ST_Y(geom) FROM gridgeo.mine_tunnels"
                 " WHERE adit_no BETWEEN '410399KD0201' AND '410399KD0203' ORDER BY adit_no")
    np.testing.assert_allclose(rows, lonlat, rtol=0, atol=1e-7)


def test_xian_1980_with_the_bureaus_seven_parameters_is_converted(town_url: str,
                                                                 tmp_path: Path) -> None:
    """Given +towgs84, the datum shift is applied (PROJ would otherwise go to CGCS2000 by a
    "ballpark" offset that ignores it, tens of metres off)."""
    xian = ("+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000 +y_0=0 +ellps=IAU76 "
            "+towgs84=24,-123,-94,0.02,-0.25,-0.13,1.1 +units=m +no_defs")
    xy = Transformer.from_crs(4326, xian, always_xy=True).transform(112.3013, 34.0042)
    adit_csv(tmp_path / "adits.csv", [xy], first=301)
    mapping = write_mapping(tmp_path / "xian.yml",
                            "  - target: mine_tunnels\n    source: adits.csv\n"
                            f"    crs: '{xian}'\n")
    report = run(town_url, mapping, dry_run=True)
    assert report.clean
    with connect(town_url) as conn:
        run_import(conn, load_plan(mapping), dem_dest=tmp_path / "dem.tif")
    (lon, lat), = query(town_url, "SELECT ST_X(geom), ST_Y(geom) FROM gridgeo.mine_tunnels"
                        " WHERE adit_no = '410399KD0301'")
    assert (lon, lat) == pytest.approx((112.3013, 34.0042), abs=1e-7)
    ballpark = Transformer.from_crs(xian, 4490, always_xy=True).transform(*xy)
    assert GEOD.inv(lon, lat, *ballpark)[2] > 20  # what ignoring the parameters would give


# --- 9. the template ------------------------------------------------------------------------

def test_template_maps_chinese_fields_and_level_words(town_url: str, town_folder: Path,
                                                            tmp_path: Path) -> None:
    shp = town_folder / "网格.shp"
    with connect(town_url) as conn:
        text = write_template(conn, shp, "grids")
    lines = text.splitlines()
    assert "      code: 编码  # (required)" in lines
    assert "      name: 名称  # (required)" in lines
    assert "      parent_code: 上级编码  # (filled from the code when absent)" in lines
    assert "      level:  # allowed: town, area, village, unit, micro" in lines
    assert "        from: 级别" in lines
    # The words offices use are filled in; the one a person must choose stays '?'.
    assert yaml.safe_load(text)["layers"][0]["fields"]["level"]["map"] == LEVEL_WORDS
    assert "# attribute encoding GB18030 (detected from the attribute bytes (no .cpg file))" \
        in lines
    unsure = tmp_path / "unsure.yml"
    unsure.write_text(text.replace("片区: area", "片区: '?'"), encoding="utf-8")
    unfilled = run(town_url, unsure, dry_run=True)
    assert set(rejects_of(unfilled, "grids").values()) == {
        "level '?' is not one of town, area, village, unit, micro; map it with fields.level.map"}
    assert len(rejects_of(unfilled, "grids")) == 1
    filled = tmp_path / "filled.yml"
    filled.write_text(text, encoding="utf-8")
    plan = load_plan(filled)
    assert plan.layers[0].source == shp
    report = run(town_url, filled, dry_run=True)
    assert report.clean and grid_counts(report) == {"inserted": 0, "updated": 0,
                                                    "unchanged": len(TOWN)}


# --- 10. the command line -------------------------------------------------------------------

@pytest.fixture()
def cli(town_url: str) -> Iterator[Any]:
    """Invoke `gridgeo import` against the town database, settings rebuilt around it."""
    runner = click.testing.CliRunner()
    saved = os.environ.get("GRIDGEO_DATABASE_URL")
    get_settings.cache_clear()

    def invoke(*args: str) -> click.testing.Result:
        return runner.invoke(import_command, list(args),
                             env={"GRIDGEO_DATABASE_URL": town_url})

    yield invoke
    get_settings.cache_clear()
    assert os.environ.get("GRIDGEO_DATABASE_URL") == saved


def test_cli_prints_rejects_and_fails_on_a_broken_file(cli: Any, town_url: str,
                                                       broken_folder: Path) -> None:
    before = snapshot(town_url)
    result = cli(str(broken_folder / "broken.yml"), "--dry-run")
    assert result.exit_code == 1, result.output
    assert ("reject: grids (units.gpkg) row 2 (410399101003001): geometry is invalid: "
            "Self-intersection") in result.output
    assert "reject: grids (units.gpkg) row 5 (410399101002001): duplicates row 1" in result.output
    assert ("reject: addresses (门牌.csv) row 2 (4103991010010010002): lies outside the county"
            in result.output)
    assert "problem: grids (units.gpkg): overlap" in result.output
    assert ("dry run: nothing was written; 5 rejects and 1 problems would stop the import"
            in result.output)
    assert snapshot(town_url) == before


def test_cli_dry_run_of_a_clean_file(cli: Any, town_url: str, town_folder: Path) -> None:
    result = cli(str(town_folder / "town.yml"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "grids (网格.shp): 8 rows; 0 inserted, 0 updated, 8 unchanged" in result.output
    assert result.output.rstrip().endswith("dry run: nothing was written")


def test_cli_template_and_its_errors(cli: Any, town_folder: Path, tmp_path: Path) -> None:
    shp = str(town_folder / "网格.shp")
    result = cli("--template", shp, "--target", "grids")
    assert result.exit_code == 0, result.output
    mapping = yaml.safe_load(result.stdout)
    assert mapping["layers"][0]["fields"]["code"] == "编码"
    assert mapping["layers"][0]["fields"]["level"]["map"] == LEVEL_WORDS
    missing = cli("--template", shp)
    assert missing.exit_code == 1
    assert "Error: --template needs --target: which collection the file feeds" in missing.output
    bad = write_mapping(tmp_path / "bad.yml", grids_layer(town_folder, "      code: 编码\n"))
    refused = cli(str(bad))
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "grids needs name, but the mapping gives no source field" in refused.output


# --- 4. GCJ-02: detected against the roads, and undone to within a metre --------------------

GCJ_LAYERS = """\
  - target: grids
    source: 网格.shp
    fields:
      code: 编码
      name: 名称
      level: {from: 级别, map: {镇: town, 片区: area, 村: village, 单元网格: unit, 微网格: micro}}
      parent_code: 上级编码
      kind: 类型
      dedicated_type: 专属类型
  - target: roads
    source: roads.shp
    noding: endpoints
    fields:
      name: 名称
      road_class: 等级
      oneway: 单行
"""


@pytest.fixture(scope="module")
def gcj_town(demo_db_url: str, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[str, Path, list[tuple[Any, ...]]]]:
    """A new deployment with the demo's grids and roads (imported from files), and 200 of
    the demo's address points to bring in."""
    folder = tmp_path_factory.mktemp("gcj")
    with connect(demo_db_url) as demo:
        write_town(demo, folder)
        addresses = demo.execute(
            "SELECT address_code, province, city, county, township, village, road,"
            " house_number, full_address, ST_X(geom), ST_Y(geom) FROM gridgeo.addresses"
            " ORDER BY md5(address_code) LIMIT 200").fetchall()
    with empty_database("import_gcj") as url:
        report = run(url, write_mapping(folder / "base.yml", GCJ_LAYERS))
        assert report.written, [r.sentence() for r in report.rejects] + [
            p.sentence() for p in report.problems]
        yield url, folder, addresses


def test_gcj02_points_are_detected_and_undone(gcj_town: tuple[str, Path, list[Any]]) -> None:
    url, folder, addresses = gcj_town
    lon, lat = (np.array([a[i] for a in addresses]) for i in (9, 10))
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    write_csv(folder / "gcj.csv", ADDRESS_HEADER,
              [[*a[:9], repr(float(x)), repr(float(y))]
               for a, x, y in zip(addresses, gcj_lon, gcj_lat, strict=True)])
    layer = "  - target: addresses\n    source: gcj.csv\n"
    before = snapshot(url)
    report = run(url, write_mapping(folder / "gcj.yml", layer))
    assert report.written is False and report.rejects == []
    assert [p.kind for p in report.problems] == ["web-map offset"]
    assert "GCJ-02" in report.problems[0].detail and "set offset: gcj02" in \
        report.problems[0].detail
    assert snapshot(url) == before

    report = run(url, write_mapping(folder / "gcj_undone.yml", layer + "    offset: gcj02\n"))
    assert report.clean and report.written
    assert "GCJ02 offset undone on every vertex" in layer_of(report, "addresses").notes
    assert layer_of(report, "addresses").counts["inserted"] == len(addresses)
    got = dict((code, (x, y)) for code, x, y in query(
        url, "SELECT address_code, ST_X(geom), ST_Y(geom) FROM gridgeo.addresses"))
    assert set(got) == {a[0] for a in addresses}
    back = np.array([got[a[0]] for a in addresses])
    distance = GEOD.inv(lon, lat, back[:, 0], back[:, 1])[2]
    assert distance.max() < 1.0
    shifted = GEOD.inv(lon, lat, gcj_lon, gcj_lat)[2]
    assert shifted.min() > 100  # the offset that was undone was hundreds of metres


# --- a DEM goes live only with the commit ---------------------------------------------------

def _slope_dem(path: Path) -> Path:
    """A 0.2° square DEM around the tiny town, rising 100 m a kilometre to the north."""
    import numpy as np
    import rasterio
    from affine import Affine

    rows = np.linspace(2200.0, 0.0, 200)[:, None] * np.ones((1, 200))
    with rasterio.open(path, "w", driver="GTiff", width=200, height=200, count=1,
                       dtype="float32", crs="EPSG:4490",
                       transform=Affine(0.001, 0.0, 112.23, 0.0, -0.001, 34.11)) as dst:
        dst.write(rows.astype("float32"), 1)
    return path


def test_a_dem_is_installed_only_when_the_import_is_written(tmp_path: Path) -> None:
    dem_path = _slope_dem(tmp_path / "slope.tif")
    with empty_database("import_dem_commit") as url:
        dem_layer = f"  - target: dem\n    source: {dem_path}\n"
        good = write_town_files(tmp_path / "good")
        good.write_text(good.read_text(encoding="utf-8") + dem_layer, encoding="utf-8")
        dest = tmp_path / "live" / "dem.tif"
        with connect(url) as conn:
            dry = run_import(conn, load_plan(good), dem_dest=dest, dry_run=True)
        assert dry.clean and not dest.exists()
        bowtie = shapely.Polygon([(X0, Y0), (XV, YM), (X0, YM), (XV, Y0)])
        broken = write_town_files(tmp_path / "broken", [*TOWN[:6], (*TOWN[6][:4], bowtie)])
        broken.write_text(broken.read_text(encoding="utf-8") + dem_layer, encoding="utf-8")
        with connect(url) as conn:
            refused = run_import(conn, load_plan(broken), dem_dest=dest)
        assert not refused.written and not dest.exists()
        with connect(url) as conn:
            written = run_import(conn, load_plan(good), dem_dest=dest)
        assert written.written and dest.exists()
        assert not list(dest.parent.glob(".*importing*"))  # no staged copy left behind


# --- the demo never replaces an imported town unasked -----------------------------------------

def test_the_demo_makes_way_for_a_real_town_and_never_overwrites_it(tmp_path: Path) -> None:
    from gridgeo.demo import DemoError, remove_demo, run_demo
    from gridgeo.importer.problems import ImportError_

    said: list[str] = []
    dem = tmp_path / "dem.tif"
    with empty_database("import_demo_guard") as url:
        with connect(url) as conn:
            run_demo(conn, seed=42, scale=1, if_missing=False, dem_path=dem,
                     progress=said.append)
        other_county = write_town_files(tmp_path / "other")
        other_county.write_text(other_county.read_text(encoding="utf-8").replace(
            '"410399"', '"410311"'), encoding="utf-8")
        with pytest.raises(ImportError_, match=r"gridgeo demo --remove"):
            run(url, other_county)
        with connect(url) as conn:
            remove_demo(conn, said.append)
        assert query(url, "SELECT count(*) FROM gridgeo.grids") == [(0,)]
        assert query(url, "SELECT count(*) > 0 FROM gridgeo.incident_categories") == [(True,)]
        report = run(url, write_town_files(tmp_path / "town"))
        assert report.written and report.clean
        before = snapshot(url)
        with connect(url) as conn:  # `make demo` serves the imported town as it is
            run_demo(conn, seed=42, scale=1, if_missing=True, dem_path=dem,
                     progress=said.append)
        assert said[-1] == "this database holds an imported town, not the demo: left as it is"
        with connect(url) as conn, pytest.raises(DemoError, match="--replace-town"):
            run_demo(conn, seed=42, scale=1, if_missing=False, dem_path=dem,
                     progress=said.append)
        with connect(url) as conn, pytest.raises(DemoError, match="nothing removed"):
            remove_demo(conn, said.append)
        assert snapshot(url) == before


# --- what registers really look like ------------------------------------------------------

def test_a_title_row_above_the_header_and_swapped_coordinates(town_url: str,
                                                              tmp_path: Path) -> None:
    """An Excel register with its title merged across the top, and a CSV whose x and y
    columns hold latitude and longitude the wrong way round."""
    book = Workbook()
    sheet = book.active
    sheet.append(["城关镇矿洞台账（2026年11月）"])
    sheet.merge_cells("A1:J1")
    sheet.append([])
    for line in [ADIT_HEADER, ["410399KD0401", *ADIT_ROWS[0][1:]]]:
        sheet.append(line)
    book.save(tmp_path / "titled.xlsx")
    titled = write_mapping(tmp_path / "titled.yml",
                           "  - target: mine_tunnels\n    source: titled.xlsx\n")
    report = run(town_url, titled, dry_run=True)
    assert report.clean, [r.sentence() for r in report.rejects]
    assert layer_of(report, "mine_tunnels").counts["inserted"] == 1

    lon, lat = ADIT_ROWS[0][-2:]
    write_csv(tmp_path / "swapped.csv", ["adit_no", "name", "mineral", "seal_method",
                                         "sealed_on", "status", "patrol_frequency_days",
                                         "responsible_unit", "x", "y"],
              [[*ADIT_ROWS[0][:-2], lat, lon]])
    swapped = write_mapping(tmp_path / "swapped.yml",
                            "  - target: mine_tunnels\n    source: swapped.csv\n")
    with pytest.raises(ImportError_, match="x coordinates are latitudes"):
        run(town_url, swapped, dry_run=True)


def test_regenerating_the_demo_does_not_pile_up_its_audit_rows(tmp_path: Path) -> None:
    from gridgeo.demo import run_demo

    dem = tmp_path / "dem.tif"
    with empty_database("demo_audit") as url:
        counts = []
        for _ in range(2):
            with connect(url) as conn:
                run_demo(conn, seed=42, scale=1, if_missing=False, dem_path=dem,
                         progress=lambda _m: None)
            counts.append(query(url, "SELECT count(*) FROM gridgeo.audit_log")[0][0])
        assert counts[0] > 10_000 and counts[1] == counts[0]


def test_a_road_file_with_bad_rows_is_refused_row_by_row(town_url: str, tmp_path: Path) -> None:
    """A road class the mapping does not know, a one-way flag that is not yes or no and
    a point where a line belongs are rejects; the network is left as it was."""
    lines = [shapely.LineString([(112.30, 34.00), (112.31, 34.00)]),
             shapely.LineString([(112.31, 34.00), (112.32, 34.00)]),
             shapely.LineString([(112.32, 34.00), (112.33, 34.00)]),
             shapely.Point(112.33, 34.00)]
    rows = [("东街", "村道", "否"), ("西街", "高速", "否"), ("南街", "村道", "也许"),
            ("北街", "村道", "是")]
    write_vector(tmp_path / "roads.geojson", ["名称", "等级", "单行"], rows,
                 list(shapely.to_wkb(lines)), geometry_type="Unknown")
    mapping = write_mapping(tmp_path / "roads.yml", (
        "  - target: roads\n    source: roads.geojson\n    fields:\n      name: 名称\n"
        "      road_class: {from: 等级, map: {村道: village}}\n      oneway: 单行\n"))
    before = query(town_url, "SELECT count(*), coalesce(sum(length_m), 0) FROM gridgeo.roads")
    report = run(town_url, mapping)
    assert not report.written
    assert rejects_of(report, "roads") == {
        2: "road_class '高速' is not one of county, township, village, track, path; map it "
           "with fields.road_class.map",
        3: "oneway '也许' is not yes or no (true/false, 是/否, 1/0)",
        4: "is not a line"}
    assert query(town_url, "SELECT count(*), coalesce(sum(length_m), 0) FROM gridgeo.roads"
                 ) == before
