"""Core: the schema (deployment settings, departments, staff, the process jobs queue,
history partitioned by month), ``GET /me`` (who the caller is), the operations routes
(/healthz, /readyz, /metrics) with their gauges, and the task keeping partitions ahead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from flask import Blueprint

from gridgeo import hookimpl
from gridgeo.catalog import load_migrations
from gridgeo.contributions import Gauge, Migration, ScheduledTask

# Partitions are made three months ahead (core/013): a daily look is plenty.
PARTITIONS_EVERY_S = 86_400


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
        Gauge("gridgeo_history_default_partition_rows", "Rows of the history in DEFAULT "
              "partitions: no month partition took them (core/013); alert above 0",
              "SELECT gridgeo.default_partition_rows()"),
    ]


def keep_partitions_ahead(conn: psycopg.Connection) -> str:
    """Make the month partitions the history needs next (and move stray rows in)."""
    made = conn.execute("SELECT gridgeo.keep_partitions_ahead()").fetchone()
    return f"{made[0] if made else 0} partition(s) made"


@hookimpl
def gridgeo_scheduled_tasks() -> list[ScheduledTask]:
    return [ScheduledTask("history-partitions", PARTITIONS_EVERY_S, keep_partitions_ahead)]


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
