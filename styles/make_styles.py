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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).resolve().parent
CJK_FONT = "Noto Sans CJK SC"
TILED = ("grids", "addresses", "roads", "incidents", "greenhouses")
TILE_PATH = "/collections/{cid}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?f=mvt"
ITEMS_PATH = "/collections/{cid}/items?f=json&limit=10000"

# A filter is a nested tuple:
#   ("eq", field, value) ("in", field, [values]) ("true", field) ("null", field)
#   ("slice_eq", field, start, end, value)  substring [start, end) equals value
#   ("due", field)  a date on or before today (what gridgeo.mine_tunnels_due counts)
#   ("not_this_month", field)  a timestamp not in the current month (or null)
#   ("and", f1, f2, ...) ("or", f1, ...) ("not", f)
Filter = tuple[Any, ...]


@dataclass(frozen=True)
class Symbol:
    fill: str | None = None  # "#rrggbb"; None: no fill
    stroke: str | None = None
    width: float = 0.3  # stroke width in mm (QGIS), px = width * 4 (MapLibre, SLD)
    size: float = 0.0  # marker diameter in mm; 0 for lines and polygons
    opacity: float = 1.0  # fill opacity
    dash: bool = False
    hatch: bool = False  # diagonal hatching instead of a solid fill


@dataclass(frozen=True)
class Rule:
    title: str  # Chinese legend entry
    filter: Filter | None
    symbol: Symbol
    max_scale: int | None = None  # visible at scales larger than 1:max_scale


@dataclass(frozen=True)
class Style:
    cid: str
    title: str
    geometry: str  # point, line, polygon
    rules: list[Rule]
    label: str | None = None  # field labelled in QML and SLD
    label_max_scale: int = 50000
    extra: dict[str, Any] = field(default_factory=dict)


OPEN = ("not", ("in", "state", ["closed", "invalid", "duplicate"]))
COLOURS = {"red": "#d7191c", "orange": "#fd8d3c", "yellow": "#fed92f"}
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
                 label_max_scale=5000)


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
                 label_max_scale=5000)


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


def fields_of(flt: Filter | None) -> set[str]:
    """Property names a filter reads."""
    if flt is None:
        return set()
    if flt[0] in ("and", "or"):
        return set().union(*(fields_of(f) for f in flt[1:]))
    if flt[0] == "not":
        return fields_of(flt[1])
    return {flt[1]}


# ---------------------------------------------------------------------------
# QGIS expressions and QML
# ---------------------------------------------------------------------------


def qgis_literal(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def qgis_expr(flt: Filter) -> str:
    op = flt[0]
    if op in ("and", "or"):
        return "(" + f" {op.upper()} ".join(qgis_expr(f) for f in flt[1:]) + ")"
    if op == "not":
        return f"NOT ({qgis_expr(flt[1])})"
    col = f'"{flt[1]}"'
    if op == "eq":
        return f"{col} = {qgis_literal(flt[2])}"
    if op == "in":
        return f"{col} IN ({', '.join(qgis_literal(v) for v in flt[2])})"
    if op == "true":
        return f"coalesce({col}, false)"
    if op == "null":
        return f"{col} IS NULL"
    if op == "slice_eq":
        return f"substr({col}, {flt[2] + 1}, {flt[3] - flt[2]}) = {qgis_literal(flt[4])}"
    if op == "due":
        return f"to_date({col}) <= to_date(now())"
    if op == "not_this_month":
        return (f"{col} IS NULL OR format_date(to_datetime({col}), 'yyyy-MM') "
                f"<> format_date(now(), 'yyyy-MM')")
    raise ValueError(op)


def rgba(colour: str | None, alpha: float = 1.0) -> str:
    if colour is None:
        return "0,0,0,0"
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"{r},{g},{b},{round(alpha * 255)}"


def qml_options(options: dict[str, Any]) -> str:
    items = "".join(f'<Option type="QString" name="{k}" value={quoteattr(str(v))}/>'
                    for k, v in options.items())
    return f'<Option type="Map">{items}</Option>'


def qml_symbol(name: str, style: Style, symbol: Symbol) -> str:
    kind = {"point": "marker", "line": "line", "polygon": "fill"}[style.geometry]
    if kind == "marker":
        layer = ("SimpleMarker", {
            "name": "circle", "color": rgba(symbol.fill, symbol.opacity),
            "outline_color": rgba(symbol.stroke), "outline_width": symbol.width,
            "outline_width_unit": "MM", "outline_style": "solid" if symbol.stroke else "no",
            "size": symbol.size, "size_unit": "MM"})
        if symbol.fill is None:
            layer[1]["color"] = "0,0,0,0"
    elif kind == "line":
        layer = ("SimpleLine", {
            "line_color": rgba(symbol.stroke), "line_width": symbol.width,
            "line_width_unit": "MM", "line_style": "dash" if symbol.dash else "solid",
            "capstyle": "round", "joinstyle": "round"})
    else:
        layer = ("SimpleFill", {
            "color": rgba(symbol.fill, 1.0 if symbol.hatch else symbol.opacity),
            "style": "no" if symbol.fill is None else ("b_diagonal" if symbol.hatch else "solid"),
            "outline_color": rgba(symbol.stroke),
            "outline_style": ("no" if symbol.stroke is None
                              else "dash" if symbol.dash else "solid"),
            "outline_width": symbol.width, "outline_width_unit": "MM",
            "joinstyle": "bevel"})
    return (f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="{layer[0]}" enabled="1" locked="0" pass="0">'
            f"{qml_options(layer[1])}</layer></symbol>")


def qml_labeling(style: Style) -> str:
    if not style.label:
        return ""
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName="{style.label}" isExpression="0" fontFamily="{CJK_FONT}" '
        'fontSize="9" fontSizeUnit="Point" textColor="33,33,33,255" textOpacity="1" '
        'fontWeight="50" fontItalic="0" namedStyle="Regular" multilineHeight="1">'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" '
        'bufferColor="255,255,255,255" bufferOpacity="1" bufferJoinStyle="128"/>'
        '</text-style>'
        '<text-format wrapChar="" autoWrapLength="0" multilineAlign="3" plussign="0"/>'
        f'<placement placement="{ {"point": 6, "line": 2, "polygon": 1}[style.geometry]}" '
        'dist="1" distUnits="MM" '
        'priority="5" offsetType="0" quadOffset="4"/>'
        f'<rendering scaleVisibility="1" scaleMin="1" scaleMax="{style.label_max_scale}" '
        'obstacle="1" displayAll="0" upsidedown="0" labelPerPart="0" mergeLines="1" '
        'limitNumLabels="0" maxNumLabels="2000" fontMinPixelSize="3" fontMaxPixelSize="10000" '
        'fontLimitPixelSize="0" drawLabels="1"/>'
        '</settings></labeling>')


