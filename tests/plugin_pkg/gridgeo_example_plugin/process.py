"""Counts the grids of one level: a process that reads gridgeo's database."""

from __future__ import annotations

from typing import Any

from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from gridgeo.db.pool import connection

PROCESS_METADATA = {
    "version": "0.1.0",
    "id": "count-grids",
    "title": {"en": "Count grids", "zh": "网格计数"},
    "description": {"en": "Counts the grids of a level.", "zh": "统计某一级网格的数量。"},
    "jobControlOptions": ["sync-execute"],
    "keywords": ["example"],
    "links": [],
    "inputs": {
        "level": {"title": "Level", "description": "town, area, village, unit or micro",
                  "schema": {"type": "string"}, "minOccurs": 1, "maxOccurs": 1},
    },
    "outputs": {
        "count": {"title": "Count", "schema": {"type": "object",
                                               "contentMediaType": "application/json"}},
    },
    "example": {"inputs": {"level": "unit"}},
}

LEVELS = ("town", "area", "village", "unit", "micro")


class CountGrids(BaseProcessor):
    def __init__(self, processor_def: dict[str, Any]):
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict[str, Any], outputs: Any = None) -> tuple[str, dict[str, Any]]:
        level = data.get("level")
        if level not in LEVELS:
            raise ProcessorExecuteError(
                user_msg=f"level must be one of {', '.join(LEVELS)}; got {level!r}")
        with connection() as conn:
            row = conn.execute("SELECT count(*) FROM gridgeo.grids WHERE level = %s",
                               (level,)).fetchone()
        count = row[0] if row else 0
        return "application/json", {"id": "count", "level": level, "count": count}
