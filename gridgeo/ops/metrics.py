"""Prometheus metrics: requests by route and status with latency, jobs, overdue cases, pool.

gunicorn runs several worker processes; with PROMETHEUS_MULTIPROC_DIR set (``gridgeo
serve`` sets it to GRIDGEO_HOME/run/metrics before starting them) each process writes its
samples there and /metrics adds them up. Database figures are read at scrape time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

REQUEST_SECONDS = Histogram(
    "gridgeo_http_request_duration_seconds", "HTTP requests by route template, method and "
    "status, with their latency", ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)


class DatabaseCollector(Collector):
    """Figures read from the database when scraped: the plugins' gauges (jobs queued,
    the oldest one's age, overdue cases) and the connections gridgeo holds."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from gridgeo.db.pool import connection, get_pool
        from gridgeo.plugins import get_plugin_manager

        gauges = [g for batch in get_plugin_manager().hook.gridgeo_gauges() for g in batch]
        with connection() as conn:
            # Counts only, over every row: row-level security would count what the
            # (anonymous) scraper may see, not what the office has to do.
            conn.execute("SET LOCAL gridgeo.maintenance = 'on'")
            for gauge in gauges:
                row = conn.execute(gauge.sql).fetchone()  # type: ignore[arg-type]
                family = GaugeMetricFamily(gauge.name, gauge.documentation)
                family.add_metric([], float(row[0] or 0) if row else 0.0)
                yield family
            yield _connections(conn.execute(
                "SELECT state, count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'gridgeo' GROUP BY state").fetchall())
        yield _pool(get_pool().get_stats())


def _connections(rows: list[Any]) -> GaugeMetricFamily:
    family = GaugeMetricFamily("gridgeo_db_connections", "Connections of every gridgeo "
                               "process to the database, by state", labels=["state"])
    for state, count in rows:
        family.add_metric([state or "unknown"], float(count))
    return family


def _pool(stats: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily("gridgeo_pool_connections", "This worker process's "
                               "connection pool: size, in use and maximum", labels=["kind"])
    size = stats.get("pool_size", 0)
    family.add_metric(["size"], float(size))
    family.add_metric(["in_use"], float(size - stats.get("pool_available", 0)))
    family.add_metric(["max"], float(stats.get("pool_max", 0)))
    return family


def exposition() -> tuple[bytes, str]:
    """The metrics page and its content type."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
