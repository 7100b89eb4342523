"""The town's reports (周报 / 月报 / 季报) as stored documents.

``town-report`` makes one on demand, a scheduled task each period's on the colours'
rhythm; ``/reports`` lists them with links to their HTML, PDF, CSV and XLSX files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint

from gridgeo import hookimpl
from gridgeo.catalog import load_migrations
from gridgeo.contributions import Migration, ProcessContribution, ScheduledTask


@hookimpl
def gridgeo_migrations() -> list[Migration]:
    return list(load_migrations("reports", Path(__file__).parent / "schema"))


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.reports.routes import blueprint

    return [blueprint]


@hookimpl
def gridgeo_processes() -> list[ProcessContribution]:
    from gridgeo.security.access import STAFF

    return [ProcessContribution("town-report", "gridgeo_plugins.reports.process.TownReport",
                                access={"execute": list(STAFF)})]


@hookimpl
def gridgeo_scheduled_tasks() -> list[ScheduledTask]:
    from gridgeo_plugins.reports.schedule import TICK_SECONDS, make_due_reports

    return [ScheduledTask("town-reports", TICK_SECONDS, make_due_reports)]


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, Any]]:
    from gridgeo_plugins.reports.openapi import report_paths

    return report_paths()
