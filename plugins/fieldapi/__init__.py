"""The field app's server side (issue #18): ``GET /me/today`` (a worker's day in one
snapshot), ``GET /me/tiles`` (the tiles to cache for offline work), the app's MapLibre
style with its offline glyphs (``/field/style.json``, ``/field/glyphs/...``) and the
bounded window for times a device sends hours after the fact (schema/)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from gridgeo import hookimpl
from gridgeo.catalog import load_migrations
from gridgeo.contributions import Migration


@hookimpl
def gridgeo_migrations() -> list[Migration]:
    return list(load_migrations("fieldapi", Path(__file__).parent / "schema"))


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.fieldapi.routes import field_map_blueprint
    from gridgeo_plugins.fieldapi.today import today_blueprint

    return [today_blueprint(), field_map_blueprint()]


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, object]]:
    from gridgeo_plugins.fieldapi.openapi import field_paths

    return field_paths()
