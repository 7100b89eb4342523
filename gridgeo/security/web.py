"""Request-level security for the Flask app: access by path, hidden OpenAPI paths, caching,
and a JSON 500 that never shows a stack trace, SQL or a database message."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import orjson
from flask import Request, Response
from werkzeug.exceptions import HTTPException

from gridgeo.errors import DatabaseUnavailable, RequestError, database_unreachable
from gridgeo.identity import current_identity
from gridgeo.security.access import allowed, require

LOGGER = logging.getLogger("gridgeo.errors")
_COLLECTION_PATH = re.compile(r"^/collections/(?P<id>[^/]+)(?:/|$)")
_EXECUTION_PATH = re.compile(r"^/processes/(?P<id>[^/]+)/execution/?$")


def check_access(request: Request, config: dict[str, Any]) -> None:
    """Refuse a collection the caller may not read (404 on every path below it) and a
    process execution it may not run (401/403)."""
    resources = config.get("resources", {})
    identity = current_identity()
    match = _COLLECTION_PATH.match(request.path)
    if match and match["id"] in resources:
        require(identity, match["id"], resources[match["id"]], "read")
    match = _EXECUTION_PATH.match(request.path)
    if match and match["id"] in resources and request.method == "POST":
        require(identity, match["id"], resources[match["id"]], "execute")
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict):
            raise RequestError('the body must be a JSON object: {"inputs": {...}}.')
        if body.get("subscriber") is not None:
            # pygeoapi would POST to any URL the caller names, from inside our network:
            # only destinations on the allow-list (GRIDGEO_WEBHOOK_ALLOW) are called.
            from gridgeo.jobs.callbacks import check_subscriber

            check_subscriber(body["subscriber"])


def hide_unreadable_paths(document: dict[str, Any], config: dict[str, Any]) -> bool:
    """Take the paths of collections the caller may not read out of an OpenAPI document,
    so it does not name what the server answers 404 for; True if changed."""
    resources = config.get("resources", {})
    identity = current_identity()
    hidden = {rid for rid, resource in resources.items()
              if resource.get("type") == "collection"
              and not allowed(identity, rid, resource, "read")}
    paths = document.get("paths", {})
    gone = [p for p in paths if (m := _COLLECTION_PATH.match(p)) and m["id"] in hidden]
    for path in gone:
        del paths[path]
    return bool(gone)


def cache_headers(request: Request, response: Response) -> None:
    """Answers that may differ by caller are never stored as public: every answer varies
    by Authorization, and one given to a caller with credentials is private."""
    response.headers["Vary"] = "Authorization, Accept, Accept-Language"
    if request.headers.get("Authorization"):
        response.headers["Cache-Control"] = "private"


def unexpected_error(exc: Exception) -> Response:
    """Any exception nobody turned into a sentence: logged with an id, answered as JSON."""
    if isinstance(exc, RequestError):
        return exc.response()
    if database_unreachable(exc):
        LOGGER.warning("database unreachable: %s", exc)
        return DatabaseUnavailable().response()
    if isinstance(exc, HTTPException):
        if exc.code != 413:
            return exc  # type: ignore[return-value]  # redirects, 404s, 405s as werkzeug makes them
        from flask import request

        from gridgeo.security.bodies import too_large

        return too_large(request).response()
    from gridgeo.ops.requests import request_id

    # The request id: the same one is in the access log and the X-Request-ID header.
    error_id = request_id() or uuid.uuid4().hex[:12]
    LOGGER.exception("unexpected error %s", error_id)
    body = {"type": "ServerError", "code": "ServerError", "title": "Internal Server Error",
            "status": 500, "description": "the server failed to answer this request; "
            f"the error is logged as {error_id} (quote it when reporting the problem)."}
    return Response(orjson.dumps(body), status=500, mimetype="application/json")


def accepted_job_document(request: Request, response: Response) -> None:
    """A 201 for an async execution must carry the job's status (OGC API - Processes
    statusInfo); pygeoapi 0.21 sends only its Location."""
    match = _EXECUTION_PATH.match(request.path)
    location = response.headers.get("Location", "")
    if not (match and response.status_code == 201 and "/jobs/" in location):
        return
    try:
        body = orjson.loads(response.get_data())
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and "jobID" in body:
        return
    job_id = location.rstrip("/").rsplit("/", 1)[-1]
    status = {"type": "process", "processID": match["id"], "jobID": job_id,
              "status": "accepted",
              "links": [{"rel": "monitor", "type": "application/json", "href": location}]}
    response.set_data(orjson.dumps(status))
    response.headers["Content-Type"] = "application/json"
