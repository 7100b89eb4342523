"""The jobs table: what pygeoapi's manager interface and the workers read and write."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import orjson
from psycopg import sql
from psycopg.types.json import Jsonb

from gridgeo.db.pool import connection

_FIELDS = ("process_id", "status", "message", "progress", "created", "started", "updated",
           "finished", "mimetype")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def job_document(row: dict[str, Any]) -> dict[str, Any]:
    """A job as pygeoapi's API handlers expect it."""
    document = {"type": "process", "identifier": str(row["job_id"]), "location": None,
                **{k: _iso(row[k]) for k in _FIELDS}}
    # pygeoapi sorts the job list by `started`; a queued job has not started yet.
    document["started"] = document["started"] or document["created"]
    return document


def insert_job(job_id: str, process_id: str, status: str, message: str,
               identity: dict[str, Any], inputs: Any = None, requested_outputs: Any = None,
               requested_response: str | None = None, request_id: str | None = None) -> None:
    with connection() as conn:
        conn.execute(
            "INSERT INTO gridgeo.jobs (job_id, process_id, status, message, progress, identity,"
            " inputs, requested_outputs, requested_response, request_id)"
            " VALUES (%s, %s, %s, %s, 0, %s, %s, %s, %s, %s)",
            (job_id, process_id, status, message, Jsonb(identity), Jsonb(inputs),
             Jsonb(requested_outputs), requested_response, request_id))



def notify() -> None:
    """Wake idle workers (they also poll, so a lost notification only delays a job)."""
    with connection() as conn:
        conn.execute("NOTIFY gridgeo_jobs")


def update_job(job_id: str, **changes: Any) -> bool:
    changes["updated"] = datetime.now().astimezone()
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = %s").format(sql.Identifier(k)) for k in changes)
    with connection() as conn:
        cur = conn.execute(sql.SQL("UPDATE gridgeo.jobs SET {} WHERE job_id = %s").format(
            assignments), [*changes.values(), job_id])
        return cur.rowcount == 1


def get_job(job_id: str) -> dict[str, Any] | None:
    with connection() as conn:
        cur = conn.cursor(row_factory=_dict_row)
        return cur.execute("SELECT * FROM gridgeo.jobs WHERE job_id::text = %s",
                           (job_id,)).fetchone()


def list_jobs(limit: int | None, offset: int | None,
              owner: str | None) -> tuple[list[dict[str, Any]], int]:
    """Newest first; ``owner`` narrows to one subject's jobs ("" = nobody's, None = all)."""
    where = sql.SQL("")
    params: list[Any] = []
    if owner is not None:
        where = sql.SQL(" WHERE coalesce(identity->>'subject', '') = %s")
        params.append(owner)
    with connection() as conn:
        total = conn.execute(sql.SQL("SELECT count(*) FROM gridgeo.jobs") + where,
                             params).fetchone()[0]  # type: ignore[index]
        cur = conn.cursor(row_factory=_dict_row)
        rows = cur.execute(sql.SQL("SELECT * FROM gridgeo.jobs") + where + sql.SQL(
            " ORDER BY created DESC LIMIT %s OFFSET %s"), [*params, limit, offset or 0]).fetchall()
    return rows, int(total)


def delete_job(job_id: str) -> bool:
    with connection() as conn:
        return conn.execute("DELETE FROM gridgeo.jobs WHERE job_id::text = %s",
                            (job_id,)).rowcount == 1


def store_result(job_id: str, mimetype: str, outputs: Any) -> None:
    body = outputs if isinstance(outputs, bytes) else (
        outputs.encode() if isinstance(outputs, str) else orjson.dumps(outputs))
    update_job(job_id, status="successful", progress=100, message="Job complete",
               finished=datetime.now().astimezone(), mimetype=mimetype, result=body)


def claim_next() -> dict[str, Any] | None:
    """Take the oldest queued job; concurrent workers never take the same one."""
    with connection() as conn:
        cur = conn.cursor(row_factory=_dict_row)
        row = cur.execute(
            "UPDATE gridgeo.jobs SET status = 'running', started = now(), updated = now(),"
            " message = 'Job started', progress = 1 WHERE job_id = (SELECT job_id FROM"
            " gridgeo.jobs WHERE status = 'accepted' AND queued ORDER BY created"
            " FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING *").fetchone()
    return row


class ThrottledReporter:
    """Writes progress at most twice a second: a tight loop must not flood the table."""

    def __init__(self, job_id: str, interval: float = 0.5):
        self.job_id = job_id
        self.interval = interval
        self._last = 0.0

    def __call__(self, percent: int, message: str) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            update_job(self.job_id, progress=percent, message=message or "running")


def _dict_row(cursor: Any) -> Any:
    from psycopg.rows import dict_row

    return dict_row(cursor)


__all__ = ["Jsonb", "claim_next", "delete_job", "get_job", "insert_job", "job_document",
           "list_jobs", "notify", "store_result", "update_job"]
