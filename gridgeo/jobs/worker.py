"""``gridgeo worker``: runs queued process jobs outside the web server."""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg
from pygeoapi.plugin import load_plugin

from gridgeo.errors import DatabaseUnavailable
from gridgeo.identity import reset_identity, set_identity
from gridgeo.jobs import callbacks, store
from gridgeo.jobs.heartbeat import start_heartbeat
from gridgeo.jobs.manager import identity_from_record, run_processor

LOGGER = logging.getLogger(__name__)
# A running job whose progress has not moved for this long lost its worker.
STALE_AFTER = "15 minutes"
# Reconnecting after a lost connection: first after this long, then twice as long each
# time, at most this long.
FIRST_RETRY_S = 0.5
LAST_RETRY_S = 2.0
CONNECT_TIMEOUT_S = 5


def processor_definitions(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rid: res["processor"] for rid, res in config.get("resources", {}).items()
            if res.get("type") == "process"}


def fail_stale_jobs(conn: psycopg.Connection) -> int:
    cur = conn.execute(
        "UPDATE gridgeo.jobs SET status = 'failed', finished = now(), updated = now(),"
        " message = 'the worker running this job stopped; run it again'"
        " WHERE status = 'running' AND updated < now() - %s::interval", (STALE_AFTER,))
    return cur.rowcount


def run_job(job: dict[str, Any], processors: dict[str, dict[str, Any]]) -> None:
    """Run one claimed job as the identity of the request that queued it."""
    job_id = str(job["job_id"])
    definition = processors.get(job["process_id"])
    if definition is None:
        store.update_job(job_id, status="failed", message=(
            f"process {job['process_id']} is not offered by this server any more"))
        return
    who = job.get("identity") or {}
    token = set_identity(identity_from_record(who))
    try:
        processor = load_plugin("process", definition)
        processor.set_job_id(job_id)
        LOGGER.info("running job %s (%s) queued by request %s", job_id, job["process_id"],
                    job.get("request_id") or "-")
        subscriber = callbacks.from_record(job.get("subscriber"))
        callbacks.job_started(subscriber, job_id)
        run_processor(processor, job_id, job.get("inputs") or {}, job.get("requested_outputs"),
                      subscriber)
    finally:
        reset_identity(token)


def run_worker(config: dict[str, Any], database_url: str, stop: threading.Event,
               poll_seconds: float = 1.0) -> None:
    """Claim and run jobs until ``stop`` is set; a job in progress is finished first.

    A lost database connection (the database restarted, the network dropped) is not the
    end: the worker reconnects with backoff and runs the jobs queued meanwhile.
    """
    processors = processor_definitions(config)
    heartbeat = start_heartbeat(database_url, stop)  # /readyz: this worker is alive
    backoff = Backoff()
    try:
        while not stop.is_set():
            try:
                _serve_jobs(processors, database_url, stop, poll_seconds, backoff)
                return
            except (psycopg.OperationalError, DatabaseUnavailable) as exc:
                delay = backoff.next_delay()
                LOGGER.warning("database connection lost (%s); reconnecting in %.1f s",
                               str(exc).strip() or type(exc).__name__, delay)
                stop.wait(delay)
    finally:
        stop.set()
        heartbeat.join(timeout=10)


class Backoff:
    """Waits between reconnection attempts: doubling from FIRST_RETRY_S to LAST_RETRY_S."""

    def __init__(self) -> None:
        self.delay = FIRST_RETRY_S

    def next_delay(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, LAST_RETRY_S)
        return delay

    def reset(self) -> None:
        self.delay = FIRST_RETRY_S


def _serve_jobs(processors: dict[str, dict[str, Any]], database_url: str,
                stop: threading.Event, poll_seconds: float, backoff: Backoff) -> None:
    with psycopg.connect(database_url, autocommit=True,
                         connect_timeout=CONNECT_TIMEOUT_S) as listener:
        listener.execute("LISTEN gridgeo_jobs")
        backoff.reset()
        LOGGER.info("listening for jobs")
        if fail_stale_jobs(listener):
            LOGGER.warning("marked stale running jobs as failed")
        while not stop.is_set():
            job = store.claim_next()
            if job is not None:
                run_job(job, processors)
                continue
            for _ in listener.notifies(timeout=poll_seconds, stop_after=1):
                pass
