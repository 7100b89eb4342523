"""The OGC schemas from gridgeo's own copy, and an OpenAPI document that refers only to them.

pygeoapi's generated document points its ``$ref``s at schemas.opengis.net and
raw.githubusercontent.com, which clients on a closed network cannot reach.
gridgeo ships those schemas (``gridgeo/schemas/ogc/``, the remote layout kept),
serves them at ``{server_url}/schemas/...`` and rewrites every remote reference
in the document to that copy when the runtime files are written.
"""

from __future__ import annotations

import copy
import logging
import posixpath
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort
from werkzeug.security import safe_join

LOGGER = logging.getLogger(__name__)

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas" / "ogc"
SCHEMAS_ROUTE = "/schemas"

# Remote folders that SCHEMAS_DIR mirrors (scheme left off: http and https alike),
# with the folder of the copy that holds each.
MIRRORED = (
    ("schemas.opengis.net/", ""),
    ("raw.githubusercontent.com/opengeospatial/ogcapi-records/master/core/openapi/",
     "ogcapi/records/core/openapi/"),
)

# OGC API - Tiles has no local copy. pygeoapi names only its link schema outside tile
# paths, so that one is inlined here: OGC API - Common Core's link.yaml, which
# ogcapi-tiles-1.yaml's components/schemas/link refers to. Tile paths that need more of
# the Tiles document are dropped (see drop_unreachable).
INLINED = {
    "schemas.opengis.net/ogcapi/tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml"
    "#/components/schemas/link": {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {
            "href": {"type": "string",
                     "description": "Supplies the URI to a remote resource (or resource "
                                    "fragment)."},
            "rel": {"type": "string", "description": "The type or semantics of the relation."},
            "type": {"type": "string",
                     "description": "A hint indicating what the media type of the result "
                                    "of dereferencing the link should be."},
            "templated": {"type": "boolean",
                          "description": "This flag set to true if the link is a URL "
                                         "template."},
            "varBase": {"type": "string",
                        "description": "A base path to retrieve semantic information about "
                                       "the variables used in URL template."},
            "hreflang": {"type": "string",
                         "description": "A hint indicating what the language of the result "
                                        "of dereferencing the link should be."},
            "title": {"type": "string",
                      "description": "Used to label the destination of a link such that it "
                                     "can be used as a human-readable identifier."},
            "length": {"type": "integer"},
        },
    },
}

_SCHEME = re.compile(r"^https?://")


def mirrored_path(url: str) -> str | None:
    """The copy's path (fragment kept) of a remote schema URL, or None when there is none."""
    address = _SCHEME.sub("", url)
    if address == url:
        return None
    for remote, local in MIRRORED:
        if address.startswith(remote):
            path = local + address[len(remote):]
            if (SCHEMAS_DIR / path.partition("#")[0]).is_file():
                return path
    return None


# --- the OpenAPI document ---------------------------------------------------------------

def localise_refs(openapi: dict[str, Any], server_url: str) -> dict[str, Any]:
    """A copy of ``openapi`` whose every ``$ref`` is local to the document or to this server."""
    schemas_url = f"{server_url.rstrip('/')}{SCHEMAS_ROUTE}/"
    document = _rewrite(copy.deepcopy(openapi), schemas_url)
    drop_unreachable(document, schemas_url)
    return document


# --- what gridgeo answers where pygeoapi's document says otherwise ----------------------

_FEATURES_YAML = "ogcapi/features/part1/1.0/openapi/ogcapi-features-1.yaml"


