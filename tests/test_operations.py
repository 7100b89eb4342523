"""Health, readiness, Prometheus metrics and request ids, through the running server."""

from __future__ import annotations

import json
import re
import uuid

import psycopg
import pytest
import requests

ITEMS_ROUTE = "/collections/<path:collection_id>/items"


def _sample(page: str, name: str, **labels: str) -> float:
    """One sample's value in a Prometheus text page (0 when absent)."""
    for line in page.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _metrics(base_url: str) -> str:
    response = requests.get(f"{base_url}/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.text


def test_health_and_readiness(base_url: str) -> None:
    assert requests.get(f"{base_url}/healthz", timeout=10).json() == {"status": "ok"}
    ready = requests.get(f"{base_url}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["database"] and checks["migrations"] and checks["job_workers"]
    # `gridgeo serve` started one job worker; it beats from its own process.
    assert checks["job_workers_alive"] >= 1


def test_requests_are_counted_across_gunicorn_workers(base_url: str) -> None:
    labels = {"route": ITEMS_ROUTE, "method": "GET", "status": "200"}
    before = _sample(_metrics(base_url), "gridgeo_http_request_duration_seconds_count",
                     **labels)
    for _ in range(6):  # two gunicorn workers: the answers come from both
        response = requests.get(f"{base_url}/collections/grids/items",
                                params={"limit": "1", "f": "json"}, timeout=30)
        assert response.status_code == 200
    missing = requests.get(f"{base_url}/collections/no_such/items", timeout=30)
    page = _metrics(base_url)
    assert _sample(page, "gridgeo_http_request_duration_seconds_count", **labels) == before + 6
    assert _sample(page, "gridgeo_http_request_duration_seconds_bucket", le="+Inf",
                   **labels) == before + 6
    assert _sample(page, "gridgeo_http_request_duration_seconds_count", route=ITEMS_ROUTE,
                   status=str(missing.status_code)) >= 1


def test_gauges_read_the_database(base_url: str, conn: psycopg.Connection) -> None:
    page = _metrics(base_url)
    overdue = conn.execute(
        "SELECT count(*) FROM gridgeo.incidents_view WHERE overdue").fetchone()
    assert overdue is not None and overdue[0] > 0  # the demo town has overdue cases
    assert _sample(page, "gridgeo_incidents_overdue") == overdue[0]
    queued = conn.execute("SELECT count(*) FROM gridgeo.jobs WHERE status = 'accepted'"
                          " AND queued").fetchone()
    assert queued is not None
    assert _sample(page, "gridgeo_jobs_queued") == queued[0]
    assert _sample(page, "gridgeo_job_workers_alive") >= 1
    assert _sample(page, "gridgeo_pool_connections", kind="max") == 8
    assert _sample(page, "gridgeo_db_connections", state="active") >= 1  # this scrape's own


def test_operations_routes_are_in_the_openapi_document(base_url: str) -> None:
    document = requests.get(f"{base_url}/openapi", params={"f": "json"}, timeout=60).json()
    for path in ("/healthz", "/readyz", "/metrics"):
        assert "200" in document["paths"][path]["get"]["responses"], path
    assert "503" in document["paths"]["/readyz"]["get"]["responses"]


def _server_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    logs = sorted(tmp_path_factory.getbasetemp().glob("server-home[0-9]*/server.log"))
    assert logs, "the session server writes its log under its home"
    return "\n".join(path.read_text(encoding="utf-8") for path in logs)


def test_request_id_is_answered_logged_and_kept_on_jobs(
        base_url: str, conn: psycopg.Connection,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    given = f"ops-{uuid.uuid4().hex[:12]}"
    started = requests.post(f"{base_url}/processes/grid-topology/execution",
                            json={"inputs": {"level": "unit"}},
                            headers={"Prefer": "respond-async", "X-Request-ID": given},
                            timeout=60)
    assert started.status_code == 201, started.text
    assert started.headers["X-Request-ID"] == given
    job_id = started.headers["Location"].rsplit("/", 1)[1]
    row = conn.execute("SELECT request_id FROM gridgeo.jobs WHERE job_id = %s",
                       (job_id,)).fetchone()
    assert row == (given,)

    # An id that is not a plain short token is replaced, never written to the log as is.
    made = requests.get(f"{base_url}/healthz", headers={"X-Request-ID": "a b\tc"}, timeout=10)
    made_id = made.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_id)

    lines = [json.loads(line) for line in _server_log(tmp_path_factory).splitlines()
             if line.startswith("{") and '"request_id"' in line]
    mine = [line for line in lines if line["request_id"] == given]
    assert len(mine) == 1
    assert mine[0]["route"] == "/processes/<process_id>/execution"
    assert mine[0]["method"] == "POST" and mine[0]["status"] == 201
    assert mine[0]["duration_ms"] >= 0
    assert [line["path"] for line in lines if line["request_id"] == made_id] == ["/healthz"]


def test_a_server_error_names_the_request_id() -> None:
    from flask import Flask

    from gridgeo.security.web import unexpected_error

    # The app's handler for any exception, in a request context of its own.
    with Flask(__name__).test_request_context("/", headers={"X-Request-ID": "req-500-check"}):
        response = unexpected_error(RuntimeError("boom"))
    assert response.status_code == 500
    body = json.loads(response.get_data())
    assert "req-500-check" in body["description"] and "boom" not in body["description"]

