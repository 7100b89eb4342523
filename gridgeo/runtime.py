"""Prepares what pygeoapi reads at import: the effective config and OpenAPI files."""

from __future__ import annotations

import os
from pathlib import Path

from gridgeo.config import contributed_collections, render_config, write_runtime_files
from gridgeo.db.migrate import collect_migrations, pending_migrations
from gridgeo.db.pool import connect
from gridgeo.extents import collection_extents
from gridgeo.plugins import get_plugin_manager
from gridgeo.settings import Settings, get_settings


class RuntimeSetupError(RuntimeError):
    """The server cannot start as things are; the message says what to do."""


def runtime_dir(settings: Settings) -> Path:
    return settings.home / "run"


def prepare_runtime(settings: Settings | None = None) -> tuple[Path, Path]:
    """Render config + OpenAPI from the plugins and the data; export their paths."""
    settings = settings or get_settings()
    pm = get_plugin_manager()
    with connect() as conn:
        pending = pending_migrations(conn, collect_migrations(pm))
        if pending:
            raise RuntimeSetupError(
                f"the database lacks {len(pending)} migration(s) ({', '.join(map(str, pending))}"
                "); run `gridgeo db migrate` first")
        extents = collection_extents(conn, contributed_collections(pm))
    config = render_config(settings, pm, extents)
    config_path, openapi_path = write_runtime_files(config, runtime_dir(settings))
    os.environ["PYGEOAPI_CONFIG"] = str(config_path)
    os.environ["PYGEOAPI_OPENAPI"] = str(openapi_path)
    return config_path, openapi_path
