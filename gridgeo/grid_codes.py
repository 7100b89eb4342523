"""How grid codes are laid out: the levels, each level's code format and its parent's.

Unit = village 12 + 3 digits, micro = unit + 2, village = town 9 + 3 digits under an
area (town 9 + 'P' + 2 digits). The grids table checks this on write; the importer and
the grid-topology process check data that reached the table around it.
"""

from __future__ import annotations

import re

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