def to_qml(style: Style) -> str:
    rules, symbols = [], []
    for i, rule in enumerate(style.rules):
        attrs = [f"key=\"r{i}\"", f"symbol=\"{i}\"", f"label={quoteattr(rule.title)}"]
        if rule.filter is not None:
            attrs.append(f"filter={quoteattr(qgis_expr(rule.filter))}")
        if rule.max_scale:
            attrs.append(f'scalemaxdenom="{rule.max_scale}" scalemindenom="0"')
        rules.append(f"<rule {' '.join(attrs)}/>")
        symbols.append(qml_symbol(str(i), style, rule.symbol))
    geometry_type = {"point": 0, "line": 1, "polygon": 2}[style.geometry]
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="3.22.16" styleCategories="Symbology|Labeling" '
        f'labelsEnabled="{1 if style.label else 0}">\n'
        '<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">\n'
        f'<rules key="root">{"".join(rules)}</rules>\n'
        f'<symbols>{"".join(symbols)}</symbols>\n'
        "</renderer-v2>\n"
        f"{qml_labeling(style)}\n"
        f"<layerGeometryType>{geometry_type}</layerGeometryType>\n"
        "</qgis>\n")


# ---------------------------------------------------------------------------
# OGC Filter 1.0 and SLD 1.0
# ---------------------------------------------------------------------------


def ogc_prop(name: str) -> str:
    return f"<ogc:PropertyName>{escape(name)}</ogc:PropertyName>"


def ogc_lit(value: Any) -> str:
    if isinstance(value, bool):
        value = str(value).lower()
    return f"<ogc:Literal>{escape(str(value))}</ogc:Literal>"


