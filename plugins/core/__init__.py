"""Core schema: deployment settings, departments and staff shared by every collection."""

from __future__ import annotations

from pathlib import Path

from gridgeo import hookimpl
from gridgeo.catalog import load_migrations
from gridgeo.contributions import Migration


@hookimpl
def gridgeo_migrations() -> list[Migration]:
    return list(load_migrations("core", Path(__file__).parent / "schema"))
