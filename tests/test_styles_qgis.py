"""Each QGIS style draws its layer, loaded from the running server through QGIS's OGC API
Features provider, with the colour its class is given: rendered headless by Debian's
python3-qgis (scripts/render_style_qgis.py under /usr/bin/python3) and checked pixel by
pixel at features picked with SQL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import EDITOR_KEY

ROOT = Path(__file__).resolve().parent.parent
RENDER = ROOT / "scripts" / "render_style_qgis.py"
SYSTEM_PYTHON = "/usr/bin/python3"
OPEN = "state NOT IN ('closed', 'invalid', 'duplicate')"
TOLERANCE = 12  # per channel: antialiasing and rounding of blended fills


def qgis_available() -> bool:
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


pytestmark = [pytest.mark.slow]


def test_qgis_is_installed() -> None:
    """python3-qgis comes from scripts/install-system.sh; missing is an install bug."""
    assert qgis_available()


def hex_rgb(colour: str, opacity: float = 1.0) -> tuple[int, ...]:
    """A fill of ``colour`` at ``opacity`` over the white background."""
    rgb = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(round(opacity * c + (1 - opacity) * 255) for c in rgb)


# (collection, description, SQL giving lon, lat of one feature, expected colour, half
# width of the rendered extent in degrees). Points are picked away from their neighbours.
POINT_ALONE = ("NOT EXISTS (SELECT 1 FROM gridgeo.{t} o WHERE o.id <> t.id "
               "AND ST_DWithin(o.geom, t.geom, {d}))")
INSIDE = "ST_PointOnSurface(ST_Buffer(t.geom, -0.0003))"


def point_case(table: str, where: str, alone: float = 0.0004) -> str:
    """A point with no other within ``alone`` degrees (its marker drawn whole)."""
    return (f"SELECT ST_X(t.geom), ST_Y(t.geom) FROM gridgeo.{table}_view t "
            f"WHERE {where} AND {POINT_ALONE.format(t=table, d=alone)} ORDER BY t.id LIMIT 1")


def polygon_case(table: str, where: str) -> str:
    return (f"SELECT ST_X(p), ST_Y(p) FROM (SELECT {INSIDE} AS p FROM gridgeo.{table}_view t "
            f"WHERE {where} ORDER BY t.id) s WHERE NOT ST_IsEmpty(p) LIMIT 1")


# QGIS signs in as a gis_editor, who does not read sensitive categories (docs/security.md).
NOT_SENSITIVE = "category_code <> ALL (gridgeo.sensitive_category_codes())"
CASES: list[tuple[str, str, str, tuple[int, ...], float]] = [
    ("incidents", "open red, not overdue",
     point_case("incidents", f"colour = 'red' AND {OPEN} AND NOT overdue"
                f" AND {NOT_SENSITIVE}"),
     hex_rgb("#d7191c"), 0.0005),
    ("incidents", "open orange", point_case("incidents", f"colour = 'orange' AND {OPEN}"),
     hex_rgb("#fd8d3c"), 0.0005),
    ("incidents", "open yellow", point_case("incidents", f"colour = 'yellow' AND {OPEN}"),
     hex_rgb("#fed92f"), 0.0005),
    ("incidents", "closed", point_case("incidents", "state = 'closed'"),
     hex_rgb("#bdbdbd"), 0.0005),
    ("mine_tunnels", "sealed", point_case("mine_tunnels", "status = 'sealed'"),
     hex_rgb("#1a9641"), 0.0005),
    ("mine_tunnels", "resealed", point_case("mine_tunnels", "status = 'resealed'"),
     hex_rgb("#2c7bb6"), 0.0005),
    ("mine_tunnels", "suspected reopened",
     point_case("mine_tunnels", "status = 'suspected_reopened'"), hex_rgb("#fdae61"), 0.0005),
    ("mine_tunnels", "reopened", point_case("mine_tunnels", "status = 'reopened'"),
     hex_rgb("#d7191c"), 0.0005),
    ("addresses", "door plate", point_case("addresses", "true", 0.00005), hex_rgb("#6a51a3"),
     0.0001),
    ("greenhouses", "in use",
     polygon_case("greenhouses", "status = 'in_use'").replace("-0.0003", "-0.00004"),
     hex_rgb("#a6d96a"), 0.0003),
    ("greenhouses", "converted to housing",
     polygon_case("greenhouses", "status = 'converted_to_housing'")
     .replace("-0.0003", "-0.00004"), hex_rgb("#d7191c"), 0.0003),
    ("grids", "unit grid, difficulty A",
     polygon_case("grids", "level = 'unit' AND kind = 'basic' AND difficulty = 'A' AND NOT "
                  "EXISTS (SELECT 1 FROM gridgeo.grids d WHERE d.kind = 'dedicated' "
                  "AND ST_Intersects(d.geom, t.geom))"),
     hex_rgb("#f4a582", 0.8), 0.01),
    ("grids", "unit grid, difficulty C",
     polygon_case("grids", "level = 'unit' AND kind = 'basic' AND difficulty = 'C' AND NOT "
                  "EXISTS (SELECT 1 FROM gridgeo.grids d WHERE d.kind = 'dedicated' "
                  "AND ST_Intersects(d.geom, t.geom))"),
     hex_rgb("#d1e5f0", 0.8), 0.01),
    ("police_grids", "station 01", polygon_case("police_grids", "substr(code, 8, 2) = '01'"),
     hex_rgb("#8dd3c7", 0.55), 0.01),
    ("police_grids", "station 02", polygon_case("police_grids", "substr(code, 8, 2) = '02'"),
     hex_rgb("#ffffb3", 0.55), 0.01),
    ("roads", "county road",
     "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(t.geom, f) p "
     "FROM gridgeo.roads t, generate_series(0.1, 0.9, 0.2) f WHERE road_class = 'county' "
     "ORDER BY id, f) s WHERE NOT EXISTS "
     "(SELECT 1 FROM gridgeo.roads o WHERE o.road_class <> 'county' "
     "AND ST_DWithin(o.geom, s.p, 0.0005)) LIMIT 1", hex_rgb("#e34a33"), 0.0008),
]


def run_qgis(request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([SYSTEM_PYTHON, str(RENDER)], input=json.dumps(request),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_each_qgis_style_renders_its_classes_in_their_colours(
        base_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    jobs: list[Any] = []
    cases: list[Any] = []
    for collection, what, query, expected, half in CASES:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
        if row is None:
            continue  # the demo has no feature of that class
        lon, lat = row
        jobs.append({"url": base_url, "collection": collection,
                     "qml": str(ROOT / "styles" / f"{collection}.qml"),
                     "bbox": [lon - half, lat - half, lon + half, lat + half], "size": 101,
                     "samples": [[lon, lat]], "out": str(tmp_path / f"{len(jobs)}.png")})
        cases.append((collection, what, expected))
    covered = {c for c, _, _ in cases}
    assert covered >= {"incidents", "mine_tunnels", "addresses", "greenhouses", "grids",
                       "police_grids", "roads"}, covered
    # adits are not public: QGIS signs in (scripts/render_style_qgis.py)
    answers = run_qgis({"render": jobs, "authorization": f"Bearer {EDITOR_KEY}"})["render"]
    wrong = []
    for (collection, what, expected), answer in zip(cases, answers, strict=True):
        assert answer["valid"], f"QGIS could not load {collection} from {base_url}"
        pixel = answer["pixels"][0][:3]
        if any(abs(p - e) > TOLERANCE for p, e in zip(pixel, expected, strict=True)):
            wrong.append(f"{collection} ({what}): got {pixel}, style gives {list(expected)}")
    assert not wrong, "\n".join(wrong)


def test_qgis_project_opens_every_layer_styled_and_grouped(base_url: str,
                                                          tmp_path: Path) -> None:
    import subprocess as sp
    import sys

    def write(path: Path, *options: str) -> str:
        done = sp.run([sys.executable, "-c", "from gridgeo.qgis_project import "
                       "qgis_project_command; qgis_project_command()", "--url", base_url,
                       *options, str(path)], capture_output=True, text=True, timeout=120,
                      check=False)
        assert done.returncode == 0, done.stderr
        return done.stderr

    # anonymous: the public layers; those that need a sign-in are left out, by name
    project = tmp_path / "town.qgz"
    said = write(project, "--api-key", EDITOR_KEY)
    assert "left out 6 layer(s) that need a sign-in" in said and "inspections" in said
    opened = run_qgis({"project": str(project)})["project"]
    assert opened["read"] and opened["crs"] == "EPSG:4490"
    layers = {layer["source"].split("typename='")[1].split("'")[0]: layer
              for layer in opened["layers"]}
    assert {"grids", "police_grids", "addresses", "greenhouses", "incidents",
            "roads"} <= set(layers)
    assert not {"mine_tunnels", "inspections", "patrol_routes"} & set(layers)
    groups = {"grids": "网格", "police_grids": "网格", "addresses": "现场对象",
              "greenhouses": "现场对象", "incidents": "事件", "roads": "路线"}
    for collection, layer in layers.items():
        assert layer["valid"], collection
        assert layer["provider"] == "OAPIF" and f"url='{base_url}'" in layer["source"]
        if collection in groups:
            assert layer["group"] == groups[collection], collection
        if layer["features"] > 0 and collection in groups:
            assert layer["renderer"] == "RuleRenderer" and layer["rules"] >= 1, collection
            assert layer["labels"], collection
    assert layers["grids"]["name"] == "网格" and layers["grids"]["features"] > 100
    # the dense layers show from 1:20,000 in: at the view the project opens with (the
    # town's extent) QGIS neither draws nor requests them; every other layer is drawn
    assert opened["opening_scale"] > 20000, opened["opening_scale"]
    for collection in ("addresses", "greenhouses"):
        assert layers[collection]["scale_range"] == [True, 20000, 0], collection
    assert {c for c, layer in layers.items() if not layer["drawn_on_opening"]} == \
        {"addresses", "greenhouses"}
    # with a QGIS authentication configuration, those layers come in signed in
    signed = tmp_path / "staff.qgs"
    write(signed, "--api-key", EDITOR_KEY, "--authcfg", "gg4town")
    xml = signed.read_text(encoding="utf-8")
    for collection in ("mine_tunnels", "inspections", "patrol_routes"):  # styled ones
        assert f"authcfg='gg4town' pagingEnabled='true' preferCoordinatesForWfsT11='false' " \
               f"restrictToRequestBBOX='1' typename='{collection}'" in xml, collection
    assert "authcfg='gg4town' pagingEnabled='true' preferCoordinatesForWfsT11='false' " \
           "restrictToRequestBBOX='1' typename='grids'" not in xml
    assert EDITOR_KEY not in xml


SLD_GEOMETRY = {"point": "Point", "line": "LineString", "polygon": "Polygon"}


def test_each_sld_imports_into_qgis_with_every_rule() -> None:
    """QGIS's SLD reader (a real SLD 1.0 parser) builds one rule per style rule."""
    import xml.etree.ElementTree as ET

    sld_ns = "{http://www.opengis.net/sld}"
    jobs, expected = [], []
    for path in sorted((ROOT / "styles").glob("*.sld")):
        qml = ET.parse(path.with_suffix(".qml"))
        geometry = {"0": "point", "1": "line", "2": "polygon"}[
            qml.findtext("layerGeometryType") or ""]
        drawing = [r for r in ET.parse(path).iter(f"{sld_ns}Rule")
                   if r.find(f"{sld_ns}TextSymbolizer") is None]
        jobs.append({"path": str(path), "geometry": SLD_GEOMETRY[geometry]})
        expected.append((path.name, len(drawing)))
    answers = run_qgis({"sld": jobs})["sld"]
    for (name, rules), answer in zip(expected, answers, strict=True):
        assert answer["ok"], (name, answer["message"])
        assert answer["renderer"] == "RuleRenderer" and len(answer["rules"]) == rules, name
        assert answer["labels"], f"{name}: the TextSymbolizer became QGIS labels"
