"""Do codes follow the layout (``gridgeo.grid_codes``) and match the parent's code?

The database checks most of this on write, but data imported around it (or a relaxed
constraint) is still checked here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gridgeo.geometry.layer import Layer
from gridgeo.grid_codes import (
    CODE_FORMAT,
    FORMAT_WORDS,
    PARENT_LEVEL,
    expected_parent_prefix,
    parent_matches,
)

from .problems import Problem


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
