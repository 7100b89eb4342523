"""One JSON log line per request, with a request id the caller may give (X-Request-ID).

The id is answered in the X-Request-ID header, named in a 500's body and stored on the
jobs a request queues, so one id finds a request in the log, the client's report and
the jobs table.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

import orjson
from flask import Flask, Response, g, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

from gridgeo.identity import current_identity
from gridgeo.ops import metrics

REQUEST_ID_HEADER = "X-Request-ID"
# An id from outside goes into logs as is: only a short, plain token is taken.
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
ACCESS_LOG = logging.getLogger("gridgeo.access")


def request_id() -> str | None:
    """The current request's id (the caller's X-Request-ID or a new one); None outside
    a request."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _ACCEPTED_ID.match(given) else uuid.uuid4().hex
    return str(g.request_id)


def _begin() -> None:
    g.request_started = time.perf_counter()
    request_id()


def route_template() -> str:
    """The matched route (``/collections/<path:collection_id>/items``): a bounded label,
    unlike the path."""
    rule = request.url_rule
    return rule.rule if rule is not None else "(no route)"


def _finish(response: Response) -> Response:
    started = g.get("request_started", time.perf_counter())
    seconds = time.perf_counter() - started
    rid = request_id() or ""
    response.headers[REQUEST_ID_HEADER] = rid
    route = route_template()
    metrics.observe_request(route, request.method, response.status_code, seconds)
    ACCESS_LOG.info(orjson.dumps({
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request_id": rid, "method": request.method, "path": request.path, "route": route,
        "status": response.status_code, "duration_ms": round(seconds * 1000, 1),
        "bytes": response.content_length, "remote": request.remote_addr,
        "user": current_identity().subject}).decode())
    return response


def _log_to_stderr() -> None:
    """Access lines go to stderr as bare JSON: gunicorn's error log or the journal."""
    if ACCESS_LOG.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    ACCESS_LOG.addHandler(handler)
    ACCESS_LOG.setLevel(logging.INFO)
    ACCESS_LOG.propagate = False


def install_operations(app: Flask) -> None:
    """Request ids, the access log and request metrics; the first before-request hook of
    all, so refused requests are timed and logged too. Behind the reverse proxy
    (``gridgeo deploy nginx``) the client's address and scheme come from its
    X-Forwarded-* headers; links are built from GRIDGEO_PUBLIC_URL, not from them."""
    if app.config.get("GRIDGEO_OPERATIONS"):
        return
    app.config["GRIDGEO_OPERATIONS"] = True
    _log_to_stderr()
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_finish)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
