"""Which roles may read, write or execute each collection and process.

Each collection declares its rules in its own ``collection.yml`` (``access:``), a
documented decision about what the public sees; the deployment's
``pygeoapi-config.yml`` overrides them by resource id::

    resources:
      inspections:
        access: {read: [gis_editor, admin], write: [admin]}

``anonymous`` in a list means everyone (every caller is also anonymous). A collection
that declares nothing is private: staff read it, gis_editor and admin write it, and
personal fields are for the personal-data roles. Which *rows* and *values* a caller
reaches is decided by PostgreSQL (row-level security and the views, see
plugins/core/schema/002_security.sql and 011_privacy.sql), not here.
"""

from __future__ import annotations

from typing import Any

from gridgeo.errors import RequestError
from gridgeo.identity import PERSONAL_DATA_ROLES, Identity, current_identity

EVERYONE = ("anonymous", "viewer", "grid_worker", "police", "gis_editor", "admin")
STAFF = ("viewer", "grid_worker", "police", "gis_editor", "admin")
EDITORS = ("gis_editor", "admin")

# Private by default: a collection is public only where its collection.yml says so.
DEFAULT_COLLECTION = {"read": STAFF, "write": EDITORS, "personal": tuple(PERSONAL_DATA_ROLES)}
DEFAULT_PROCESS = {"execute": EVERYONE}


def rules(resource_id: str, resource: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The effective rules of one resource: the defaults, then its ``access`` (the
    collection's declaration, overridden key by key by the deployment's configuration)."""
    merged = dict(DEFAULT_PROCESS if resource.get("type") == "process" else DEFAULT_COLLECTION)
    for action, roles in (resource.get("access") or {}).items():
        merged[action] = tuple(roles)
    return merged


def allowed(identity: Identity, resource_id: str, resource: dict[str, Any],
            action: str) -> bool:
    return bool(identity.effective_roles & set(rules(resource_id, resource).get(action, ())))


def may_see_personal(identity: Identity, resource_id: str | None,
                     resource: dict[str, Any] | None) -> bool:
    if resource_id is None or resource is None:
        return identity.may_see_personal_data
    return bool(identity.roles & set(rules(resource_id, resource)["personal"]))


def require(identity: Identity, resource_id: str, resource: dict[str, Any],
            action: str) -> None:
    """Refuse the request unless the caller's roles allow ``action``.

    A collection the caller may not read does not exist for it (404), on every path;
    a write or execution it may not do is 401 for anonymous callers and 403 otherwise.
    """
    if allowed(identity, resource_id, resource, action):
        return
    kind = "process" if resource.get("type") == "process" else "collection"
    if action == "read":
        raise RequestError(f"No {kind} {resource_id} here.", 404, "NotFound")
    if identity.is_anonymous:
        raise RequestError(f"this needs credentials ({action} on {kind} {resource_id}): "
                           "send 'Authorization: Bearer <token or API key>'.",
                           401, "Unauthorized")
    raise RequestError(f"your role may not {action} {kind} {resource_id}.", 403, "Forbidden")


def _without_filter(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "filter"}


def collection_of(provider_def: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """The running configuration's collection whose provider is ``provider_def``."""
    import sys

    app_module = sys.modules.get("pygeoapi.flask_app")
    resources = getattr(app_module, "CONFIG", {}).get("resources", {}) if app_module else {}
    # An items page hands pygeoapi a copy whose data carries the request's filter
    # (gridgeo.items.pygeoapi_views): the filter does not name another collection.
    data = _without_filter(provider_def.get("data", {}))
    for rid, resource in resources.items():
        for provider in resource.get("providers", []):
            if provider is provider_def or (
                    provider.get("name") == provider_def.get("name")
                    and _without_filter(provider.get("data", {})) == data):
                return rid, resource
    return None, None


def require_for(collection_id: str, action: str) -> None:
    """``require`` for the current caller on a served collection, for plugin routes
    (scans write inspections, the hotline writes incidents)."""
    from pygeoapi.flask_app import CONFIG

    resource = CONFIG["resources"].get(collection_id) or {"type": "collection"}
    require(current_identity(), collection_id, resource, action)


def allowed_for(collection_id: str, action: str) -> bool:
    """Whether the current caller may do ``action`` on a served collection."""
    from pygeoapi.flask_app import CONFIG

    resource = CONFIG["resources"].get(collection_id) or {"type": "collection"}
    return allowed(current_identity(), collection_id, resource, action)
