"""The police-grid-overlap process's inputs, checked with sentences that say what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridgeo.process_errors import InputError, number

from .compute import OverlapRules

LEVELS = ("town", "area", "village", "unit", "micro")
KINDS = ("basic", "dedicated", "all")
OUTPUTS = ("summary", "problems", "pieces", "csv")
MAX_CODES = 10_000
MAX_WORST = 1_000


@dataclass(frozen=True)
class GridSelection:
    """Which governance grids: a list of codes, or a level and kind, optionally in a bbox."""

    codes: tuple[str, ...] = ()
    level: str = "unit"
    kind: str = "basic"
    bbox: tuple[float, float, float, float] | None = None

    def describe(self) -> str:
        if self.codes:
            return f"the {len(self.codes)} grid codes given"
        where = f" in bbox {list(self.bbox)}" if self.bbox else ""
        kind = "" if self.kind == "all" else f"{self.kind} "
        return f"{kind}{self.level} grids{where}"


@dataclass(frozen=True)
class OverlapRequest:
    grids: GridSelection
    police_codes: tuple[str, ...]
    rules: OverlapRules
    write_crosswalk: bool
    outputs: tuple[str, ...]
    max_worst: int


def parse_overlap_request(data: dict[str, Any], outputs: Any = None) -> OverlapRequest:
    """Validated inputs; raises InputError with a sentence for the client."""
    if not isinstance(data, dict):
        raise InputError("inputs must be a JSON object")
    known = {"level", "kind", "grid_codes", "bbox", "police_codes", "sliver_share",
             "sliver_area_m2", "min_problem_area_m2", "write_crosswalk", "max_worst"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown input {unknown[0]!r}; the inputs are {', '.join(sorted(known))}")
    police_codes = code_list(data, "police_codes")
    write = data.get("write_crosswalk")
    if write is not None and not isinstance(write, bool):
        raise InputError("write_crosswalk must be true or false")
    if write and police_codes:
        raise InputError("write_crosswalk needs every police grid: drop police_codes, or set "
                         "write_crosswalk to false")
    rules = OverlapRules(
        sliver_share=number(data, "sliver_share", OverlapRules.sliver_share, 0.0, 0.5),
        sliver_area_m2=number(data, "sliver_area_m2", OverlapRules.sliver_area_m2, 0.0, 1e7),
        min_problem_area_m2=number(data, "min_problem_area_m2",
                                   OverlapRules.min_problem_area_m2, 0.0, 1e7))
    return OverlapRequest(
        grids=grid_selection(data), police_codes=police_codes, rules=rules,
        write_crosswalk=not police_codes if write is None else write,
        outputs=requested_outputs(outputs),
        max_worst=int(number(data, "max_worst", 20, 0, MAX_WORST, integer=True)))


def grid_selection(data: dict[str, Any]) -> GridSelection:
    codes = code_list(data, "grid_codes")
    if codes and ("level" in data or "kind" in data or "bbox" in data):
        raise InputError("give either grid_codes, or level/kind/bbox, not both")
    level = data.get("level", "unit")
    if level not in LEVELS:
        raise InputError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    kind = data.get("kind", "basic")
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return GridSelection(codes, level, kind, bbox_input(data.get("bbox")))


def code_list(data: dict[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
        raise InputError(f"{name} must be a list of code strings")
    if not value:
        raise InputError(f"{name} is empty; leave it out to select all")
    if len(value) > MAX_CODES:
        raise InputError(f"{name} lists {len(value)} codes; at most {MAX_CODES} are accepted, "
                         "select by level or bbox instead")
    return tuple(dict.fromkeys(value))


def bbox_input(value: Any) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 4
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        raise InputError("bbox must be four numbers: [min longitude, min latitude, "
                         "max longitude, max latitude]")
    x0, y0, x1, y1 = (float(v) for v in value)
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise InputError("bbox must be [min longitude, min latitude, max longitude, "
                         "max latitude] in degrees, each minimum below its maximum")
    return x0, y0, x1, y1


def requested_outputs(outputs: Any) -> tuple[str, ...]:
    """The outputs the client asked for (the execute request's ``outputs``); default all."""
    if not outputs:
        return OUTPUTS
    names = list(outputs) if isinstance(outputs, dict | list) else None
    if not names or not all(isinstance(n, str) for n in names):
        raise InputError(f"outputs must name some of {', '.join(OUTPUTS)}")
    bad = [n for n in names if n not in OUTPUTS]
    if bad:
        raise InputError(f"unknown output {bad[0]!r}; the outputs are {', '.join(OUTPUTS)}")
    return tuple(n for n in OUTPUTS if n in names)
