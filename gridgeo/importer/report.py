"""The import report as people read it, and as JSON for other programs."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from .problems import ImportReport, Reject

MAX_LISTED = 200  # per layer; the JSON report keeps them all


def report_text(report: ImportReport) -> str:
    lines = []
    for layer in report.layers:
        counts = ", ".join(f"{v} {k}" for k, v in layer.counts.items())
        lines.append(f"{layer.name}: {layer.rows} rows" + (f"; {counts}" if counts else ""))
        lines += [f"  note: {n}" for n in layer.notes]
        lines += _rejects(layer.rejects)
        lines += [f"  problem: {p.sentence()}" for p in layer.problems[:MAX_LISTED]]
    rejects, problems = len(report.rejects), len(report.problems)
    if report.dry_run:
        verdict = ("dry run: nothing was written" + ("" if report.clean else
                   f"; {rejects} rejects and {problems} problems would stop the import"))
    elif report.written:
        verdict = "import written" + ("" if report.clean else
                                      f", leaving out {rejects} rejected rows as accepted"
                                      f" and {problems} problems listed")
    else:
        verdict = "nothing written: " + _refusal(rejects, problems)
    lines.append(verdict)
    return "\n".join(lines)


def _refusal(rejects: int, problems: int) -> str:
    """Why nothing was written, and exactly what --accept-rejects would do instead."""
    found = " and ".join(part for part in (
        f"{rejects} rejected row{'s' if rejects != 1 else ''}" if rejects else "",
        f"{problems} problem{'s' if problems != 1 else ''} among the grids" if problems else "",
    ) if part)
    would = ", ".join(part for part in (
        "leave the rejected rows out and write the rest" if rejects else "",
        "write the grids with the listed problems as they are" if problems else "") if part)
    after = (" (a later re-import of the same files is then not refused for those problems)"
             if problems else "")
    return (f"{found}. Fix the source or the mapping, or run again with --accept-rejects to "
            f"{would}{after}")


def _rejects(rejects: list[Reject]) -> list[str]:
    """Each reject's sentence; a cause many rows share once, with how many and which."""
    lines: list[str] = []
    shared: dict[str, list[Reject]] = {}
    for reject in rejects:
        if reject.cause:
            shared.setdefault(reject.cause, []).append(reject)
    alone = [r for r in rejects if not r.cause]
    for cause, group in shared.items():
        rows = ", ".join(str(r.row) for r in group[:10]) + (", ..." if len(group) > 10 else "")
        lines.append(f"  reject: {len(group)} row{'s' if len(group) > 1 else ''} ({rows}): "
                     f"{cause}")
    for reject in alone[:MAX_LISTED]:
        lines.append(f"  reject: {reject.sentence()}")
    if len(alone) > MAX_LISTED:
        lines.append(f"  ... and {len(alone) - MAX_LISTED} more rejects (see --report FILE)")
    return lines


def report_json(report: ImportReport) -> str:
    data: dict[str, Any] = asdict(report)
    data["clean"] = report.clean
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
