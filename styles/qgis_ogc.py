"""A style as QGIS writes it (QML with QGIS expressions) and as OGC SLD 1.0 (OGC Filter)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from style_model import CJK_FONT, Filter, Style, Symbol

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


def qml_categories(style: Style) -> str:
    # scale-based visibility is in QGIS's Rendering category
    return "Symbology|Labeling|Rendering" if style.layer_max_scale else "Symbology|Labeling"


def qml_scale_range(style: Style) -> str:
    """The layer's scale range (QGIS 3: minScale is the most zoomed-out denominator)."""
    if not style.layer_max_scale:
        return ""
    return f' hasScaleBasedVisibilityFlag="1" minScale="{style.layer_max_scale}" maxScale="0"'


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
        f'<qgis version="3.22.16" styleCategories="{qml_categories(style)}" '
        f'labelsEnabled="{1 if style.label else 0}"{qml_scale_range(style)}>\n'
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
