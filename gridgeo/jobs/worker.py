"""``gridgeo worker``: runs queued process jobs outside the web server."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import psycopg
from pygeoapi.plugin import load_plugin

from gridgeo.identity import reset_identity, set_identity
from gridgeo.jobs import store
from gridgeo.jobs.manager import identity_from_record, run_processor

LOGGER = logging.getLogger(__name__)
# A running job whose progress has not moved for this long lost its worker.
STALE_AFTER = "15 minutes"


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
        LOGGER.info("running job %s (%s)", job_id, job["process_id"])
        run_processor(processor, job_id, job.get("inputs") or {}, job.get("requested_outputs"))
    finally:
        reset_identity(token)


def run_worker(config: dict[str, Any], database_url: str, stop: threading.Event,
               poll_seconds: float = 2.0) -> None:
    """Claim and run jobs until ``stop`` is set; a job in progress is finished first."""
    processors = processor_definitions(config)
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute("LISTEN gridgeo_jobs")
        if fail_stale_jobs(listener):
            LOGGER.warning("marked stale running jobs as failed")
        while not stop.is_set():
            job = store.claim_next()
            if job is not None:
                run_job(job, processors)
                continue
            for _ in listener.notifies(timeout=poll_seconds, stop_after=1):
                pass


def install_signal_handlers(stop: threading.Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
