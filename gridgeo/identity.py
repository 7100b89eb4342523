"""Who is asking: one seam that every request passes through.

``identify`` turns a request's ``Authorization: Bearer`` header into an Identity: a
JWT verified against the configured issuer (gridgeo.security.tokens), or an API key
from GRIDGEO_API_KEYS; no header means anonymous, a bad one is refused (401), never
silently anonymous. Code that asks ``current_identity()`` does not change.

Async jobs: a job runs outside the request that started it, where this context
variable is not set, so the job manager stores ``current_identity()`` with the job
(subject, roles and staff_no: row-level security needs all three) and the worker
``set_identity``s it while the job runs.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

from gridgeo.errors import RequestError
from gridgeo.settings import ApiKey, get_settings

PERSONAL_DATA_ROLES = frozenset({"admin", "gis_editor"})
ROLES = ("anonymous", "viewer", "grid_worker", "police", "gis_editor", "admin")


@dataclass(frozen=True)
class Identity:
    """The caller of a request: a subject and its roles (empty for anonymous)."""

    subject: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    staff_no: str | None = None  # the staff member behind the token, for grid assignments

    @property
    def is_anonymous(self) -> bool:
        return self.subject is None

    @property
    def may_see_personal_data(self) -> bool:
        """Residents' and reporters' names, phones and ID numbers."""
        return bool(self.roles & PERSONAL_DATA_ROLES)

    @property
    def effective_roles(self) -> frozenset[str]:
        """The roles access rules are checked against: everyone is also ``anonymous``."""
        return self.roles | {"anonymous"}


class Unauthenticated(RequestError):
    """Credentials were sent but cannot be trusted (HTTP 401)."""

    def __init__(self, message: str):
        super().__init__(message, 401, "Unauthorized")

    def response(self):  # type: ignore[no-untyped-def]
        response = super().response()
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response


ANONYMOUS = Identity()
_current: ContextVar[Identity] = ContextVar("gridgeo_identity", default=ANONYMOUS)


def identify(headers: Mapping[str, str]) -> Identity:
    """The identity a request's headers prove: a verified JWT, an API key, or nobody.

    Raises Unauthenticated (401 with a sentence) for credentials that do not verify.
    """
    auth = headers.get("Authorization", "").strip()
    if not auth:
        return ANONYMOUS
    scheme, _, presented = auth.partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise Unauthenticated("send credentials as 'Authorization: Bearer <token or API key>'.")
    from gridgeo.security.tokens import looks_like_jwt

    if looks_like_jwt(presented):
        return _from_jwt(presented)
    for key, holder in get_settings().api_keys.items():
        if hmac.compare_digest(presented.encode(), key.encode()):
            return _from_api_key(holder)
    raise Unauthenticated("the API key is not known to this server.")


def _from_api_key(holder: str | ApiKey) -> Identity:
    """A key names its staff member (``staff:<no>``) or system (``system:<name>``); a bare
    role key keeps the shared subject ``api-key:<role>`` it always had."""
    if isinstance(holder, str):
        return Identity(subject=f"api-key:{holder}", roles=frozenset({holder}))
    if holder.staff_no:
        subject = f"staff:{holder.staff_no}"
    elif holder.system:
        subject = f"system:{holder.system}"
    else:
        subject = f"api-key:{holder.role}"
    return Identity(subject=subject, roles=frozenset({holder.role}), staff_no=holder.staff_no)


def _from_jwt(token: str) -> Identity:
    from gridgeo.security.tokens import TokenError, claim, roles_of, verify

    settings = get_settings()
    try:
        claims = verify(token, settings)
    except TokenError as exc:
        raise Unauthenticated(str(exc)) from None
    subject = str(claims["sub"])
    staff_no = claim(claims, settings.jwt_staff_no_claim)
    return Identity(subject=subject, roles=roles_of(claims, settings.jwt_roles_claim),
                    staff_no=str(staff_no) if staff_no else subject)


def current_identity() -> Identity:
    return _current.get()


def set_identity(identity: Identity) -> object:
    """Make ``identity`` current; returns a token for ``reset_identity``."""
    return _current.set(identity)


def reset_identity(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
