"""One run of the overlap: read, compute, write the crosswalk, shape the outputs.

``run_overlap`` takes a progress callback so a job manager can report real
progress when the process runs asynchronously.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gridgeo.db.pool import connection
from gridgeo.geometry.layer import metric_srid
from gridgeo.geometry.progress import Progress, no_progress, step

from . import report
from .compute import OverlapResult, compute_overlap
from .crosswalk import write_crosswalk
from .inputs import OverlapRequest
from .source import read_grids, read_police_grids

GEOJSON = "application/geo+json"
CSV = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class OverlapRun:
    result: OverlapResult
    crosswalk_rows: int | None  # None: the crosswalk was not written


def run_overlap(request: OverlapRequest, progress: Progress = no_progress) -> OverlapRun:
    """Read the selection from PostGIS, compute, and replace its crosswalk rows.

    Reading and writing use two short transactions: no connection waits, idle in a
    transaction, while the computation runs.
    """
    with connection() as conn:
        progress(0.0, "reading grids and police grids")
        srid = metric_srid(conn)
        grids = read_grids(conn, request.grids, srid)
        police = read_police_grids(conn, request.grids, request.police_codes, srid)
    scaled = step(progress, 0.1, 0.7, "computing the overlap")
    result = compute_overlap(grids, police, request.rules,
                             lambda fraction, _message: scaled(fraction))
    rows = None
    if request.write_crosswalk:
        progress(0.7, "writing the crosswalk")
        with connection() as conn:
            rows = write_crosswalk(conn, result)
    progress(1.0, "done")
    return OverlapRun(result, rows)


def overlap_outputs(run: OverlapRun, request: OverlapRequest) -> tuple[str, Any]:
    """The requested outputs: one as itself (CSV, GeoJSON), several as one JSON object."""
    wanted = request.outputs
    grid_rows = report.grid_rows(run.result) if {"summary", "csv"} & set(wanted) else []
    values: dict[str, Any] = {}
    if "summary" in wanted:
        values["summary"] = report.summary(run.result, grid_rows, request.max_worst,
                                           run.crosswalk_rows)
    if "problems" in wanted:
        values["problems"] = report.problems_collection(run.result)
    if "pieces" in wanted:
        values["pieces"] = report.pieces_collection(run.result)
    if "csv" in wanted:
        values["csv"] = report.office_csv(grid_rows)
    if wanted == ("csv",):
        return CSV, values["csv"]
    if len(wanted) == 1:
        return GEOJSON if wanted[0] != "summary" else "application/json", (
            orjson.dumps(values[wanted[0]]) if wanted[0] != "summary" else values["summary"])
    return "application/json", {"id": "police-grid-overlap", **values}
