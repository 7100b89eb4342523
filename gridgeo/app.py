"""The WSGI app: pygeoapi's Flask app plus gridgeo's request identity and link fixes.

Built by the factory ``create_app()``; importing this module does nothing else. gunicorn
calls it once per worker (``gridgeo serve`` runs ``gridgeo.app:create_app()``). pygeoapi
reads its configuration at import, so the factory renders the effective config first
when the environment does not already name one; pygeoapi's app is one per process, so
the factory is too.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

import orjson
from flask import Flask, Response, g, request
from werkzeug.datastructures import Headers

from gridgeo.db.replicas import (
    LSN_COOKIE,
    LSN_COOKIE_SECONDS,
    LSN_HEADER,
    begin_request,
    is_lsn,
    written_lsn,
)
from gridgeo.errors import RequestError
from gridgeo.idempotency import idempotent
from gridgeo.identity import identify, reset_identity, set_identity
from gridgeo.items.dispatch import handle as handle_items
from gridgeo.items.pygeoapi_views import collection_list
from gridgeo.openapi import declare_gridgeo_answers, declare_page_size, schemas_blueprint
from gridgeo.ops.requests import install_operations
from gridgeo.process_docs import (
    correct_descriptions,
    describes_processes,
    job_control,
    match_job_control,
)
from gridgeo.security.bodies import apply_body_limit
from gridgeo.security.inputs import check_request_input
from gridgeo.security.territory import allow_from_request, reset_allowed
from gridgeo.security.web import (
    accepted_job_document,
    cache_headers,
    check_access,
    hide_unreadable_paths,
    unexpected_error,
)
from gridgeo.settings import get_settings
from gridgeo.standards import SCHEMA_PATH, add_landing_links, declare_conformance, type_the_geometry

# Landing page, collection list and one collection: the documents whose links clients follow.
_LINKED_DOCUMENT = re.compile(r"^/(collections(/[^/]+)?)?/?$")
_COLLECTION_LIST = re.compile(r"^/collections/?$")
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
EXECUTION_ENDPOINT = "pygeoapi.execute_process_jobs"
GEOJSON = "application/geo+json"


def _ensure_runtime() -> None:
    if not (os.environ.get("PYGEOAPI_CONFIG") and os.environ.get("PYGEOAPI_OPENAPI")):
        from gridgeo.runtime import prepare_runtime

        prepare_runtime()


def _normalise_lang() -> None:
    """Map any Chinese or English tag to the configured one: pygeoapi 0.21 answers
    500 for tags Babel cannot parse (e.g. lang=zh-Hans)."""
    lang = request.args.get("lang")
    if lang and lang not in ("zh", "en-US"):
        args = request.args.copy()
        args["lang"] = "zh" if lang.lower().startswith("zh") else "en-US"
        request.args = args  # type: ignore[misc]


def _begin_request() -> Response | None:
    apply_body_limit(request)  # before anything reads the body
    check_request_input(request)
    begin_request(request.headers.get(LSN_HEADER) or _lsn_cookie())
    identity = identify(dict(request.headers))
    g.gridgeo_identity_token = set_identity(identity)
    g.gridgeo_territory_token = allow_from_request(identity, dict(request.headers))
    _normalise_lang()
    check_access(request, _config())
    if _COLLECTION_LIST.match(request.path) and request.method == "GET":
        return collection_list(request, _config())
    return handle_items(request, _config())


def _lsn_cookie() -> str | None:
    """The cookie's WAL position; a mangled one is dropped (the browser keeps sending it)."""
    value = request.cookies.get(LSN_COOKIE)
    return value if value and is_lsn(value) else None


def _send_lsn(response: Response) -> None:
    """After a write, tell the caller where it ended: its next request, on any web node,
    reads from a replica only once that replica has replayed this far."""
    lsn = written_lsn()
    if lsn:
        response.headers[LSN_HEADER] = lsn
        response.set_cookie(LSN_COOKIE, lsn, max_age=LSN_COOKIE_SECONDS, httponly=True,
                            samesite="Lax")


def _config() -> dict[str, Any]:
    from pygeoapi.flask_app import CONFIG

    return CONFIG  # type: ignore[no-any-return]


def _end_request(_exc: BaseException | None) -> None:
    territory_token = g.pop("gridgeo_territory_token", None)
    if territory_token is not None:
        reset_allowed(territory_token)
    token = g.pop("gridgeo_identity_token", None)
    if token is not None:
        reset_identity(token)


def _fix_links(links: list[dict[str, Any]]) -> None:
    for link in links:
        href = link.get("href", "")
        if link.get("rel") == "items" and link.get("type") == GEOJSON and "?" in href:
            # GDAL appends its own query string and would build items?f=json/1 otherwise.
            link["href"] = href.split("?", 1)[0]
        if link.get("rel") == "service-desc" and "json" in link.get("type", ""):
            link["type"] = OPENAPI_JSON  # what QGIS looks for