def ogc_filter(flt: Filter) -> str:
    op = flt[0]
    if op in ("and", "or"):
        tag = "ogc:And" if op == "and" else "ogc:Or"
        return f"<{tag}>{''.join(ogc_filter(f) for f in flt[1:])}</{tag}>"
    if op == "not":
        return f"<ogc:Not>{ogc_filter(flt[1])}</ogc:Not>"
    name = flt[1]
    if op == "eq":
        return f"<ogc:PropertyIsEqualTo>{ogc_prop(name)}{ogc_lit(flt[2])}</ogc:PropertyIsEqualTo>"
    if op == "in":
        return ogc_filter(("or", *(("eq", name, v) for v in flt[2])))
    if op == "true":
        return ogc_filter(("eq", name, True))
    if op == "null":
        return f"<ogc:PropertyIsNull>{ogc_prop(name)}</ogc:PropertyIsNull>"
    if op == "slice_eq":
        pattern = "_" * flt[2] + flt[4] + "*"
        return (f'<ogc:PropertyIsLike wildCard="*" singleChar="_" escape="\\">'
                f"{ogc_prop(name)}{ogc_lit(pattern)}</ogc:PropertyIsLike>")
    if op == "due":
        return (f"<ogc:PropertyIsLessThanOrEqualTo>{ogc_prop(name)}"
                f'<ogc:Function name="now"/></ogc:PropertyIsLessThanOrEqualTo>')
    if op == "not_this_month":
        now = '<ogc:Function name="now"/>'
        def month(arg):
            return (f'<ogc:Function name="dateFormat">{ogc_lit("yyyy-MM")}{arg}'
                         "</ogc:Function>")
        return (f"<ogc:Or><ogc:PropertyIsNull>{ogc_prop(name)}</ogc:PropertyIsNull>"
                f"<ogc:PropertyIsNotEqualTo>{month(ogc_prop(name))}"
                f"{month(now)}</ogc:PropertyIsNotEqualTo></ogc:Or>")
    raise ValueError(op)


def css(name: str, value: Any) -> str:
    return f'<sld:CssParameter name="{name}">{value}</sld:CssParameter>'


def sld_stroke(symbol: Symbol) -> str:
    if symbol.stroke is None:
        return ""
    dash = css("stroke-dasharray", "6 3") if symbol.dash else ""
    return (f"<sld:Stroke>{css('stroke', symbol.stroke)}"
            f"{css('stroke-width', round(symbol.width * 4, 2))}{dash}</sld:Stroke>")


def sld_symbolizer(style: Style, symbol: Symbol) -> str:
    fill = ""
    if symbol.fill is not None:
        if symbol.hatch:
            fill = ("<sld:Fill><sld:GraphicFill><sld:Graphic><sld:Mark>"
                    "<sld:WellKnownName>shape://slash</sld:WellKnownName>"
                    f"<sld:Stroke>{css('stroke', symbol.fill)}</sld:Stroke></sld:Mark>"
                    "<sld:Size>8</sld:Size></sld:Graphic></sld:GraphicFill></sld:Fill>")
        else:
            fill = (f"<sld:Fill>{css('fill', symbol.fill)}"
                    f"{css('fill-opacity', symbol.opacity)}</sld:Fill>")
    if style.geometry == "point":
        return ("<sld:PointSymbolizer><sld:Graphic><sld:Mark>"
                f"<sld:WellKnownName>circle</sld:WellKnownName>{fill}{sld_stroke(symbol)}"
                f"</sld:Mark><sld:Size>{round(symbol.size * 4, 1)}</sld:Size>"
                "</sld:Graphic></sld:PointSymbolizer>")
    if style.geometry == "line":
        return f"<sld:LineSymbolizer>{sld_stroke(symbol)}</sld:LineSymbolizer>"
    return f"<sld:PolygonSymbolizer>{fill}{sld_stroke(symbol)}</sld:PolygonSymbolizer>"


def sld_label_rule(style: Style) -> str:
    if not style.label:
        return ""
    placement = ("<sld:LinePlacement/>" if style.geometry == "line" else
                 "<sld:PointPlacement><sld:AnchorPoint><sld:AnchorPointX>0.5</sld:AnchorPointX>"
                 "<sld:AnchorPointY>0.5</sld:AnchorPointY></sld:AnchorPoint></sld:PointPlacement>")
    return (f"<sld:Rule><sld:Name>label</sld:Name><sld:Title>标注</sld:Title>"
            f"<sld:MaxScaleDenominator>{style.label_max_scale}</sld:MaxScaleDenominator>"
            f"<sld:TextSymbolizer><sld:Label>{ogc_prop(style.label)}</sld:Label>"
            f"<sld:Font>{css('font-family', CJK_FONT)}{css('font-size', 12)}</sld:Font>"
            f"<sld:LabelPlacement>{placement}</sld:LabelPlacement>"
            f"<sld:Halo><sld:Radius>1.5</sld:Radius><sld:Fill>{css('fill', '#ffffff')}"
            f"</sld:Fill></sld:Halo><sld:Fill>{css('fill', '#212121')}</sld:Fill>"
            "</sld:TextSymbolizer></sld:Rule>")


