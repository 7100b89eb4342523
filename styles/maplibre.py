"""A style as a MapLibre style document: vector tiles for the tiled collections (those
whose collection.yml declares ``tiles``), GeoJSON items for the others."""

from __future__ import annotations

from typing import Any

from style_model import Filter, Rule, Style

TILE_PATH = "/collections/{cid}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?f=mvt"
ITEMS_PATH = "/collections/{cid}/items?f=json&limit=10000"


def tiled_collections() -> set[str]:
    """The collections that declare vector tiles."""
    from gridgeo.plugins import build_plugin_manager

    pm = build_plugin_manager(load_entry_points=False)
    return {c.id for batch in pm.hook.gridgeo_collections() for c in batch
            if "tiles" in c.declarations}


TILED = tiled_collections()


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
