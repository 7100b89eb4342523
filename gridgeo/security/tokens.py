"""Bearer JWTs verified with PyJWT against the configured issuer, audience and key set.

The key set comes from a JWKS URL (an OIDC server such as Keycloak:
``<realm>/protocol/openid-connect/certs``) or a JWKS file; no crypto is written here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import jwt

from gridgeo.settings import Settings, get_settings


class TokenError(Exception):
    """A token that must not be trusted; ``str(exc)`` is a sentence for the client."""


def looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and value.startswith("ey")


@functools.lru_cache(maxsize=1)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=300, timeout=5)


@functools.lru_cache(maxsize=4)
def _file_keys(path: str, _mtime: float) -> jwt.PyJWKSet:
    """The key set in a JWKS file, read again when the file changes."""
    with open(path, encoding="utf-8") as handle:
        return jwt.PyJWKSet.from_dict(json.load(handle))


def _signing_key(token: str, settings: Settings) -> jwt.PyJWK:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError("the bearer token is not a well-formed JWT.") from exc
    if settings.jwt_jwks_file is not None:
        path = settings.jwt_jwks_file
        keys = _file_keys(str(path), path.stat().st_mtime)
        kid = header.get("kid")
        for key in keys.keys:
            if kid is None or key.key_id == kid:
                return key
        raise TokenError("the bearer token was signed with a key this server does not know.")
    try:
        return _jwks_client(str(settings.jwt_jwks_url)).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as exc:
        raise TokenError("the token issuer's key set cannot be reached; try again "
                         "shortly.") from exc
    except jwt.PyJWKClientError as exc:
        raise TokenError("the bearer token was signed with a key this server does not "
                         "know.") from exc


_SENTENCES: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the bearer token has expired; get a new one."),
    (jwt.ImmatureSignatureError, "the bearer token is not valid yet."),
    (jwt.InvalidAudienceError, "the bearer token was issued for another audience."),
    (jwt.InvalidIssuerError, "the bearer token was issued by an issuer this server does "
                             "not trust."),
    (jwt.InvalidSignatureError, "the bearer token's signature does not verify."),
    (jwt.MissingRequiredClaimError, "the bearer token lacks a required claim (exp, iss, "
                                    "aud or sub)."),
    (jwt.InvalidAlgorithmError, "the bearer token uses a signing algorithm this server does "
                                "not accept."),
)


def verify(token: str, settings: Settings | None = None) -> dict[str, Any]:
    """The verified claims of ``token``; TokenError with a sentence otherwise."""
    settings = settings or get_settings()
    if not settings.jwt_enabled:
        raise TokenError("this server accepts no JWTs (no issuer is configured); "
                         "use an API key.")
    key = _signing_key(token, settings)
    # Only the algorithm of the key that signs: no "none", no HMAC keyed by a public key.
    algorithm = key.algorithm_name
    if algorithm not in settings.jwt_algorithms:
        raise TokenError(f"the signing key's algorithm {algorithm} is not accepted here.")
    try:
        return jwt.decode(  # type: ignore[no-any-return]
            token, key.key, algorithms=[algorithm], audience=settings.jwt_audience,
            issuer=settings.jwt_issuer, leeway=settings.jwt_leeway_s,
            options={"require": ["exp", "iss", "sub"]
                     + (["aud"] if settings.jwt_audience else [])})
    except jwt.PyJWTError as exc:
        for kind, sentence in _SENTENCES:
            if isinstance(exc, kind):
                raise TokenError(sentence) from exc
        raise TokenError("the bearer token is not valid.") from exc


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by dotted path (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def roles_of(claims: Mapping[str, Any], path: str) -> frozenset[str]:
    value = claim(claims, path)
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        return frozenset()
    return frozenset(str(v) for v in value)
