"""The topology check: "no gaps, no overlaps, full coverage" (不留空白、不交叉重叠).

For each level of basic grids: invalid geometries, codes that do not fit the parent,
overlaps between grids of the level, children outside their parent and gaps their
parent leaves. Dedicated grids overlay basic grids by design: they are checked only
for validity and for lying inside their village. Everything is measured in the
layer's metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from gridgeo.geometry.layer import Layer
from gridgeo.geometry.parallel import threaded_validity
from gridgeo.geometry.polygonal import polygonal
from gridgeo.geometry.progress import Progress, no_progress
from gridgeo.grid_codes import LEVELS, PARENT_LEVEL

from .codes import code_problems
from .cover import cover_problems, overlap_problems, suspect_children
from .problems import Problem


@dataclass(frozen=True)
class TopologyRules:
    """Gaps, overlaps and outside parts smaller than this are not reported."""

    min_problem_area_m2: float = 1.0


@dataclass(frozen=True)
class TopologyResult:
    srid: int
    levels: tuple[str, ...]
    checked: dict[str, int]  # grids checked per level, and "dedicated"
    problems: list[Problem]


def check_topology(grids: Layer, levels: tuple[str, ...] = LEVELS,
                   rules: TopologyRules | None = None, progress: Progress = no_progress,
                   workers: int | None = None) -> TopologyResult:
    """Every problem of the given levels.

    ``grids`` holds the grids of those levels and of their parent levels, with the
    attributes ``level``, ``kind``, ``parent_code`` and ``village_code``.
    """
    rules = rules or TopologyRules()
    progress(0.0, "checking geometries")
    grids, problems = valid_geometries(grids, levels, workers)
    level_of, kind = grids.attributes["level"], grids.attributes["kind"]
    parents = {str(c): str(lv) for c, lv in zip(grids.codes, level_of, strict=True)}
    checked: dict[str, int] = {}
    for n, level in enumerate(levels):
        progress(0.05 + 0.9 * n / len(levels), f"checking {level} grids")
        rows = np.flatnonzero((level_of == level) & (kind == "basic"))
        checked[level] = len(rows)
        problems += level_problems(grids, rows, level, parents, rules, workers)
    if "unit" in levels:
        dedicated = np.flatnonzero(kind == "dedicated")
        checked["dedicated"] = len(dedicated)
        problems += dedicated_problems(grids, dedicated, rules.min_problem_area_m2)
    progress(1.0, "done")
    return TopologyResult(grids.srid, levels, checked, problems)


def valid_geometries(grids: Layer, levels: tuple[str, ...], workers: int | None = None
                     ) -> tuple[Layer, list[Problem]]:
    """The grids with invalid geometries repaired, and a problem for each checked one."""
    invalid = np.flatnonzero(~threaded_validity(grids.geoms, workers))
    if len(invalid) == 0:
        return grids, []
    reasons = shapely.is_valid_reason(grids.geoms[invalid])
    level_of, kind = grids.attributes["level"], grids.attributes["kind"]
    problems = [Problem(
        "invalid_geometry", str(level_of[i]), (str(grids.codes[i]),), grids.geoms[i], None,
        f"the geometry of grid {grids.codes[i]} is invalid: {reason}",
        "redraw the boundary without self-intersections or repeated rings",
        {"action": "redraw", "grid_code": str(grids.codes[i])})
        for i, reason in zip(invalid, reasons, strict=True)
        if level_of[i] in levels or (kind[i] == "dedicated" and "unit" in levels)]
    geoms = grids.geoms.copy()
    geoms[invalid] = polygonal(shapely.make_valid(geoms[invalid]))
    return Layer(grids.srid, grids.codes, geoms, dict(grids.attributes)), problems


def level_problems(grids: Layer, rows: NDArray[np.intp], level: str, parents: dict[str, str],
                   rules: TopologyRules, workers: int | None) -> list[Problem]:
    problems = code_problems(grids, rows, level, parents)
    min_area = rules.min_problem_area_m2
    parent_rows = np.flatnonzero((grids.attributes["level"] == PARENT_LEVEL.get(level))
                                 & (grids.attributes["kind"] == "basic"))
    if len(parent_rows) == 0:  # the top level, or no parents loaded: check every grid
        return problems + overlap_problems(grids, rows, rows, level, min_area, workers)
    owner, suspects, untiled = suspect_children(grids, rows, parent_rows, level, workers)
    problems += overlap_problems(grids, rows, suspects, level, min_area, workers)
    problems += cover_problems(grids, rows, owner, parent_rows, untiled, level, min_area)
    return problems


def dedicated_problems(grids: Layer, rows: NDArray[np.intp],
                       min_area_m2: float) -> list[Problem]:
    """Dedicated grids must lie inside their village (they may overlay basic grids)."""
    villages = {str(c): i for i, c in enumerate(grids.codes)
                if grids.attributes["level"][i] == "village"}
    problems = []
    for i in rows:
        code = str(grids.codes[i])
        village_code = str(grids.attributes["village_code"][i] or code[:12])
        village = villages.get(village_code)
        if village is None:
            problems.append(Problem(
                "missing_parent", "unit", (code,), grids.geoms[i], None,
                f"village {village_code} of dedicated grid {code} does not exist",
                f"create village {village_code} or recode grid {code}",
                {"action": "create_parent", "parent_code": village_code}, village_code))
            continue
        outside = polygonal(np.array([shapely.difference(grids.geoms[i],
                                                         grids.geoms[village])]))[0]
        area = float(shapely.area(outside))
        if area >= min_area_m2:
            problems.append(Problem(
                "dedicated_outside_village", "unit", (code,), outside, area,
                f"{area:.1f} m² of dedicated grid {code} lie outside village {village_code}",
                f"trim dedicated grid {code} to village {village_code}",
                {"action": "trim_to_parent", "grid_code": code}, village_code))
    return problems
