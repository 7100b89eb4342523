"""An admin's explicit permission to write a point outside the deployment's territory.

The database refuses points outside the town grids (collections/grids/schema/
003_territory.sql). Sometimes a point really is outside (a case handed over from the
next county): an admin sends ``Gridgeo-Outside-Territory: allow`` and that request's
transactions skip the check (``gridgeo.db.pool`` sets ``gridgeo.outside_territory``).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token

from gridgeo.errors import RequestError
from gridgeo.identity import Identity

OVERRIDE_HEADER = "Gridgeo-Outside-Territory"
_allowed: ContextVar[bool] = ContextVar("gridgeo_outside_territory", default=False)


def outside_territory_allowed() -> bool:
    """Whether the current request may write outside the territory."""
    return _allowed.get()


def allow_from_request(identity: Identity, headers: Mapping[str, str]) -> Token[bool]:
    """Read the override header: honoured for admins, refused (403) for everyone else."""
    value = headers.get(OVERRIDE_HEADER)
    if value is None:
        return _allowed.set(False)
    if value.strip().lower() != "allow":
        raise RequestError(f"{OVERRIDE_HEADER} takes one value, 'allow'; got {value!r}.")
    if "admin" not in identity.roles:
        raise RequestError(f"only an admin may write outside the territory "
                           f"({OVERRIDE_HEADER}); leave the header out.", 403, "Forbidden")
    return _allowed.set(True)


def reset_allowed(token: Token[bool]) -> None:
    _allowed.reset(token)
