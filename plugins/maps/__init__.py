"""Maps: vector tiles for the large collections and the town's overview page."""

from __future__ import annotations

from flask import Blueprint

from gridgeo import hookimpl


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.maps.overview import overview_blueprint
    from gridgeo_plugins.maps.routes import tiles_blueprint
    from gridgeo_plugins.maps.tilematrixsets import tile_matrix_sets_blueprint

    return [tiles_blueprint(), tile_matrix_sets_blueprint(), overview_blueprint()]


@hookimpl
def gridgeo_collection_links(collection_id: str, server_url: str) -> list[dict[str, str]]:
    from gridgeo_plugins.maps.tiles import tile_layers

    if collection_id not in tile_layers():
        return []
    return [{"rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
             "type": "application/json", "title": "Vector tilesets (MVT)",
             "href": f"{server_url}/collections/{collection_id}/tiles"}]


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, object]]:
    from gridgeo_plugins.maps.openapi import overview_paths, tile_paths
    from gridgeo_plugins.maps.tilematrixsets import openapi_paths

    return {**tile_paths(), **openapi_paths(), **overview_paths()}


@hookimpl
def gridgeo_conformance_classes() -> list[str]:
    from gridgeo_plugins.maps.tilematrixsets import CONFORMANCE

    return CONFORMANCE
