"""The field app (/field): an installable web app for grid workers, offline first.

The app itself is static (gridgeo/static/field/: an HTML shell, ES modules, a service
worker, a manifest, icons) and talks only to the public HTTP API; this plugin serves it.
"""

from __future__ import annotations

from flask import Blueprint

from gridgeo import hookimpl


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.field.routes import field_blueprint

    return [field_blueprint()]


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, object]]:
    summary = "The field app for grid workers (an installable web app; docs/field-app.md)"
    return {"/field/": {"get": {
        "summary": summary, "tags": ["field"], "operationId": "getFieldApp",
        "responses": {"200": {"description": summary,
                              "content": {"text/html": {"schema": {"type": "string"}}}}}}}}