def declare_gridgeo_answers(document: dict[str, Any], server_url: str) -> None:
    """Correct the document where pygeoapi declares what no server answers (in place;
    ``gridgeo.app`` applies it to the document pygeoapi serves).

    - ``/conformance`` answers a conformance declaration, not a landing page.
    - A feature's geometry may be ``null`` (GeoJSON allows it; ``skipGeometry=true``
      and features without a location answer it), which OGC's featureGeoJSON forbids.
    """
    features = f"{server_url.rstrip('/')}{SCHEMAS_ROUTE}/{_FEATURES_YAML}#/components"
    conformance = document.get("paths", {}).get("/conformance", {}).get("get")
    if conformance:
        conformance["responses"]["200"] = {
            "$ref": f"{features}/responses/ConformanceDeclaration"}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["gridgeoFeatureGeoJSON"] = {
        "type": "object", "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "geometry": {"anyOf": [{"$ref": f"{features}/schemas/geometryGeoJSON"},
                                   {"nullable": True, "enum": [None]}]},
            "properties": {"type": "object", "nullable": True},
            "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "links": {"type": "array", "items": {"$ref": f"{features}/schemas/link"}}}}
    schemas["gridgeoFeatureCollectionGeoJSON"] = {
        "type": "object", "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array",
                         "items": {"$ref": "#/components/schemas/gridgeoFeatureGeoJSON"}},
            "links": {"type": "array", "items": {"$ref": f"{features}/schemas/link"}},
            "timeStamp": {"$ref": f"{features}/schemas/timeStamp"},
            "numberMatched": {"$ref": f"{features}/schemas/numberMatched"},
            "numberReturned": {"$ref": f"{features}/schemas/numberReturned"}}}
    replacements = {
        f"{features}/responses/Features": ("The features selected by the request.",
                                           "gridgeoFeatureCollectionGeoJSON"),
        f"{features}/responses/Feature": ("One feature.", "gridgeoFeatureGeoJSON")}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            ok = responses.get("200")
            if isinstance(ok, dict) and ok.get("$ref") in replacements:
                description, schema = replacements[ok["$ref"]]
                responses["200"] = {"description": description, "content": {
                    "application/geo+json": {
                        "schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def declare_page_size(document: dict[str, Any], limits: dict[str, Any]) -> None:
    """Name the page size once, as ``components/parameters/limit`` (in place).

    QGIS reads the largest and default page size only from there; without it, it pages
    by 100 whatever each path says. Items paths whose own ``limit`` is the server's refer
    to it; a collection with limits of its own keeps its inline parameter.
    """
    maximum, default = int(limits.get("max_items", 10)), int(limits.get("default_items", 10))
    schema = {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}
    parameters = document.setdefault("components", {}).setdefault("parameters", {})
    parameters["limit"] = {
        "name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
        "description": f"The number of items in one page: 1 to {maximum} ({default} when "
                       "left out); follow the next link for more.",
        "schema": schema}
    for path, operations in document.get("paths", {}).items():
        get = operations.get("get") if path.endswith("/items") else None
        for i, parameter in enumerate((get or {}).get("parameters", [])):
            if parameter.get("name") == "limit" and parameter.get("in") == "query" \
                    and all(parameter.get("schema", {}).get(k) == schema[k]
                            for k in ("maximum", "default")):
                get["parameters"][i] = {"$ref": "#/components/parameters/limit"}  # type: ignore[index]


def _rewrite(node: Any, schemas_url: str) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, schemas_url) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        inlined = INLINED.get(_SCHEME.sub("", ref))
        if inlined is not None:
            return copy.deepcopy(inlined)
        path = mirrored_path(ref)
        if path is not None:
            return {**node, "$ref": schemas_url + path}
    return {key: _rewrite(value, schemas_url) for key, value in node.items()}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _unreachable(node: Any, schemas_url: str, removed: set[str]) -> str | None:
    """The first reference in ``node`` that nothing here can answer, if any."""
    for ref in _refs(node):
        if ref.startswith("#"):
            if ref in removed or any(ref.startswith(r + "/") for r in removed):
                return ref
        elif not ref.startswith(schemas_url):
            return ref
    return None


def drop_unreachable(document: dict[str, Any], schemas_url: str) -> None:
    """Remove components and paths that still need a schema with no local copy.

    Dropping is the honest choice for references we cannot answer offline (OGC API
    Tiles and EDR parameters, a process's own remote ``$ref``): the rest of the
    document stays resolvable, and the server log names what went.
    """
    removed: set[str] = set()
    changed = True
    while changed:
        changed = False
        for kind, entries in document.get("components", {}).items():
            for name in list(entries):
                ref = _unreachable(entries[name], schemas_url, removed)
                if ref is not None:
                    LOGGER.warning("OpenAPI: dropped components/%s/%s: %s has no local copy",
                                   kind, name, ref)
                    del entries[name]
                    removed.add(f"#/components/{kind}/{name}")
                    changed = True
    paths = document.get("paths", {})
    for path in list(paths):
        ref = _unreachable(paths[path], schemas_url, removed)
        if ref is not None:
            LOGGER.warning("OpenAPI: dropped path %s: %s has no local copy", path, ref)
            del paths[path]


# --- serving the copy -------------------------------------------------------------------

# A vendored file's own references to schemas.opengis.net become relative paths inside
# the copy, so they resolve against wherever the copy is served (or read from disk).
_REMOTE_REF = re.compile(r"""(\$ref:\s*['"]?)(https?://[^\s'"]+)""")

MEDIA_TYPES = {".yaml": "application/yaml", ".yml": "application/yaml",
               ".xsd": "application/xml", ".json": "application/json", ".md": "text/markdown"}

schemas_blueprint = Blueprint("gridgeo_schemas", __name__)


@lru_cache(maxsize=256)
def served_text(path: str) -> str:
    """The text served for ``path`` (relative to the copy): remote ``$ref``s made relative."""
    text = (SCHEMAS_DIR / path).read_text(encoding="utf-8")
    folder = posixpath.dirname(path)

    def relative(match: re.Match[str]) -> str:
        target = mirrored_path(match[2])
        if target is None:
            return match[0]
        file, hash_, fragment = target.partition("#")
        return match[1] + posixpath.relpath(file, folder or ".") + hash_ + fragment

    return _REMOTE_REF.sub(relative, text)


@schemas_blueprint.get(f"{SCHEMAS_ROUTE}/<path:path>")
def schema_file(path: str) -> Response:
    """GET /schemas/{path}: one file of the OGC schemas copy."""
    full = safe_join(str(SCHEMAS_DIR), path)
    if full is None or not Path(full).is_file():
        abort(404)
    suffix = Path(full).suffix
    response = Response(served_text(Path(full).relative_to(SCHEMAS_DIR).as_posix()),
                        mimetype=MEDIA_TYPES.get(suffix, "text/plain"))
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
