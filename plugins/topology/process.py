"""The grid-topology OGC API process: "no gaps, no overlaps, full coverage", checked."""

from __future__ import annotations

from typing import Any

from pygeoapi.process.base import BaseProcessor

from gridgeo.db.pool import connection
from gridgeo.geometry.layer import metric_srid
from gridgeo.geometry.progress import Progress, job_progress, no_progress, step
from gridgeo.process_errors import process_errors

from .compute import TopologyResult, check_topology
from .inputs import TopologyRequest, parse_topology_request
from .report import problems_collection
from .source import read_grids

PROCESS_ID = "grid-topology"

PROCESS_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": PROCESS_ID,
    "title": {"en": "Grid topology check", "zh": "网格拓扑检查"},
    "description": {
        "en": "Checks 'no gaps, no overlaps, full coverage' (不留空白、不交叉重叠): gaps "
              "between sibling basic grids, overlaps, children that do not exactly cover "
              "their parent, invalid geometries and codes that do not match the parent's. "
              "Dedicated grids are checked for validity and for lying inside their village. "
              "Each problem comes with its location, size, the grids involved and a "
              "suggested fix.",
        "zh": "检查网格是否不留空白、不交叉重叠、全覆盖：同级基础网格间的空隙与重叠、"
              "子网格是否恰好覆盖上级网格、无效几何、编码与上级是否一致；专属网格只检查几何"
              "有效性及是否位于所属村（社区）内。每个问题给出位置、面积、涉及网格和修改建议。"},
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["topology", "网格", "coverage", "gaps", "overlaps"],
    "links": [],
    "inputs": {
        "level": {"title": "Level", "description": "all (default), town, area, village, unit "
                  "or micro", "schema": {"type": "string", "default": "all",
                                         "enum": ["all", "town", "area", "village", "unit",
                                                  "micro"]},
                  "minOccurs": 0, "maxOccurs": 1},
        "within": {"title": "Within", "description": "only the grids under this town, village "
                   "or unit code", "schema": {"type": "string"}, "minOccurs": 0,
                   "maxOccurs": 1},
        "min_problem_area_m2": {"title": "Smallest problem area", "description": "gaps, "
                                "overlaps and outside parts below this area (m²) are not "
                                "reported (default 1)", "schema": {"type": "number",
                                                                   "minimum": 0, "default": 1},
                                "minOccurs": 0, "maxOccurs": 1},
        "max_problems": {"title": "Problems returned", "description": "largest first "
                         "(default 10,000)", "schema": {"type": "integer", "minimum": 1,
                                                        "maximum": 50000, "default": 10000},
                         "minOccurs": 0, "maxOccurs": 1},
    },
    "outputs": {
        "problems": {"title": "Problems", "description": "a FeatureCollection of problems with "
                     "a summary member", "schema": {"type": "object", "contentMediaType":
                                                    "application/geo+json"}},
    },
    "example": {"inputs": {"level": "unit"}},
}


def run_topology(request: TopologyRequest, progress: Progress = no_progress
                 ) -> TopologyResult:
    """Read the grids from PostGIS and check them; reports progress for a job manager."""
    with connection() as conn:
        progress(0.0, "reading grids")
        srid = metric_srid(conn)
        grids = read_grids(conn, request, srid)
    checking = step(progress, 0.2, 1.0, "checking")
    return check_topology(grids, request.levels, request.rules,
                          lambda fraction, _message: checking(fraction))


class GridTopologyProcessor(BaseProcessor):
    def __init__(self, processor_def: dict[str, Any]):
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict[str, Any], outputs: Any = None) -> tuple[str, Any]:
        with process_errors(PROCESS_ID):
            request = parse_topology_request(data)
            result = run_topology(request, job_progress)
            return "application/json", problems_collection(result, request.max_problems)
