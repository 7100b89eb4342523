"""Who is asking: one seam that every request passes through.

For now every request is anonymous; the security work backs ``identify`` with
real tokens without touching the code that asks ``current_identity()``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

from gridgeo.settings import get_settings

PERSONAL_DATA_ROLES = frozenset({"admin", "gis_editor"})


@dataclass(frozen=True)
class Identity:
    """The caller of a request: a subject and its roles (empty for anonymous)."""

    subject: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_anonymous(self) -> bool:
        return self.subject is None

    @property
    def may_see_personal_data(self) -> bool:
        """Residents' and reporters' names, phones and ID numbers."""
        return bool(self.roles & PERSONAL_DATA_ROLES)


ANONYMOUS = Identity()
_current: ContextVar[Identity] = ContextVar("gridgeo_identity", default=ANONYMOUS)


def identify(headers: Mapping[str, str]) -> Identity:
    """The identity a request's headers prove: an API key from GRIDGEO_API_KEYS, or nobody.

    The security work replaces this with verified tokens; callers do not change.
    """
    auth = headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return ANONYMOUS
    presented = auth.removeprefix("Bearer ").strip().encode()
    for key, role in get_settings().api_keys.items():
        if hmac.compare_digest(presented, key.encode()):
            return Identity(subject=f"api-key:{role}", roles=frozenset({role}))
    return ANONYMOUS


def current_identity() -> Identity:
    return _current.get()


def set_identity(identity: Identity) -> object:
    """Make ``identity`` current; returns a token for ``reset_identity``."""
    return _current.set(identity)


def reset_identity(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
