"""The demo town written out as the files a real town's GIS office would hand over.

Grids as a Shapefile with a GBK attribute table, Chinese field names and Chinese level
words, in the Gauss–Krüger zone (EPSG:4546); police grids in a GeoPackage; departments
as a UTF-8 CSV; staff and their assignments in an Excel workbook; addresses as a GB18030
CSV with 经度/纬度 columns; greenhouses as GeoJSON; adits in Excel with coordinates;
incidents in a GeoPackage; roads as a line Shapefile. Plus the mapping file for them.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyogrio.raw
import shapely
from pyproj import Transformer

LEVEL_WORDS = {"town": "镇", "area": "片区", "village": "村", "unit": "单元网格", "micro": "微网格"}


def _rows(conn: psycopg.Connection, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = conn.execute(query)
    return [d.name for d in cur.description or []], cur.fetchall()


def write_vector(path: Path, names: list[str], rows: list[tuple[Any, ...]], wkb: list[bytes],
                 crs: str = "EPSG:4490", encoding: str | None = None,
                 geometry_type: str | None = None, layer: str | None = None) -> None:
    """A vector file from rows whose last column is WKB; strings and numbers only."""
    columns = []
    for i in range(len(names)):
        values = [r[i] for r in rows]
        kind = (float if all(isinstance(v, float | int) or v is None for v in values)
                and any(isinstance(v, float) for v in values) else
                int if all(isinstance(v, int) and not isinstance(v, bool) for v in values)
                and values else str)
        if kind is str:
            columns.append(np.array(["" if v is None else str(v) for v in values], dtype=object))
        elif kind is int:
            columns.append(np.array([-1 if v is None else v for v in values], dtype=np.int64))
        else:
            columns.append(np.array([np.nan if v is None else v for v in values], dtype=float))
    geoms = shapely.from_wkb(wkb)
    gtype = geometry_type or shapely.get_type_id(geoms[0]).name.title().replace("string",
                                                                                "String")
    pyogrio.raw.write(path, np.asarray(shapely.to_wkb(geoms), dtype=object), columns, names,
                      crs=crs, encoding=encoding, geometry_type=gtype, layer=layer)


def write_town(conn: psycopg.Connection, folder: Path) -> Path:
    """Every file and the mapping that imports them; returns the mapping's path."""
    folder.mkdir(parents=True, exist_ok=True)
    to_gk = Transformer.from_crs(4490, 4546, always_xy=True)

    names, rows = _rows(conn, "SELECT code, name, level, parent_code, kind, dedicated_type,"
                        " difficulty, households, population, ST_AsBinary(geom) FROM gridgeo.grids"
                        " ORDER BY code")
    gk = shapely.transform(shapely.from_wkb([bytes(r[-1]) for r in rows]),
                           lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1])))
    rows = [(r[0], r[1], LEVEL_WORDS[r[2]], *r[3:-1]) for r in rows]
    write_vector(folder / "网格.shp", ["编码", "名称", "级别", "上级编码", "类型", "专属类型",
                                      "难度", "户数", "人口"],
                 rows, list(shapely.to_wkb(gk)), crs="EPSG:4546", encoding="GBK",
                 geometry_type="MultiPolygon")

    names, rows = _rows(conn, "SELECT code, name, kind, parent_code FROM gridgeo.departments"
                        " ORDER BY parent_code NULLS FIRST, code")
    with (folder / "departments.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        writer.writerows(rows)

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "人员"
    names, rows = _rows(conn, "SELECT staff_no, name, role, work_phone, department_code,"
                        " CASE WHEN active THEN '是' ELSE '否' END FROM gridgeo.staff ORDER BY id")
    sheet.append(["工号", "姓名", "角色", "工作电话", "部门编码", "在岗"])
    for row in rows:
        sheet.append(list(row))
    assign = book.create_sheet("网格分工")
    names, rows = _rows(conn, "SELECT a.grid_code, s.staff_no, a.role FROM gridgeo.grid_assignments"
                        " a JOIN gridgeo.staff s ON s.id = a.staff_id ORDER BY 1, 2, 3")
    assign.append(names)
    for row in rows:
        assign.append(list(row))
    police = book.create_sheet("警格分工")
    names, rows = _rows(conn, "SELECT a.police_grid_code, s.staff_no FROM"
                        " gridgeo.police_grid_assignments a JOIN gridgeo.staff s"
                        " ON s.id = a.staff_id ORDER BY 1, 2")
    police.append(names)
    for row in rows:
        police.append(list(row))
    adits = book.create_sheet("矿洞")
    names, rows = _rows(conn, "SELECT adit_no, name, mineral, seal_method, sealed_on, status,"
                        " patrol_frequency_days, responsible_unit, last_inspected_at::text,"
                        " elevation_m, slope_deg, ST_X(geom) AS lon,"
                        " ST_Y(geom) AS lat FROM gridgeo.mine_tunnels ORDER BY adit_no")
    adits.append(names)
    for row in rows:
        adits.append(list(row))
    book.save(folder / "registers.xlsx")

    names, rows = _rows(conn, "SELECT code, name, station_code, ST_AsBinary(geom)"
                        " FROM gridgeo.police_grids ORDER BY code")
    write_vector(folder / "police.gpkg", names[:-1], [r[:-1] for r in rows],
                 [bytes(r[-1]) for r in rows], geometry_type="MultiPolygon", layer="警格")

    names, rows = _rows(conn, "SELECT address_code, province, city, county, township, village,"
                        " road, house_number, building, unit, room, full_address,"
                        " ST_X(geom) AS 经度, ST_Y(geom) AS 纬度 FROM gridgeo.addresses"
                        " ORDER BY address_code")
    with (folder / "门牌.csv").open("w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        writer.writerows([[repr(v) if isinstance(v, float) else v for v in r] for r in rows])

    names, rows = _rows(conn, "SELECT gh_no, operator_name, operator_phone, operator_id_number,"
                        " use, status, built_year, last_scanned_at::text, ST_AsBinary(geom)"
                        " FROM gridgeo.greenhouses"
                        " ORDER BY gh_no")
    write_vector(folder / "greenhouses.geojson", names[:-1], [r[:-1] for r in rows],
                 [bytes(r[-1]) for r in rows], geometry_type="Polygon")

    names, rows = _rows(conn, "SELECT case_no, category_code, title, description, colour, state,"
                        " source, reported_at::text, accepted_at::text, dispatched_at::text,"
                        " resolved_at::text, closed_at::text, reporter_name, reporter_phone,"
                        " ST_AsBinary(geom) FROM gridgeo.incidents ORDER BY case_no")
    write_vector(folder / "incidents.gpkg", names[:-1], [r[:-1] for r in rows],
                 [bytes(r[-1]) for r in rows], geometry_type="Point")

    names, rows = _rows(conn, "SELECT name, road_class, CASE WHEN oneway THEN 'Y' ELSE 'N' END"
                        " AS oneway, ST_AsBinary(geom) FROM gridgeo.roads ORDER BY id")
    write_vector(folder / "roads.shp", ["名称", "等级", "单行"], [r[:-1] for r in rows],
                 [bytes(r[-1]) for r in rows], encoding="GBK", geometry_type="LineString")

    mapping = folder / "mapping.yml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return mapping


MAPPING = """\
county_code: "410399"
layers:
  - target: departments
    source: departments.csv
  - target: staff
    source: registers.xlsx
    layer: 人员
    fields:
      staff_no: 工号
      name: 姓名
      role: 角色
      work_phone: 工作电话
      department_code: 部门编码
      active: 在岗
  - target: grids
    source: 网格.shp
    fields:
      code: 编码
      name: 名称
      level: {from: 级别, map: {镇: town, 片区: area, 村: village, 单元网格: unit, 微网格: micro}}
      parent_code: 上级编码
      kind: 类型
      dedicated_type: 专属类型
      difficulty: 难度
      households: 户数
      population: 人口
  - target: grid_assignments
    source: registers.xlsx
    layer: 网格分工
  - target: police_grids
    source: police.gpkg
    layer: 警格
  - target: police_grid_assignments
    source: registers.xlsx
    layer: 警格分工
  - target: addresses
    source: 门牌.csv
  - target: mine_tunnels
    source: registers.xlsx
    layer: 矿洞
    coordinates: {x: lon, y: lat}
  - target: greenhouses
    source: greenhouses.geojson
  - target: incidents
    source: incidents.gpkg
  - target: roads
    source: roads.shp
    noding: endpoints
    fields:
      name: 名称
      road_class: 等级
      oneway: 单行
"""
