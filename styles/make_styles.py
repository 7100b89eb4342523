"""Writes every collection's QGIS (QML), SLD 1.0 and MapLibre style from one table of rules.

Run ``python styles/make_styles.py`` after changing a rule; the written files are what
the server serves (``/styles/<id>/<kind>``) and what ``gridgeo qgis-project`` embeds.
Each rule draws where its filter matches (no "else"), in the order listed, so a later
rule can overlay a mark (overdue, inspection due, not scanned this month) on an
earlier class. The same filter is written three ways:

- QGIS expressions (``now()`` for dates: always current);
- OGC Filter 1.0 (dates compared with GeoServer's ``now``/``dateFormat`` functions);
- MapLibre expressions (dates compared with the style's global state ``today`` and
  ``month``, which a client sets with ``map.setGlobalStateProperty``; MapLibre has no
  clock of its own).

MapLibre styles carry no text labels: a symbol layer needs a glyph server and gridgeo
pages must work offline. QML and SLD label in Chinese.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the writers beside this file, however it is loaded

from maplibre import to_maplibre  # noqa: E402
from qgis_ogc import to_qml, to_sld  # noqa: E402
from style_model import Rule, Style, Symbol  # noqa: E402

OPEN = ("not", ("in", "state", ["closed", "invalid", "duplicate"]))
COLOURS = {"red": "#d7191c", "orange": "#fd8d3c", "yellow": "#fed92f"}
# Dense layers (a town's 10,000 addresses, 3,000 greenhouses) show in QGIS from 1:20,000
# in: a window then shows a few km, a village's few hundred door plates, and a median
# greenhouse (about 10 x 50 m) is 2 x 9 pixels; at a town's extent (about 1:58,000 in a
# 1280 x 800 window) it is under a pixel wide and the addresses one purple blot, yet
# fetching and drawing them was most of QGIS's first draw. Out of the range QGIS requests
# none of their features.
DENSE_FROM = 20000
STATION_PALETTE = ["#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
                   "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f"]


def grids() -> Style:
    difficulty = {"A": ("难度A（复杂）", "#f4a582"), "B": ("难度B（一般）", "#fddbc7"),
                  "C": ("难度C（简单）", "#d1e5f0")}
    rules = [Rule(f"单元网格 {title}", ("and", ("eq", "level", "unit"), ("eq", "kind", "basic"),
                                    ("eq", "difficulty", grade)),
                  Symbol(fill=colour, stroke="#4d4d4d", width=0.26, opacity=0.8))
             for grade, (title, colour) in difficulty.items()]
    rules += [
        Rule("单元网格 未定级", ("and", ("eq", "level", "unit"), ("eq", "kind", "basic"),
                                ("null", "difficulty")),
             Symbol(fill="#f0f0f0", stroke="#4d4d4d", width=0.26, opacity=0.8)),
        Rule("微网格", ("eq", "level", "micro"), Symbol(stroke="#969696", width=0.15, dash=True),
             max_scale=25000),
        Rule("专属网格", ("eq", "kind", "dedicated"),
             Symbol(fill="#762a83", stroke="#762a83", width=0.5, hatch=True)),
        Rule("村（社区）", ("eq", "level", "village"), Symbol(stroke="#252525", width=0.6)),
        Rule("片区", ("eq", "level", "area"), Symbol(stroke="#08519c", width=1.0, dash=True)),
        Rule("镇界", ("eq", "level", "town"), Symbol(stroke="#000000", width=1.4)),
    ]
    return Style("grids", "网格（按层级和难度）", "polygon", rules, label="name",
                 label_max_scale=30000)


def police_grids() -> Style:
    # The police grid code is county 6 + J + station 2 + sequence 3: the station's
    # number is characters 8-9, so every station gets its own colour without
    # listing the stations in the style.
    rules = [Rule(f"派出所 {n:02d} 的警格", ("slice_eq", "code", 7, 9, f"{n:02d}"),
                  Symbol(fill=colour, stroke="#08306b", width=0.4, opacity=0.55))
             for n, colour in enumerate(STATION_PALETTE, start=1)]
    return Style("police_grids", "警格（按派出所）", "polygon", rules, label="name")


def addresses() -> Style:
    rules = [Rule("门牌地址", None, Symbol(fill="#6a51a3", stroke="#ffffff", width=0.2, size=1.6),
                  max_scale=20000)]
    return Style("addresses", "标准地址", "point", rules, label="house_number",
                 label_max_scale=5000, layer_max_scale=DENSE_FROM)


def mine_tunnels() -> Style:
    status = {"sealed": ("已封闭", "#1a9641"), "resealed": ("已复封", "#2c7bb6"),
              "suspected_reopened": ("疑似重开", "#fdae61"), "reopened": ("已重开", "#d7191c")}
    rules = [Rule(title, ("eq", "status", value), Symbol(fill=colour, stroke="#000000",
                                                         width=0.3, size=3.2))
             for value, (title, colour) in status.items()]
    rules.append(Rule("巡查到期（应巡未巡）", ("due", "inspection_due_on"),
                      Symbol(stroke="#e7298a", width=0.6, size=5.6)))
    return Style("mine_tunnels", "封闭矿洞（按状态和巡查到期）", "point", rules, label="adit_no",
                 label_max_scale=25000)


def greenhouses() -> Style:
    status = {"in_use": ("在用", "#a6d96a"), "idle": ("闲置", "#ffffbf"),
              "abandoned": ("废弃", "#bababa"), "suspected_conversion": ("疑似大棚房", "#fdae61"),
              "converted_to_housing": ("已改建大棚房", "#d7191c"),
              "demolished": ("已拆除", "#ffffff")}
    rules = [Rule(title, ("eq", "status", value), Symbol(fill=colour, stroke="#4d4d4d", width=0.2))
             for value, (title, colour) in status.items()]
    rules.append(Rule("本月未扫码巡视", ("not_this_month", "last_scanned_at"),
                      Symbol(stroke="#e7298a", width=0.6, dash=True)))
    return Style("greenhouses", "农业大棚（按状态和本月扫码）", "polygon", rules, label="gh_no",
                 label_max_scale=5000, layer_max_scale=DENSE_FROM)


def incidents() -> Style:
    rules = [Rule("已办结/无效", ("not", OPEN), Symbol(fill="#bdbdbd", stroke="#737373",
                                                  width=0.2, size=2.0))]
    rules += [Rule(f"在办 {title}", ("and", OPEN, ("eq", "colour", colour)),
                   Symbol(fill=COLOURS[colour], stroke="#000000", width=0.3, size=3.4))
              for colour, title in (("yellow", "黄色（1日）"), ("orange", "橙色（7日）"),
                                    ("red", "红色（1月）"))]
    rules.append(Rule("超期未办结", ("true", "overdue"),
                      Symbol(stroke="#000000", width=0.8, size=5.4)))
    return Style("incidents", "事件（按颜色，标出超期）", "point", rules, label="case_no",
                 label_max_scale=10000)


def roads() -> Style:
    classes = {"county": ("县道", "#e34a33", 1.2), "township": ("乡道", "#fc8d59", 0.9),
               "village": ("村道", "#fdbb84", 0.6), "track": ("机耕路", "#8c6d31", 0.4),
               "path": ("小路", "#8c6d31", 0.25)}
    rules = [Rule(title, ("eq", "road_class", value),
                  Symbol(stroke=colour, width=width, dash=value in ("track", "path")))
             for value, (title, colour, width) in classes.items()]
    return Style("roads", "道路（按等级）", "line", rules, label="name", label_max_scale=50000)


def patrol_routes() -> Style:
    kinds = {"visit_targets": ("走访巡查", "#1b9e77"), "street_sweep": ("街面巡查", "#d95f02"),
             "big_patrol": ("大巡控", "#7570b3")}
    rules = [Rule(title, ("eq", "patrol_kind", value), Symbol(stroke=colour, width=0.9))
             for value, (title, colour) in kinds.items()]
    return Style("patrol_routes", "巡查路线（按巡查类型）", "line", rules, label="name")


def inspections() -> Style:
    rules = [Rule("正常巡查", ("not", ("true", "flagged")),
                  Symbol(fill="#41ab5d", stroke="#ffffff", width=0.2, size=2.2)),
             Rule("存疑记录", ("true", "flagged"),
                  Symbol(fill="#e31a1c", stroke="#000000", width=0.3, size=3.0))]
    return Style("inspections", "巡查记录（标出存疑）", "point", rules, label="target_code",
                 label_max_scale=5000)


STYLES = (grids, police_grids, addresses, mine_tunnels, greenhouses, incidents, roads,
          patrol_routes, inspections)


def write_all(folder: Path = HERE) -> list[Path]:
    written = []
    for make in STYLES:
        style = make()
        for suffix, text in ((".qml", to_qml(style)), (".sld", to_sld(style)),
                             (".maplibre.json", json.dumps(to_maplibre(style),
                                                           ensure_ascii=False, indent=1) + "\n")):
            path = folder / f"{style.cid}{suffix}"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path.relative_to(HERE.parent))
