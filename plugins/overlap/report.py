"""What the police-grid-overlap process returns: pieces, problem areas, a summary, CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gridgeo.geometry.geojson import feature_collection, geojson_geometries

from .compute import OverlapResult

# Features returned in one response; the whole crosswalk is in its collection.
MAX_FEATURES = 50_000
CROSSWALK_COLLECTION = "grid_police_crosswalk"


def _attr(result: OverlapResult, layer: str, name: str) -> NDArray[np.object_]:
    source = result.grids if layer == "grids" else result.police
    return source.attributes.get(name, np.full(len(source), None, dtype=object))


def pieces_collection(result: OverlapResult, limit: int = MAX_FEATURES) -> dict[str, Any]:
    """Every piece (grid ∩ police grid) with its area and shares, by grid code."""
    pieces, grids, police = result.pieces, result.grids, result.police
    order = np.lexsort((police.codes[pieces.police], grids.codes[pieces.grid]))[:limit]
    geometries = geojson_geometries(pieces.geoms[order], grids.srid)
    grid_names, police_names = _attr(result, "grids", "name"), _attr(result, "police", "name")
    features = [{
        "type": "Feature", "id": f"{grids.codes[g]}~{police.codes[p]}", "geometry": geometry,
        "properties": {
            "grid_code": grids.codes[g], "grid_name": grid_names[g],
            "police_grid_code": police.codes[p], "police_grid_name": police_names[p],
            "area_m2": round(float(pieces.area_m2[i]), 1),
            "grid_share": round(float(pieces.grid_share[i]), 6),
            "police_grid_share": round(float(pieces.police_share[i]), 6),
            "dominant": bool(pieces.dominant[i]), "sliver": bool(pieces.sliver[i])}}
        for i, g, p, geometry in zip(order, pieces.grid[order], pieces.police[order], geometries,
                                     strict=True)]
    return feature_collection(features, numberMatched=len(pieces), numberReturned=len(features))


def problem_rows(result: OverlapResult) -> list[dict[str, Any]]:
    """Slivers, uncovered parts and double cover, largest first, with a suggested fix."""
    rows = _sliver_rows(result) + _uncovered_rows(result) + _double_rows(result)
    rows.sort(key=lambda row: (-row["area_m2"], row["grid_code"]))
    return rows


def problems_collection(result: OverlapResult, limit: int = MAX_FEATURES) -> dict[str, Any]:
    rows = problem_rows(result)
    shown = rows[:limit]
    geometries = geojson_geometries(np.array([r.pop("_geom") for r in shown], dtype=object),
                                    result.grids.srid)
    features = [{"type": "Feature", "geometry": geometry, "properties": row}
                for row, geometry in zip(shown, geometries, strict=True)]
    return feature_collection(features, numberMatched=len(rows), numberReturned=len(features))


def _dominant_code(result: OverlapResult, grid: int) -> str | None:
    piece = result.per_grid.dominant_piece[grid]
    return None if piece < 0 else str(result.police.codes[result.pieces.police[piece]])


def _sliver_rows(result: OverlapResult) -> list[dict[str, Any]]:
    pieces, grids, police = result.pieces, result.grids, result.police
    rows = []
    for i in np.flatnonzero(pieces.sliver):
        g, p = pieces.grid[i], pieces.police[i]
        dominant = _dominant_code(result, g)
        rows.append({
            "problem": "sliver", "grid_code": grids.codes[g],
            "police_grid_codes": [police.codes[p]],
            "area_m2": round(float(pieces.area_m2[i]), 1),
            "grid_share": round(float(pieces.grid_share[i]), 6),
            "suggested_fix": f"move the police boundary so this piece of grid {grids.codes[g]} "
                             f"goes from police grid {police.codes[p]} to {dominant}, the police "
                             "grid that covers most of the grid",
            "_geom": pieces.geoms[i]})
    return rows


def _uncovered_rows(result: OverlapResult) -> list[dict[str, Any]]:
    cov, grids = result.coverage, result.grids
    rows = []
    for g, geom, area in zip(cov.uncovered_grid, cov.uncovered_geoms, cov.uncovered_area_m2,
                             strict=True):
        dominant = _dominant_code(result, g)
        fix = (f"extend police grid {dominant} (it covers most of grid {grids.codes[g]}) "
               "over this part" if dominant else
               f"no police grid covers grid {grids.codes[g]}: draw one or extend a neighbour")
        rows.append({"problem": "uncovered", "grid_code": grids.codes[g],
                     "police_grid_codes": [], "area_m2": round(float(area), 1),
                     "grid_share": round(float(area / grids.areas[g]), 6),
                     "suggested_fix": fix, "_geom": geom})
    return rows


def _double_rows(result: OverlapResult) -> list[dict[str, Any]]:
    cov, grids, police = result.coverage, result.grids, result.police
    rows = []
    for g, pair, geom, area in zip(cov.double_grid, cov.double_police, cov.double_geoms,
                                   cov.double_area_m2, strict=True):
        a, b = (str(police.codes[k]) for k in pair)
        dominant = _dominant_code(result, g)
        keep = dominant if dominant in (a, b) else min(a, b)
        drop = b if keep == a else a
        rows.append({"problem": "double_covered", "grid_code": grids.codes[g],
                     "police_grid_codes": [a, b], "area_m2": round(float(area), 1),
                     "grid_share": round(float(area / grids.areas[g]), 6),
                     "suggested_fix": f"police grids {a} and {b} overlap here: cut it out of "
                                      f"{drop} and keep it in {keep}",
                     "_geom": geom})
    return rows


def grid_rows(result: OverlapResult) -> list[dict[str, Any]]:
    """One row per grid: its dominant police grid and officers, and how well they match."""
    grids, police, pieces, per = result.grids, result.police, result.pieces, result.per_grid
    names = _attr(result, "grids", "name")
    p_names, stations = _attr(result, "police", "name"), _attr(result, "police", "station_name")
    officers = _attr(result, "police", "officer_names")
    phones = _attr(result, "police", "officer_phones")
    others = _other_police(result)
    rows = []
    for g in range(len(grids)):
        piece = per.dominant_piece[g]
        p = pieces.police[piece] if piece >= 0 else None
        area = float(grids.areas[g])
        rows.append({
            "grid_code": grids.codes[g], "grid_name": names[g],
            "police_grid_code": None if p is None else police.codes[p],
            "police_grid_name": None if p is None else p_names[p],
            "station_name": None if p is None else stations[p],
            "officer_names": None if p is None else officers[p],
            "officer_phones": None if p is None else phones[p],
            "dominant_share": 0.0 if p is None else round(float(pieces.grid_share[piece]), 6),
            "pieces": int(per.piece_count[g]), "slivers": int(per.sliver_count[g]),
            "split": bool(per.split[g]),
            "uncovered_share": round(float(per.uncovered_m2[g] / area), 6),
            "double_covered_share": round(float(per.double_m2[g] / area), 6),
            "other_police_grids": others.get(g, "")})
    return rows


def _other_police(result: OverlapResult) -> dict[int, str]:
    pieces, police = result.pieces, result.police
    found: dict[int, list[str]] = {}
    for i in np.flatnonzero(~pieces.dominant):
        found.setdefault(int(pieces.grid[i]), []).append(
            f"{police.codes[pieces.police[i]]} ({pieces.grid_share[i]:.1%})")
    return {g: "; ".join(sorted(v)) for g, v in found.items()}


def summary(result: OverlapResult, rows: list[dict[str, Any]], max_worst: int,
            crosswalk_rows: int | None) -> dict[str, Any]:
    """Counts and areas, and the grids whose dominant police grid covers least first."""
    per, pieces = result.per_grid, result.pieces
    clean = (per.piece_count == 1) & (per.uncovered_m2 < result.rules.min_problem_area_m2)
    worst = sorted(rows, key=lambda r: (r["dominant_share"], r["grid_code"]))
    return {
        "metric_srid": result.grids.srid,
        "rules": {"sliver_share": result.rules.sliver_share,
                  "sliver_area_m2": result.rules.sliver_area_m2,
                  "min_problem_area_m2": result.rules.min_problem_area_m2},
        "grids": len(result.grids), "police_grids": len(result.police), "pieces": len(pieces),
        "grids_in_one_police_grid": int(clean.sum()),
        "split_grids": int(per.split.sum()),
        "grids_with_slivers": int((per.sliver_count > 0).sum()),
        "slivers": int(pieces.sliver.sum()),
        "grids_without_police_grid": int((per.piece_count == 0).sum()),
        "grids_partly_uncovered": len(result.coverage.uncovered_grid),
        "uncovered_m2": round(float(result.coverage.uncovered_area_m2.sum()), 1),
        "double_covered_m2": round(float(result.coverage.double_area_m2.sum()), 1),
        "invalid_grid_geometries": result.grids.codes[result.invalid_grids].tolist(),
        "invalid_police_grid_geometries": result.police.codes[result.invalid_police].tolist(),
        "worst": [{k: r[k] for k in ("grid_code", "grid_name", "police_grid_code",
                                     "officer_names", "dominant_share", "pieces",
                                     "uncovered_share", "double_covered_share")}
                  for r in worst[:max_worst] if r["dominant_share"] < 1.0],
        "crosswalk": {"collection": CROSSWALK_COLLECTION, "written": crosswalk_rows is not None,
                      "rows": crosswalk_rows or 0},
    }


CSV_COLUMNS = ("grid_code", "grid_name", "police_grid_code", "police_grid_name", "station_name",
               "officer_names", "officer_phones", "dominant_share", "pieces", "slivers", "split",
               "uncovered_share", "double_covered_share", "other_police_grids")


def office_csv(rows: list[dict[str, Any]]) -> str:
    """The per-grid table as CSV, with a byte-order mark so spreadsheet programs read UTF-8."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
