"""The import report as people read it, and as JSON for other programs."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from .problems import ImportReport

MAX_LISTED = 200  # per layer; the JSON report keeps them all


def report_text(report: ImportReport) -> str:
    lines = []
    for layer in report.layers:
        counts = ", ".join(f"{v} {k}" for k, v in layer.counts.items())
        lines.append(f"{layer.name}: {layer.rows} rows" + (f"; {counts}" if counts else ""))
        lines += [f"  note: {n}" for n in layer.notes]
        for reject in layer.rejects[:MAX_LISTED]:
            lines.append(f"  reject: {reject.sentence()}")
        if len(layer.rejects) > MAX_LISTED:
            lines.append(f"  ... and {len(layer.rejects) - MAX_LISTED} more rejects "
                         "(see --report FILE)")
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
        verdict = (f"nothing written: {rejects} rejected rows and {problems} problems. Fix the "
                   "source or the mapping, or run again with --accept-rejects to write the "
                   "rest without them")
    lines.append(verdict)
    return "\n".join(lines)


def report_json(report: ImportReport) -> str:
    data: dict[str, Any] = asdict(report)
    data["clean"] = report.clean
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
