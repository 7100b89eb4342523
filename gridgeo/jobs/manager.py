"""gridgeo's pygeoapi process manager: jobs in PostgreSQL, async jobs run by workers.

pygeoapi 0.21's own managers run async jobs as threads inside the web worker (lost
on restart, no cap) and report fixed progress values. Here an async job is queued in
``gridgeo.jobs`` and a ``gridgeo worker`` process runs it, writing real progress.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import orjson
from pygeoapi.process.base import (
    BaseProcessor,
    JobNotFoundError,
    JobResultNotFoundError,
    ProcessorGenericError,
)
from pygeoapi.process.manager.base import BaseManager
from pygeoapi.util import JobStatus, Subscriber

from gridgeo.errors import DatabaseUnavailable
from gridgeo.identity import Identity, current_identity
from gridgeo.jobs import callbacks, reset_reporter, set_reporter, store
from gridgeo.ops.requests import request_id
from gridgeo.process_writes import note_refusal, store_refusal, without_storing

LOGGER = logging.getLogger(__name__)
JSON_TYPES = (None, "application/json", "application/geo+json")


def identity_record(identity: Identity) -> dict[str, Any]:
    """What a job remembers of its caller, to run as them later."""
    return {"subject": identity.subject, "roles": sorted(identity.roles),
            "staff_no": identity.staff_no}


def identity_from_record(record: dict[str, Any]) -> Identity:
    return Identity(subject=record.get("subject"), roles=frozenset(record.get("roles", ())),
                    staff_no=record.get("staff_no"))


def run_processor(processor: BaseProcessor, job_id: str, data: dict[str, Any],
                  requested_outputs: Any, subscriber: Subscriber | None = None
                  ) -> tuple[str, Any, JobStatus]:
    """Execute with progress reporting and the subscriber's callbacks; the result or the
    failure is stored on the job.

    A process that stores what it computes runs with storing switched off when the
    caller may not write there (gridgeo.process_writes): sync or async, one check.
    """
    mimetype, outputs, status = _run_processor(processor, job_id, data, requested_outputs)
    if subscriber is not None:
        _call_back(subscriber, job_id, mimetype, outputs, status)
    return mimetype, outputs, status


def _call_back(subscriber: Subscriber, job_id: str, mimetype: str, outputs: Any,
               status: JobStatus) -> None:
    """As pygeoapi does: the outputs to successUri (a JSON status document when they are
    not JSON), the exception document to failedUri."""
    if status == JobStatus.successful:
        body = outputs if mimetype in JSON_TYPES else callbacks.status_document(
            job_id, "successful", f"Job complete; its result is at /jobs/{job_id}/results")
        callbacks.send(subscriber.success_uri, body, job_id, "success")
    else:
        callbacks.send(subscriber.failed_uri, outputs, job_id, "failed")


def _run_processor(processor: BaseProcessor, job_id: str, data: dict[str, Any],
                   requested_outputs: Any) -> tuple[str, Any, JobStatus]:
    token = set_reporter(store.ThrottledReporter(job_id))
    refusal = store_refusal(processor.metadata, data)
    if refusal is not None:
        data = without_storing(processor.metadata, data)
    try:
        extra = {"outputs": requested_outputs} if processor.supports_outputs else {}
        mimetype, outputs = processor.execute(data, **extra)
        if refusal is not None:
            outputs = note_refusal(mimetype, outputs, refusal)
        store.store_result(job_id, mimetype, outputs)
        return mimetype, outputs, JobStatus.successful
    except ProcessorGenericError as exc:
        message = exc.message
    except DatabaseUnavailable:
        raise  # nothing can be stored now; the client is told to retry (503)
    except Exception:
        LOGGER.exception("job %s failed", job_id)
        message = f"the process failed on the server (job {job_id}); see the server log"
    finally:
        reset_reporter(token)
    store.update_job(job_id, status="failed", message=message,
                     finished=datetime.now().astimezone())
    return "application/json", {"type": "InvalidParameterValue",
                                "code": "InvalidParameterValue",
                                "description": message}, JobStatus.failed


def _visible(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A job is its caller's: results may hold what only that caller may see. An admin
    sees every job; anonymous callers share the jobs nobody owns."""
    if row is None:
        return None
    caller = current_identity()
    owner = (row.get("identity") or {}).get("subject")
    return row if "admin" in caller.roles or owner == caller.subject else None


