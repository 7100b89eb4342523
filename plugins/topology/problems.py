"""A topology problem: what is wrong, where, how big, which grids, and a suggested fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("invalid_geometry", "code_format", "code_parent_mismatch", "missing_parent",
         "overlap", "gap", "outside_parent", "dedicated_outside_village")


@dataclass(frozen=True)
class Problem:
    """One problem; ``geom`` is in the metric CRS, ``area_m2`` None for code problems."""

    kind: str
    level: str
    grid_codes: tuple[str, ...]
    geom: Any
    area_m2: float | None
    detail: str
    suggested_fix: str
    fix: dict[str, Any] = field(default_factory=dict)
    parent_code: str | None = None
