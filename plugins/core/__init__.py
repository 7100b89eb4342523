"""Core schema: deployment settings, departments, staff, and the process jobs queue."""

from __future__ import annotations

from pathlib import Path

from gridgeo import hookimpl
from gridgeo.catalog import load_migrations
from gridgeo.contributions import Migration


@hookimpl
def gridgeo_migrations() -> list[Migration]:
    here = Path(__file__).parent
    return [*load_migrations("core", here / "schema"),
            *load_migrations("jobs", here / "jobs_schema")]