def _finish_response(response: Response) -> Response:
    if not isinstance(response.headers, Headers):
        # pygeoapi replaces the headers object with a plain dict.
        response.headers = Headers(response.headers)
    cache_headers(request, response)
    _send_lsn(response)
    accepted_job_document(request, response)
    if (request.path.rstrip("/") == "/openapi" and response.status_code == 200
            and "json" in (response.mimetype or "") and not response.direct_passthrough):
        document = orjson.loads(response.get_data())
        if isinstance(document, dict) and hide_unreadable_paths(document, _config()):
            response.set_data(orjson.dumps(document))
    if (describes_processes(request.path) and response.status_code == 200
            and response.mimetype == "application/json" and not response.direct_passthrough):
        _declared_job_control(response)
    is_json = response.mimetype in ("application/json", GEOJSON)
    if "json" in (response.mimetype or "") and response.status_code == 200 \
            and not response.direct_passthrough and SCHEMA_PATH.match(request.path):
        document = orjson.loads(response.get_data())
        if type_the_geometry(request.path, document, _config()["resources"]):
            response.set_data(orjson.dumps(document))
    is_doc = _LINKED_DOCUMENT.match(request.path) is not None
    if not (is_json and is_doc and response.status_code == 200) or response.direct_passthrough:
        return _geojson_type(response)
    body = orjson.loads(response.get_data())
    if isinstance(body, dict):
        if request.path.rstrip("/") == "":
            add_landing_links(body, _config()["server"]["url"])
        _fix_links(body.get("links", []))
        for collection in body.get("collections", []):
            _fix_links(collection.get("links", []))
        response.set_data(orjson.dumps(body))
    return _geojson_type(response)


@functools.cache
def _job_control() -> dict[str, list[str]]:
    return job_control(_config())


def _declared_job_control(response: Response) -> None:
    body = orjson.loads(response.get_data())
    if correct_descriptions(request.path, body, _job_control()):
        response.set_data(orjson.dumps(body))


def _geojson_type(response: Response) -> Response:
    if ("/items" in request.path and response.status_code == 200
            and response.mimetype == "application/json"):
        response.headers["Content-Type"] = GEOJSON
    return response


def _correct_openapi() -> None:
    """Serve the OpenAPI document with gridgeo's corrections (gridgeo.openapi)."""
    from pygeoapi import flask_app

    from gridgeo.plugins import get_plugin_manager

    document = flask_app.api_.openapi
    parsed = orjson.loads(document) if isinstance(document, str | bytes) else document
    server_url = flask_app.CONFIG["server"]["url"]
    paths = parsed.setdefault("paths", {})
    for contributed in get_plugin_manager().hook.gridgeo_openapi_paths(server_url=server_url):
        for path, item in contributed.items():
            paths.setdefault(path, item)
    from gridgeo.config import contributed_collections
    from gridgeo.styles import openapi_paths as style_paths

    styled = [c.id for c in contributed_collections(get_plugin_manager()) if c.styles]
    for path, item in style_paths(styled).items():
        paths.setdefault(path, item)
    declare_gridgeo_answers(parsed, server_url)
    match_job_control(parsed, _job_control())
    declare_page_size(parsed, flask_app.CONFIG["server"].get("limits", {}))
    flask_app.api_.openapi = orjson.dumps(parsed).decode()


def create_app() -> Flask:
    """pygeoapi's app with gridgeo's hooks installed (call it once per process)."""
    _ensure_runtime()
    from pygeoapi.flask_app import APP

    _correct_openapi()

    from gridgeo.plugins import get_plugin_manager
    from gridgeo.styles import CONFORMANCE, styles_blueprint

    # A process execution may store what it makes: a create like any other.
    APP.view_functions[EXECUTION_ENDPOINT] = idempotent(APP.view_functions[EXECUTION_ENDPOINT])
    declare_conformance(get_plugin_manager(), CONFORMANCE)
    APP.register_blueprint(styles_blueprint(get_plugin_manager()))
    for batch in get_plugin_manager().hook.gridgeo_blueprints():
        for blueprint in batch:
            APP.register_blueprint(blueprint)
    APP.register_error_handler(RequestError, lambda exc: exc.response())
    APP.register_error_handler(Exception, unexpected_error)
    APP.config["MAX_CONTENT_LENGTH"] = get_settings().max_body_bytes
    APP.config["PROPAGATE_EXCEPTIONS"] = False
    # First of all before-request hooks: plugins' own (tiles) must see the caller too.
    APP.before_request_funcs.setdefault(None, []).insert(0, _begin_request)
    APP.teardown_request(_end_request)
    APP.after_request(_finish_response)
    install_operations(APP)  # request ids, JSON access log, metrics (gridgeo.ops)
    if schemas_blueprint.name not in APP.blueprints:
        APP.register_blueprint(schemas_blueprint)  # the OGC schemas the OpenAPI document names
    return APP
