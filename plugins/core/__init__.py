"""Core: the schema (deployment settings, departments, staff, the process jobs queue),
``GET /me`` (who the caller is) and the operations routes (/healthz, /readyz, /metrics)
with their gauges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint

from gridgeo import hookimpl
from gridgeo.catalog import load_migrations
from gridgeo.contributions import Gauge, Migration


@hookimpl
def gridgeo_migrations() -> list[Migration]:
    here = Path(__file__).parent
    return [*load_migrations("core", here / "schema"),
            *load_migrations("jobs", here / "jobs_schema")]


@hookimpl
def gridgeo_gauges() -> list[Gauge]:
    return [
        Gauge("gridgeo_jobs_queued", "Async process jobs waiting for a worker",
              "SELECT count(*) FROM gridgeo.jobs WHERE status = 'accepted' AND queued"),
        Gauge("gridgeo_jobs_oldest_queued_seconds", "Age of the oldest job waiting for a "
              "worker (0 when none waits)",
              "SELECT coalesce(extract(epoch FROM now() - min(created)), 0) FROM gridgeo.jobs"
              " WHERE status = 'accepted' AND queued"),
        Gauge("gridgeo_jobs_running", "Jobs a worker is running",
              "SELECT count(*) FROM gridgeo.jobs WHERE status = 'running'"),
        Gauge("gridgeo_job_workers_alive", "Job workers with a heartbeat in the last minute",
              "SELECT count(*) FROM gridgeo.job_workers"
              " WHERE heartbeat > now() - interval '60 seconds'"),
    ]


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.core.me import blueprint

    from gridgeo.ops.health import health_blueprint

    return [health_blueprint(), blueprint]


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, Any]]:
    from gridgeo_plugins.core.me import openapi_path

    from gridgeo.ops.health import openapi_paths

    return {**openapi_paths(), "/me": openapi_path()}
