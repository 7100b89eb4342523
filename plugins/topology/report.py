"""What the grid-topology process returns: each problem as a feature, and a summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from gridgeo.geometry.geojson import feature_collection, geojson_geometries

from .compute import TopologyResult
from .problems import Problem


def sort_key(problem: Problem) -> tuple[float, str, tuple[str, ...]]:
    """Code and geometry problems first, then the largest areas."""
    return (-(problem.area_m2 if problem.area_m2 is not None else float("inf")),
            problem.kind, problem.grid_codes)


def problems_collection(result: TopologyResult, limit: int) -> dict[str, Any]:
    problems = sorted(result.problems, key=sort_key)
    shown = problems[:limit]
    geometries = geojson_geometries(np.array([p.geom for p in shown], dtype=object),
                                    result.srid)
    features = [{"type": "Feature", "geometry": geometry, "properties": properties(p)}
                for p, geometry in zip(shown, geometries, strict=True)]
    return feature_collection(features, numberMatched=len(problems),
                              numberReturned=len(features), summary=summary(result))


def properties(problem: Problem) -> dict[str, Any]:
    return {"problem": problem.kind, "level": problem.level,
            "grid_codes": list(problem.grid_codes), "parent_code": problem.parent_code,
            "area_m2": None if problem.area_m2 is None else round(problem.area_m2, 1),
            "detail": problem.detail, "suggested_fix": problem.suggested_fix,
            "fix": problem.fix}


def summary(result: TopologyResult) -> dict[str, Any]:
    counts = Counter(p.kind for p in result.problems)
    return {"metric_srid": result.srid, "levels": list(result.levels),
            "grids_checked": result.checked, "problems": dict(sorted(counts.items())),
            "ok": not result.problems}
