"""Token verification and access rules without a server (PyJWT does the crypto)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from gridgeo.identity import ANONYMOUS, Identity, Unauthenticated, identify
from gridgeo.security import access
from gridgeo.security.tokens import TokenError, roles_of, verify
from gridgeo.settings import Settings

ISSUER = "https://sso.example.test/realms/town"


@pytest.fixture(scope="module")
def rsa_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture()
def settings(tmp_path: Path, rsa_key: Any) -> Settings:
    jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    jwk.update(kid="k1", alg="RS256", use="sig")
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    return Settings(jwt_issuer=ISSUER, jwt_audience="gridgeo",
                    jwt_jwks_file=tmp_path / "jwks.json", jwt_roles_claim="realm_access.roles")


def make(key: Any, alg: str = "RS256", kid: str = "k1", **changes: Any) -> str:
    now = int(time.time())
    claims = {"sub": "4103991012000101", "iss": ISSUER, "aud": "gridgeo", "iat": now,
              "exp": now + 60, "realm_access": {"roles": ["grid_worker", "offline_access"]}}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def test_a_good_token_gives_its_claims(settings: Settings, rsa_key: Any) -> None:
    claims = verify(make(rsa_key), settings)
    assert claims["sub"] == "4103991012000101"
    assert roles_of(claims, "realm_access.roles") == {"grid_worker", "offline_access"}


@pytest.mark.parametrize("changes,phrase", [
    ({"exp": -600}, "expired"),
    ({"aud": "someone-else"}, "audience"),
    ({"iss": "https://other.example/realms/x"}, "issuer"),
    ({"exp": None}, "required claim"),
    ({"nbf": 600}, "not valid yet"),
])
def test_bad_claims_are_refused_with_a_sentence(settings: Settings, rsa_key: Any,
                                               changes: dict[str, Any], phrase: str) -> None:
    # exp/nbf are offsets from now, taken when the test runs (not when it is collected:
    # a long suite once outlived a 600 s nbf made at collection).
    now = int(time.time())
    changes = {k: now + v if k in ("exp", "nbf") and v is not None else v
               for k, v in changes.items()}
    with pytest.raises(TokenError, match=phrase):
        verify(make(rsa_key, **changes), settings)


def test_another_key_or_algorithm_is_refused(settings: Settings, rsa_key: Any) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(TokenError, match="signature"):
        verify(make(stranger), settings)
    with pytest.raises(TokenError, match="key this server does not know"):
        verify(make(rsa_key, kid="k9"), settings)
    with pytest.raises(TokenError):
        verify(make(ec.generate_private_key(ec.SECP256R1()), alg="ES256"), settings)
    # "none" and HMAC with the public key as secret are the classic forgeries.
    unsigned = jwt.encode({"sub": "x", "iss": ISSUER, "aud": "gridgeo",
                           "exp": int(time.time()) + 60}, "", algorithm="none",
                          headers={"kid": "k1"})
    with pytest.raises(TokenError):
        verify(unsigned, settings)


def test_without_an_issuer_no_jwt_is_accepted(rsa_key: Any) -> None:
    with pytest.raises(TokenError, match="no issuer"):
        verify(make(rsa_key), Settings())


def test_identify_maps_headers_to_identities(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_API_KEYS", '{"k-123": "viewer"}')
    from gridgeo.settings import get_settings

    get_settings.cache_clear()
    try:
        assert identify({}) is ANONYMOUS
        assert identify({"Authorization": "Bearer k-123"}).roles == {"viewer"}
        with pytest.raises(Unauthenticated, match="API key"):
            identify({"Authorization": "Bearer k-999"})
        with pytest.raises(Unauthenticated, match="Bearer"):
            identify({"Authorization": "Basic dTpw"})
    finally:
        get_settings.cache_clear()


def test_access_rules_private_default_then_collection_then_configuration() -> None:
    undeclared = {"type": "collection"}
    worker = Identity("w", frozenset({"grid_worker"}))
    # a collection that declares nothing is private: staff read, editors write
    assert not access.allowed(ANONYMOUS, "parks", undeclared, "read")
    assert access.allowed(worker, "parks", undeclared, "read")
    assert not access.allowed(worker, "parks", undeclared, "write")
    assert not access.may_see_personal(worker, "parks", undeclared)
    # the collection's own declaration (collection.yml) ...
    declared = {"type": "collection", "access": {"read": ["anonymous"],
                                                 "write": ["grid_worker", "admin"],
                                                 "personal": ["grid_worker"]}}
    assert access.allowed(ANONYMOUS, "incidents", declared, "read")
    assert access.allowed(worker, "incidents", declared, "write")
    assert access.may_see_personal(worker, "incidents", declared)
    # ... as the deployment's configuration overrides it, key by key
    from gridgeo.config import deep_merge

    staff_only = deep_merge(declared, {"access": {"read": ["viewer"]}})
    assert not access.allowed(ANONYMOUS, "incidents", staff_only, "read")
    assert access.allowed(Identity("v", frozenset({"viewer"})), "incidents", staff_only, "read")
    assert access.allowed(worker, "incidents", staff_only, "write")
    process = {"type": "process", "access": {"execute": ["admin"]}}
    assert not access.allowed(worker, "p", process, "execute")
    assert access.allowed(ANONYMOUS, "p", {"type": "process"}, "execute")