class JobManager(BaseManager):
    """Process manager storing every job in ``gridgeo.jobs``."""

    def __init__(self, manager_def: dict[str, Any]):
        super().__init__(manager_def)
        self.is_async = True
        # Callbacks go only to allowed destinations (gridgeo.jobs.callbacks).
        self.supports_subscribing = True
        self.output_dir = None  # results live in the jobs table, not in files

    def get_jobs(self, status: JobStatus | None = None, limit: int | None = None,
                 offset: int | None = None) -> dict[str, Any]:
        caller = current_identity()
        owner = None if "admin" in caller.roles else (caller.subject or "")
        rows, total = store.list_jobs(limit, offset, owner)
        return {"jobs": [store.job_document(r) for r in rows], "numberMatched": total}

    def add_job(self, job_metadata: dict[str, Any]) -> str:
        identity = current_identity()
        store.insert_job(job_metadata["identifier"], job_metadata["process_id"],
                         job_metadata["status"], job_metadata.get("message", ""),
                         identity_record(identity), request_id=request_id())
        return str(job_metadata["identifier"])

    def update_job(self, job_id: str, update_dict: dict[str, Any]) -> bool:
        allowed = {k: v for k, v in update_dict.items()
                   if k in ("status", "message", "progress", "finished", "mimetype")}
        return store.update_job(job_id, **allowed) if allowed else True

    def get_job(self, job_id: str) -> dict[str, Any]:
        row = _visible(store.get_job(job_id))
        if row is None:
            raise JobNotFoundError()
        return store.job_document(row)

    def get_job_result(self, job_id: str) -> tuple[str | None, Any]:
        row = _visible(store.get_job(job_id))
        if row is None:
            raise JobNotFoundError()
        if row["status"] != "successful" or row["result"] is None:
            raise JobResultNotFoundError()
        body = bytes(row["result"])
        if row["mimetype"] in JSON_TYPES:
            return row["mimetype"], orjson.loads(body)
        return row["mimetype"], body

    def delete_job(self, job_id: str) -> bool:
        if _visible(store.get_job(job_id)) is None or not store.delete_job(job_id):
            raise JobNotFoundError()
        return True

    def _execute_handler_async(self, p: BaseProcessor, job_id: str, data_dict: dict[str, Any],
                               requested_outputs: Any = None, subscriber: Any = None,
                               requested_response: Any = None) -> tuple[str, None, JobStatus]:
        identity = current_identity()
        store.update_job(job_id, queued=True, inputs=store.Jsonb(data_dict),
                         requested_outputs=store.Jsonb(requested_outputs),
                         requested_response=requested_response,
                         identity=store.Jsonb(identity_record(identity)),
                         subscriber=store.Jsonb(callbacks.to_record(subscriber)),
                         message="Job queued for a worker")
        store.notify()
        return "application/json", None, JobStatus.accepted

    def _execute_handler_sync(self, p: BaseProcessor, job_id: str, data_dict: dict[str, Any],
                              requested_outputs: Any = None, subscriber: Any = None,
                              requested_response: Any = None) -> tuple[str, Any, JobStatus]:
        store.update_job(job_id, status="running", started=datetime.now().astimezone())
        callbacks.job_started(subscriber, job_id)
        mimetype, outputs, status = run_processor(p, job_id, data_dict, requested_outputs,
                                                  subscriber)
        if status == JobStatus.successful and requested_response == "document":
            outputs = {"outputs": [outputs]}
        return mimetype, outputs, status
