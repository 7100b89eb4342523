"""The grid-topology process's inputs, checked with sentences that say what to fix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gridgeo.grid_codes import LEVELS, PARENT_LEVEL
from gridgeo.process_errors import InputError, number

from .compute import TopologyRules

_WITHIN = re.compile(r"^[0-9]{9}([0-9]{3}([0-9]{3})?)?$")


@dataclass(frozen=True)
class TopologyRequest:
    levels: tuple[str, ...]
    within: str | None  # a town, village or unit code: only grids whose code starts with it
    rules: TopologyRules
    max_problems: int

    def levels_to_read(self) -> tuple[str, ...]:
        """The checked levels and their parents' levels."""
        wanted = set(self.levels) | {PARENT_LEVEL[lv] for lv in self.levels if lv in PARENT_LEVEL}
        return tuple(lv for lv in LEVELS if lv in wanted)


def parse_topology_request(data: dict[str, Any]) -> TopologyRequest:
    if not isinstance(data, dict):
        raise InputError("inputs must be a JSON object")
    known = {"level", "within", "min_problem_area_m2", "max_problems"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown input {unknown[0]!r}; the inputs are {', '.join(sorted(known))}")
    level = data.get("level", "all")
    if level != "all" and level not in LEVELS:
        raise InputError(f"level must be all or one of {', '.join(LEVELS)}; got {level!r}")
    within = data.get("within")
    if within is not None and (not isinstance(within, str) or not _WITHIN.match(within)):
        raise InputError("within must be the code of a town (9 digits), village (12) or unit "
                         "grid (15)")
    levels: tuple[str, ...] = LEVELS if level == "all" else (level,)
    if within is not None:
        levels = levels_below(within, levels)
    rules = TopologyRules(min_problem_area_m2=number(
        data, "min_problem_area_m2", TopologyRules.min_problem_area_m2, 0.0, 1e7))
    return TopologyRequest(
        levels=levels, within=within, rules=rules,
        max_problems=int(number(data, "max_problems", 10_000, 1, 50_000, integer=True)))


def levels_below(within: str, levels: tuple[str, ...]) -> tuple[str, ...]:
    """The requested levels under the level of the ``within`` code."""
    own = {9: "town", 12: "village", 15: "unit"}[len(within)]
    below = tuple(lv for lv in levels if LEVELS.index(lv) > LEVELS.index(own))
    if not below:
        raise InputError(f"within a {own} only the levels under it are checked: "
                         f"{', '.join(LEVELS[LEVELS.index(own) + 1:])}")
    return below
