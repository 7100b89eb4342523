"""Which roles may read, write or execute each collection and process.

Rules live in the resource's ``access`` key of the effective pygeoapi configuration
(pygeoapi's schema accepts extra keys in a resource), so a deployment overrides them
in ``pygeoapi-config.yml``::

    resources:
      inspections:
        access: {read: [gis_editor, admin], write: [admin]}

A collection without rules gets the safe defaults below: readable by everyone (a
public layer, personal fields dropped), written only by gis_editor and admin.
Which *rows* a grid worker or police officer reaches is decided by PostgreSQL
row-level security (plugins/core/schema/002_security.sql), not here.
"""

from __future__ import annotations

from typing import Any

from gridgeo.errors import RequestError
from gridgeo.identity import PERSONAL_DATA_ROLES, Identity, current_identity

EVERYONE = ("anonymous", "viewer", "grid_worker", "police", "gis_editor", "admin")
STAFF = ("viewer", "grid_worker", "police", "gis_editor", "admin")
EDITORS = ("gis_editor", "admin")

DEFAULT_COLLECTION = {"read": EVERYONE, "write": EDITORS, "personal": tuple(PERSONAL_DATA_ROLES)}
DEFAULT_PROCESS = {"execute": EVERYONE}
# Built-in collections whose defaults differ; scoped roles (grid_worker, police) see
# and change only their own grids' rows there (row-level security), reporters' contacts
# included, so they can call back.
BUILTIN: dict[str, dict[str, tuple[str, ...]]] = {
    "incidents": {"write": ("grid_worker", "police", *EDITORS),
                  "personal": ("grid_worker", "police", *EDITORS)},
    "inspections": {"write": ("grid_worker", *EDITORS),
                    "personal": ("grid_worker", *EDITORS)},
}


def rules(resource_id: str, resource: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The effective rules of one resource: defaults, built-in, then the configuration."""
    base = DEFAULT_PROCESS if resource.get("type") == "process" else DEFAULT_COLLECTION
    merged = {**base, **BUILTIN.get(resource_id, {})}
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


def collection_of(provider_def: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """The running configuration's collection whose provider is ``provider_def``."""
    import sys

    app_module = sys.modules.get("pygeoapi.flask_app")
    resources = getattr(app_module, "CONFIG", {}).get("resources", {}) if app_module else {}
    data = provider_def.get("data", {})
    for rid, resource in resources.items():
        for provider in resource.get("providers", []):
            if provider is provider_def or (provider.get("name") == provider_def.get("name")
                                            and provider.get("data") == data):
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
