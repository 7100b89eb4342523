"""OGC API Processes ``subscriber`` callbacks: POSTs to the URLs an execution named.

pygeoapi's own managers POST to any URL (``requests.post``); here each goes through
``gridgeo.outbound``, so only destinations on the allow-list are called, checked again at
send time. A callback that fails is logged and not retried: the job's status is the record.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pygeoapi.util import Subscriber

from gridgeo import outbound

LOGGER = logging.getLogger(__name__)
URI_FIELDS = {"successUri": "success_uri", "inProgressUri": "in_progress_uri",
              "failedUri": "failed_uri"}


def check_subscriber(subscriber: Any) -> None:
    """Refuse a subscriber that is not an object of allowed http(s) URLs (a 400 sentence)."""
    from gridgeo.errors import RequestError

    if not isinstance(subscriber, dict):
        raise RequestError("subscriber must be an object with successUri and optionally "
                           "inProgressUri and failedUri.")
    if not subscriber.get("successUri"):
        raise RequestError("subscriber needs a successUri.")
    unknown = sorted(set(subscriber) - set(URI_FIELDS))
    if unknown:
        raise RequestError(f"subscriber has no field {', '.join(unknown)}; it takes "
                           f"{', '.join(URI_FIELDS)}.")
    for name, url in subscriber.items():
        if url is None:
            continue
        try:
            outbound.check_url(url, field=f"subscriber.{name}")
        except outbound.OutboundRefused as exc:
            raise RequestError(str(exc)) from None


def to_record(subscriber: Subscriber | None) -> dict[str, str] | None:
    if subscriber is None:
        return None
    return {field: getattr(subscriber, attr) for field, attr in URI_FIELDS.items()
            if getattr(subscriber, attr, None)}


def from_record(record: dict[str, str] | None) -> Subscriber | None:
    if not record or not record.get("successUri"):
        return None
    return Subscriber(success_uri=record["successUri"],
                      in_progress_uri=record.get("inProgressUri"),
                      failed_uri=record.get("failedUri"))


def status_document(job_id: str, status: str, message: str) -> dict[str, Any]:
    return {"type": "process", "jobID": job_id, "status": status, "message": message}


def send(url: str | None, body: Any, job_id: str, which: str) -> None:
    """POST ``body`` as JSON to ``url``; failures are logged, never raised."""
    if not url:
        return
    from gridgeo.settings import get_settings

    data = body if isinstance(body, bytes) else orjson.dumps(body)
    try:
        answer = outbound.post(url, data, {"Content-Type": "application/json"},
                               get_settings().webhook_timeout_s)
        LOGGER.info("job %s: %s callback answered %s", job_id, which, answer.status)
    except Exception as exc:  # a callback never fails the job it reports
        LOGGER.warning("job %s: %s callback to %s failed: %s", job_id, which, url,
                       outbound.failure_sentence(exc))


def job_started(subscriber: Subscriber | None, job_id: str) -> None:
    """The in-progress callback, when a worker (or a synchronous request) starts the job."""
    if subscriber is not None:
        send(subscriber.in_progress_uri, status_document(job_id, "running", "Job started"),
             job_id, "in progress")
