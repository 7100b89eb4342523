"""What a style is: rules of a filter and a symbol, per collection (see make_styles.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CJK_FONT = "Noto Sans CJK SC"

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
    # A dense layer's own limit: QGIS draws it, and requests its features, only at
    # scales larger than 1:layer_max_scale (a rule's limit still has every feature fetched).
    layer_max_scale: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def fields_of(flt: Filter | None) -> set[str]:
    """Property names a filter reads."""
    if flt is None:
        return set()
    if flt[0] in ("and", "or"):
        return set().union(*(fields_of(f) for f in flt[1:]))
    if flt[0] == "not":
        return fields_of(flt[1])
    return {flt[1]}
