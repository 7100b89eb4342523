"""/healthz (the process answers), /readyz (it can serve: database, schema, job workers)
and /metrics (Prometheus)."""

from __future__ import annotations

from typing import Any

import psycopg
from flask import Blueprint, Response

from gridgeo.jobs.heartbeat import ALIVE_WITHIN

OPS_ROUTES = ("/healthz", "/readyz", "/metrics")


def _json(body: dict[str, Any], status: int) -> Response:
    import orjson

    response = Response(orjson.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def readiness() -> dict[str, Any]:
    """Each check's result; ready when all are true."""
    from gridgeo.db.migrate import collect_migrations, pending_migrations
    from gridgeo.db.pool import connection
    from gridgeo.plugins import get_plugin_manager
    from gridgeo.settings import get_settings

    checks: dict[str, Any] = {"database": False, "migrations": False, "job_workers": False}
    try:
        with connection() as conn:
            checks["database"] = True
            pending = pending_migrations(conn, collect_migrations(get_plugin_manager()))
            checks["migrations"] = not pending
            if pending:
                checks["pending_migrations"] = [str(p) for p in pending]
            row = conn.execute("SELECT count(*) FROM gridgeo.job_workers WHERE heartbeat >"
                               " now() - %s::interval", (ALIVE_WITHIN,)).fetchone()
            alive = int(row[0]) if row else 0
    except psycopg.Error:
        return checks
    checks["job_workers_alive"] = alive
    checks["job_workers"] = alive > 0 or get_settings().job_workers == 0
    return checks


def health_blueprint() -> Blueprint:
    blueprint = Blueprint("gridgeo_ops", __name__)

    @blueprint.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"}, 200)

    @blueprint.get("/readyz")
    def readyz() -> Response:
        checks = readiness()
        ready = all(checks[k] for k in ("database", "migrations", "job_workers"))
        return _json({"status": "ready" if ready else "not ready", "checks": checks},
                     200 if ready else 503)

    @blueprint.get("/metrics")
    def metrics() -> Response:
        from gridgeo.ops.metrics import exposition

        body, content_type = exposition()
        response = Response(body, content_type=content_type)
        response.headers["Cache-Control"] = "no-store"
        return response

    return blueprint


def openapi_paths() -> dict[str, dict[str, Any]]:
    """The three routes as OpenAPI path items."""
    def get(summary: str, description: str, media: str, codes: dict[str, str]
            ) -> dict[str, Any]:
        return {"get": {"summary": summary, "description": description, "tags": ["server"],
                        "responses": {code: {"description": text, "content": {media: {}}}
                                      for code, text in codes.items()}}}

    return {
        "/healthz": get("Liveness", "The server process answers.", "application/json",
                        {"200": "alive"}),
        "/readyz": get("Readiness", "The database is reachable, its schema is current and "
                       "a job worker has sent a heartbeat lately.", "application/json",
                       {"200": "ready", "503": "not ready; the body names the failed check"}),
        "/metrics": get("Prometheus metrics", "Requests by route and status with latency, "
                        "job queue depth and age, overdue cases, connection pool use.",
                        "text/plain", {"200": "metrics in the Prometheus text format"}),
    }
