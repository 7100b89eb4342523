"""The police-grid-overlap OGC API process (警网融合: which officer answers for each grid)."""

from __future__ import annotations

from typing import Any

from pygeoapi.process.base import BaseProcessor

from gridgeo.geometry.progress import job_progress
from gridgeo.process_errors import process_errors

from .inputs import parse_overlap_request
from .run import overlap_outputs, run_overlap

PROCESS_ID = "police-grid-overlap"


def _input(title: str, description: str, schema: dict[str, Any],
           min_occurs: int = 0) -> dict[str, Any]:
    return {"title": title, "description": description, "schema": schema,
            "minOccurs": min_occurs, "maxOccurs": 1}


_CODES = {"type": "array", "items": {"type": "string"}, "maxItems": 10_000}

PROCESS_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": PROCESS_ID,
    "title": {"en": "Police grid overlap", "zh": "警格网格叠加分析"},
    "description": {
        "en": "Intersects governance grids with police grids in the metric CRS: every piece "
              "with its area and shares, each grid's dominant police grid and officers, "
              "split grids, slivers, parts no police grid covers and parts two cover. Writes "
              "the crosswalk (collection grid_police_crosswalk) for the grids computed.",
        "zh": "在米制坐标系中叠加网格与警格：相交部分及面积占比、每个网格的主责警格与民警、"
              "被分割的网格、碎片、未覆盖与重复覆盖的区域；并写入网格警格对照表。"},
    "jobControlOptions": ["sync-execute", "async-execute"],
    # Storing needs the write right on the crosswalk (gridgeo.process_writes).
    "writes": {"collection": "grid_police_crosswalk", "input": "write_crosswalk"},
    "keywords": ["police grid", "警格", "警网融合", "overlap", "crosswalk"],
    "links": [],
    "inputs": {
        "level": _input("Grid level", "town, area, village, unit (default) or micro",
                        {"type": "string", "enum": ["town", "area", "village", "unit", "micro"],
                         "default": "unit"}),
        "kind": _input("Grid kind", "basic (default), dedicated or all",
                       {"type": "string", "enum": ["basic", "dedicated", "all"],
                        "default": "basic"}),
        "grid_codes": _input("Grid codes", "these grids instead of a level (at most 10,000)",
                             _CODES),
        "bbox": _input("Bounding box", "grids that intersect [min lon, min lat, max lon, "
                       "max lat]", {"type": "array", "items": {"type": "number"},
                                    "minItems": 4, "maxItems": 4}),
        "police_codes": _input("Police grid codes", "only these police grids (default all); "
                               "the crosswalk is then not written", _CODES),
        "sliver_share": _input("Sliver share", "a piece below this share of its grid is a "
                               "sliver (default 0.02)", {"type": "number", "minimum": 0,
                                                         "maximum": 0.5, "default": 0.02}),
        "sliver_area_m2": _input("Sliver area", "a piece below this area (m²) is a sliver "
                                 "(default 100)", {"type": "number", "minimum": 0,
                                                   "default": 100}),
        "min_problem_area_m2": _input("Smallest problem area", "uncovered or double-covered "
                                      "parts below this area (m²) are not reported (default 1)",
                                      {"type": "number", "minimum": 0, "default": 1}),
        "write_crosswalk": _input("Write the crosswalk", "replace the crosswalk rows of the "
                                  "grids computed (default: true unless police_codes is given)",
                                  {"type": "boolean"}),
        "max_worst": _input("Worst mismatches listed", "in the summary (default 20)",
                            {"type": "integer", "minimum": 0, "maximum": 1000, "default": 20}),
    },
    "outputs": {
        "summary": {"title": "Summary", "description": "counts, areas, worst mismatches first",
                    "schema": {"type": "object", "contentMediaType": "application/json"}},
        "problems": {"title": "Problem areas", "description": "slivers, uncovered parts and "
                     "double cover, largest first, each with a suggested fix",
                     "schema": {"type": "object", "contentMediaType": "application/geo+json"}},
        "pieces": {"title": "Pieces", "description": "every grid ∩ police grid piece",
                   "schema": {"type": "object", "contentMediaType": "application/geo+json"}},
        "csv": {"title": "Office table", "description": "one row per grid: dominant police "
                "grid, officers, shares", "schema": {"type": "string",
                                                     "contentMediaType": "text/csv"}},
    },
    "example": {"inputs": {"level": "unit", "sliver_share": 0.02}},
}


class PoliceGridOverlapProcessor(BaseProcessor):
    """Runs synchronously; ``run_overlap`` takes a progress callback for a job manager."""

    def __init__(self, processor_def: dict[str, Any]):
        super().__init__(processor_def, PROCESS_METADATA)
        self.supports_outputs = True

    def execute(self, data: dict[str, Any], outputs: Any = None) -> tuple[str, Any]:
        with process_errors(PROCESS_ID):
            request = parse_overlap_request(data, outputs)
            return overlap_outputs(run_overlap(request, job_progress), request)