def to_sld(style: Style) -> str:
    rules = []
    for i, rule in enumerate(style.rules):
        flt = (f"<ogc:Filter>{ogc_filter(rule.filter)}</ogc:Filter>"
               if rule.filter is not None else "")
        scale = (f"<sld:MaxScaleDenominator>{rule.max_scale}</sld:MaxScaleDenominator>"
                 if rule.max_scale else "")
        rules.append(f"<sld:Rule><sld:Name>r{i}</sld:Name><sld:Title>{escape(rule.title)}"
                     f"</sld:Title>{flt}{scale}{sld_symbolizer(style, rule.symbol)}</sld:Rule>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sld:StyledLayerDescriptor version="1.0.0" '
        'xmlns:sld="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.opengis.net/sld '
        'http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd">\n'
        f"<sld:NamedLayer><sld:Name>{style.cid}</sld:Name><sld:UserStyle>"
        f"<sld:Name>{style.cid}</sld:Name><sld:Title>{escape(style.title)}</sld:Title>\n"
        f"<sld:FeatureTypeStyle>\n{chr(10).join(rules)}\n{sld_label_rule(style)}\n"
        "</sld:FeatureTypeStyle></sld:UserStyle></sld:NamedLayer>\n"
        "</sld:StyledLayerDescriptor>\n")


# ---------------------------------------------------------------------------
# MapLibre style expressions and style document
# ---------------------------------------------------------------------------


def ml_expr(flt: Filter) -> list[Any]:
    op = flt[0]
    if op in ("and", "or"):
        return ["all" if op == "and" else "any", *(ml_expr(f) for f in flt[1:])]
    if op == "not":
        return ["!", ml_expr(flt[1])]
    get = ["get", flt[1]]
    if op == "eq":
        return ["==", get, flt[2]]
    if op == "in":
        return ["in", get, ["literal", flt[2]]]
    if op == "true":
        return ["==", get, True]
    if op == "null":
        return ["!", ["has", flt[1]]]
    if op == "slice_eq":
        return ["==", ["slice", ["to-string", get], flt[2], flt[3]], flt[4]]
    if op == "due":
        return ["<=", ["to-string", get], ["global-state", "today"]]
    if op == "not_this_month":
        return ["!=", ["slice", ["to-string", ["coalesce", get, ""]], 0, 7],
                ["global-state", "month"]]
    raise ValueError(op)


def ml_layers(style: Style, index: int, rule: Rule) -> list[dict[str, Any]]:
    base: dict[str, Any] = {"source": style.cid}
    if style.cid in TILED:
        base["source-layer"] = style.cid
    if rule.filter is not None:
        base["filter"] = ml_expr(rule.filter)
    if rule.max_scale:
        # Scale 1:max_scale at 34°N is about zoom log2(559082264 * cos(34°) / max_scale).
        base["minzoom"] = {50000: 13, 25000: 14, 20000: 14, 10000: 15, 5000: 16}.get(
            rule.max_scale, 12)
    sym = rule.symbol
    name = f"{style.cid}-r{index}"
    meta = {"metadata": {"title": rule.title}}
    if style.geometry == "point":
        paint = {"circle-radius": round(sym.size * 1.9, 1),
                 "circle-color": sym.fill or "#000000",
                 "circle-opacity": sym.opacity if sym.fill else 0,
                 "circle-stroke-color": sym.stroke or "#000000",
                 "circle-stroke-width": round(sym.width * 4, 1) if sym.stroke else 0}
        return [{"id": name, "type": "circle", **base, "paint": paint, **meta}]
    line = {"line-color": sym.stroke, "line-width": round(sym.width * 4, 1)}
    if sym.dash:
        line["line-dasharray"] = [3, 2]
    if style.geometry == "line":
        return [{"id": name, "type": "line", **base, "paint": line,
                 "layout": {"line-cap": "round", "line-join": "round"}, **meta}]
    layers = []
    if sym.fill is not None:
        layers.append({"id": f"{name}-fill", "type": "fill", **base, "paint": {
            "fill-color": sym.fill, "fill-opacity": 0.3 if sym.hatch else sym.opacity}, **meta})
    if sym.stroke is not None:
        layers.append({"id": f"{name}-line", "type": "line", **base, "paint": line, **meta})
    return layers


def to_maplibre(style: Style) -> dict[str, Any]:
    if style.cid in TILED:
        source: dict[str, Any] = {"type": "vector", "tiles": [TILE_PATH.format(cid=style.cid)],
                                  "minzoom": 0, "maxzoom": 16}
    else:
        source = {"type": "geojson", "data": ITEMS_PATH.format(cid=style.cid)}
    layers = [layer for i, rule in enumerate(style.rules)
              for layer in ml_layers(style, i, rule)]
    return {
        "version": 8,
        "name": style.title,
        "metadata": {"gridgeo:collection": style.cid,
                     "gridgeo:note": "URLs are relative to the gridgeo server; set the global "
                                     "state 'today' (YYYY-MM-DD) and 'month' (YYYY-MM)."},
        "state": {"today": {"default": "1970-01-01"}, "month": {"default": "1970-01"}},
        "sources": {style.cid: source},
        "layers": layers,
    }


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
