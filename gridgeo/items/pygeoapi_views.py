"""Answers pygeoapi renders (items pages as HTML, CSV or JSON-LD; the collection list),
asked through pygeoapi's own ``execute_from_flask`` with a view of its API made for this
request, its extension point for a different API instance.

The view differs from the process-wide API only in its configuration: the collection list
sees the collections the caller may read; an items page sees its collection's provider
definition with the request's CQL2 filter in it (``data.filter``), which the provider
compiles with the request model (pygeoapi's own parser refuses standard CQL2). pygeoapi's
handlers and templates do the rest, unpatched.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Request, Response

from gridgeo.identity import current_identity
from gridgeo.security.access import allowed

FILTER_PARAMETERS = ("filter", "filter-lang", "filter-crs")
PROVIDER = "gridgeo.provider.postgis.PostGISProvider"


def _api_view(config: dict[str, Any], resources: dict[str, Any]) -> Any:
    """pygeoapi's API with these resources (a shallow copy: nothing else is rebuilt)."""
    from pygeoapi import flask_app

    view = copy.copy(flask_app.api_)
    view.config = {**config, "resources": resources}
    return view


def collection_list(request: Request, config: dict[str, Any]) -> Response:
    """/collections in any format, listing only what the caller may read."""
    import pygeoapi.api as core_api
    from pygeoapi.flask_app import execute_from_flask

    identity = current_identity()
    resources = {rid: resource for rid, resource in config["resources"].items()
                 if resource.get("type") != "collection"
                 or allowed(identity, rid, resource, "read")}
    return execute_from_flask(core_api.describe_collections, request, None,
                              alternative_api=_api_view(config, resources))


def _with_filter(resource: dict[str, Any], handed: dict[str, str]) -> dict[str, Any]:
    providers = [{**p, "data": {**p["data"], "filter": handed}} if p.get("name") == PROVIDER
                 else p for p in resource.get("providers", [])]
    return {**resource, "providers": providers}


def items_page(request: Request, collection_id: str, config: dict[str, Any]) -> Response:
    """An items page pygeoapi renders, the request's filter handed to the provider.

    The request is checked by the request model first (``gridgeo.items.dispatch``); the
    filter parameters are taken out of what pygeoapi reads.
    """
    import pygeoapi.api.itemtypes as itemtypes_api
    from pygeoapi.flask_app import execute_from_flask

    args = request.args.copy()
    handed = {name: args.pop(name) for name in FILTER_PARAMETERS if name in args}
    request.args = args  # type: ignore[misc]
    resources = {**config["resources"],
                 collection_id: _with_filter(config["resources"][collection_id], handed)}
    return execute_from_flask(itemtypes_api.get_collection_items, request, collection_id,
                              skip_valid_check=True,
                              alternative_api=_api_view(config, resources))
