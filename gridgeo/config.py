"""Renders the effective pygeoapi configuration: the deployment file plus plugin contributions."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pluggy
import yaml
from pygeoapi.util import yaml_load

from gridgeo.contributions import CollectionContribution, ProcessContribution
from gridgeo.settings import Settings

PACKAGE_DIR = Path(__file__).resolve().parent


class ConfigError(ValueError):
    """The deployment's configuration is not valid."""


def read_deployment_config(path: Path) -> dict[str, Any]:
    """The deployment's pygeoapi-config.yml with ${VAR} substitution."""
    with path.open(encoding="utf-8") as fh:
        return yaml_load(fh) or {}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` wins; nested dicts merge, everything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def contributed_collections(pm: pluggy.PluginManager) -> list[CollectionContribution]:
    found: dict[str, CollectionContribution] = {}
    for batch in pm.hook.gridgeo_collections():
        for contribution in batch:
            if contribution.id in found:
                raise ConfigError(f"two plugins contribute a collection {contribution.id!r}")
            found[contribution.id] = contribution
    return list(found.values())


def contributed_processes(pm: pluggy.PluginManager) -> list[ProcessContribution]:
    found: dict[str, ProcessContribution] = {}
    for batch in pm.hook.gridgeo_processes():
        for contribution in batch:
            if contribution.id in found:
                raise ConfigError(f"two plugins contribute a process {contribution.id!r}")
            found[contribution.id] = contribution
    return list(found.values())


def process_resource(contribution: ProcessContribution) -> dict[str, Any]:
    resource: dict[str, Any] = {"type": "process", "processor": {
        "name": contribution.processor, **contribution.options}}
    if contribution.access:
        resource["access"] = {k: list(v) for k, v in contribution.access.items()}
    return resource


def render_config(settings: Settings, pm: pluggy.PluginManager,
                  extents: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The configuration pygeoapi will run with, validated against pygeoapi's schema."""
    config = read_deployment_config(settings.config_file)
    server = config.setdefault("server", {})
    server["url"] = settings.server_url
    if (PACKAGE_DIR / "templates").is_dir():
        # Bundled map library and styles: the HTML pages work without internet.
        server.setdefault("templates", {"path": str(PACKAGE_DIR / "templates"),
                                        "static": str(PACKAGE_DIR / "static")})
    if (PACKAGE_DIR / "locale").is_dir():
        server.setdefault("locale_dir", str(PACKAGE_DIR / "locale"))
    # Jobs live in PostgreSQL and async ones run in `gridgeo worker` processes.
    # (pygeoapi's schema requires connection and output_dir; both are unused: results
    # are stored in gridgeo.jobs through gridgeo's own pool.)
    server.setdefault("manager", {"name": "gridgeo.jobs.manager.JobManager",
                                  "connection": "gridgeo.jobs", "output_dir": "gridgeo.jobs"})
    overrides: dict[str, Any] = config.get("resources") or {}
    resources: dict[str, Any] = {}
    from gridgeo.styles import style_links

    contributed: list[tuple[str, dict[str, Any]]] = [
        (c.id, {**c.resource, "links": [
            *c.resource.get("links", []), *style_links(settings.server_url, c.id, list(c.styles)),
            *(link for batch in pm.hook.gridgeo_collection_links(
                collection_id=c.id, server_url=settings.server_url) for link in batch)]})
        for c in contributed_collections(pm)]
    contributed += [(p.id, process_resource(p)) for p in contributed_processes(pm)]
    for rid, resource in contributed:
        override = overrides.get(rid, {})
        if override.get("enabled", True) is False:
            continue
        merged = deep_merge(resource, {k: v for k, v in override.items() if k != "enabled"})
        if rid in (extents or {}):
            merged["extents"] = deep_merge(merged.get("extents", {}), extents[rid])  # type: ignore[index]
        resources[rid] = merged
    for rid, resource in overrides.items():
        if rid not in resources and resource.get("type"):
            resources[rid] = resource  # the deployment's own, non-gridgeo resources
    config["resources"] = resources
    validate_config(config)
    return config


def validate_config(config: dict[str, Any]) -> None:
    from jsonschema import ValidationError
    from pygeoapi.config import validate_config as pygeoapi_validate

    try:
        pygeoapi_validate(config)
    except ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ConfigError(f"pygeoapi configuration is invalid at {where}: {exc.message}") from exc


def dump_yaml(config: dict[str, Any]) -> str:
    # Round-trip through JSON to turn dates and other objects into plain values.
    return yaml.safe_dump(json.loads(json.dumps(config, default=str)), allow_unicode=True,
                          sort_keys=False)


def write_runtime_files(config: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """Write the effective config and its OpenAPI document; returns both paths.

    pygeoapi reads both at import, from PYGEOAPI_CONFIG and PYGEOAPI_OPENAPI.
    """
    from pygeoapi.openapi import get_oas

    from gridgeo.openapi import localise_refs

    # gridgeo serves its own copy of the OGC schemas (gridgeo/openapi.py); pygeoapi's
    # ogc_schemas_location would add a second /schemas route and move only Features refs.
    config = {**config, "server": {k: v for k, v in config["server"].items()
                                   if k != "ogc_schemas_location"}}
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "pygeoapi-config.yml"
    config_path.write_text(dump_yaml(config), encoding="utf-8")
    os.environ["PYGEOAPI_CONFIG"] = str(config_path)
    openapi = localise_refs(get_oas(config), config["server"]["url"])
    openapi_path = folder / "openapi.json"
    openapi_path.write_text(json.dumps(openapi, ensure_ascii=False, default=str),
                            encoding="utf-8")
    return config_path, openapi_path


