"""Do codes follow the layout and match the parent's code?

Unit = village 12 + 3 digits, micro = unit + 2, village = town 9 + 3 digits under an
area (town 9 + 'P' + 2 digits); the database checks most of this on write, but data
imported around it (or a relaxed constraint) is still checked here.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

from gridgeo.geometry.layer import Layer

from .problems import Problem

LEVELS = ("town", "area", "village", "unit", "micro")
PARENT_LEVEL = {"area": "town", "village": "area", "unit": "village", "micro": "unit"}
CODE_FORMAT = {
    "town": re.compile(r"^[0-9]{9}$"),
    "area": re.compile(r"^[0-9]{9}P[0-9]{2}$"),
    "village": re.compile(r"^[0-9]{12}$"),
    "unit": re.compile(r"^[0-9]{15}$"),
    "micro": re.compile(r"^[0-9]{17}$"),
}
FORMAT_WORDS = {"town": "9 digits", "area": "the town's 9 digits, 'P' and 2 digits",
                "village": "12 digits", "unit": "the village's 12 digits and 3 more",
                "micro": "the unit's 15 digits and 2 more"}


def expected_parent_prefix(level: str, code: str) -> str:
    """What the parent's code must be (area: the town), or start with (village: the town)."""
    return {"area": code[:9], "village": code[:9], "unit": code[:12], "micro": code[:15]}[level]


def parent_matches(level: str, code: str, parent: str) -> bool:
    if level == "village":
        return parent[:9] == code[:9] and CODE_FORMAT["area"].match(parent) is not None
    return parent == expected_parent_prefix(level, code)


def code_problems(grids: Layer, rows: NDArray[np.intp], level: str,
                  parents: dict[str, str]) -> list[Problem]:
    """Code layout, parent prefix and parent existence of the grids at ``rows``.

    ``parents`` maps every grid code of the parent level to that level.
    """
    problems = []
    codes, parent_codes = grids.codes, grids.attributes["parent_code"]
    for i in rows[~codes_look_right(grids, rows, level, parents)]:
        code, parent = str(codes[i]), parent_codes[i]
        geom = grids.geoms[i]
        if not CODE_FORMAT[level].match(code):
            problems.append(Problem(
                "code_format", level, (code,), geom, None,
                f"code {code} of a {level} grid is not {FORMAT_WORDS[level]}",
                f"recode grid {code} as {FORMAT_WORDS[level]}", {"action": "recode"}, parent))
            continue
        if level == "town":
            continue
        if parent is None or not parent_matches(level, code, parent):
            want = expected_parent_prefix(level, code)
            problems.append(Problem(
                "code_parent_mismatch", level, (code,), geom, None,
                f"code {code} does not match its parent code {parent}",
                f"set parent_code to {want}" if level != "village" else
                f"set parent_code to an area of town {want}", {"action": "set_parent",
                                                              "parent_code": want}, parent))
        elif parents.get(parent) != PARENT_LEVEL[level]:
            problems.append(Problem(
                "missing_parent", level, (code,), geom, None,
                f"parent {parent} of grid {code} is not a {PARENT_LEVEL[level]} grid",
                f"create {PARENT_LEVEL[level]} grid {parent} or move grid {code} under an "
                "existing one", {"action": "create_parent", "parent_code": parent}, parent))
    return problems


def codes_look_right(grids: Layer, rows: NDArray[np.intp], level: str,
                     parents: dict[str, str]) -> NDArray[np.bool_]:
    """A fast first pass: True where the code, its parent's prefix and the parent's level
    are all right, so only the other rows need a sentence."""
    pattern, codes = CODE_FORMAT[level], grids.codes[rows].tolist()
    if level == "town":
        return np.array([pattern.match(c) is not None for c in codes], dtype=bool)
    parent_level = PARENT_LEVEL[level]
    found = grids.attributes["parent_code"][rows].tolist()
    return np.array([pattern.match(c) is not None and p is not None
                     and parent_matches(level, c, p) and parents.get(p) == parent_level
                     for c, p in zip(codes, found, strict=True)], dtype=bool)
