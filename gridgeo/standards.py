"""What gridgeo declares to OGC clients beyond pygeoapi's own answers: conformance
classes of the routes gridgeo and its plugins add, and each collection's real geometry
type in its schema and queryables (pygeoapi says ``geometry-any`` everywhere)."""

from __future__ import annotations

import re
from typing import Any

import pluggy

SCHEMA_PATH = re.compile(r"^/collections/(?P<collection>[^/]+)/(schema|queryables)/?$")

# OGC API - Features Part 5 formats per geometry type declared in collection.yml.
GEOMETRY_FORMATS = {
    "Point": "geometry-point", "MultiPoint": "geometry-multipoint",
    "LineString": "geometry-linestring", "MultiLineString": "geometry-multilinestring",
    "Polygon": "geometry-polygon", "MultiPolygon": "geometry-multipolygon",
}


def declare_conformance(pm: pluggy.PluginManager, own: list[str]) -> None:
    """Add gridgeo's and its plugins' classes to the list pygeoapi's ``/conformance``
    starts from (JSON and HTML alike)."""
    import pygeoapi.api as pygeoapi_api

    declared: list[str] = pygeoapi_api.CONFORMANCE_CLASSES
    for uri in [*own, *(c for batch in pm.hook.gridgeo_conformance_classes() for c in batch)]:
        if uri not in declared:
            declared.append(uri)


def geometry_format(resource: dict[str, Any] | None) -> str | None:
    """The Part 5 geometry format of a collection's resource, when its type is known."""
    for provider in (resource or {}).get("providers", []):
        kind = provider.get("data", {}).get("geometry_type")
        if provider.get("type") == "feature" and kind in GEOMETRY_FORMATS:
            return GEOMETRY_FORMATS[kind]
    return None


def type_the_geometry(path: str, document: Any, resources: dict[str, Any]) -> bool:
    """Give a schema or queryables document its collection's geometry type (in place);
    True when it changed."""
    match = SCHEMA_PATH.match(path)
    if match is None or not isinstance(document, dict):
        return False
    geometry = document.get("properties", {}).get("geometry")
    wanted = geometry_format(resources.get(match["collection"]))
    if not isinstance(geometry, dict) or wanted is None or geometry.get("format") == wanted:
        return False
    geometry["format"] = wanted
    return True


def add_landing_links(landing: dict[str, Any], server_url: str) -> None:
    """The landing page's link to the styles list (OGC API Styles clients look for it
    there), first of its rel."""
    from gridgeo.styles import STYLES_REL

    links = landing.setdefault("links", [])
    if not any(link.get("rel") == STYLES_REL for link in links):
        links.append({"rel": STYLES_REL, "type": "application/json", "title": "Styles",
                      "href": f"{server_url}/styles"})
