"""Forged OIDC tokens that play on the `alg` header: every one is a 401, never a 500; and a
token without `sub` is identified by the claim it does carry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from nettwin.api import Settings, create_app
from tests.api.test_oidc import ISSUER, _token, issuer

__all__ = ["issuer"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": "nettwin", "sub": "mallory", "iat": now, "exp": now + 300,
            "realm_access": {"roles": ["admin"]}} | extra


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def test_alg_confusion_is_refused_with_401(issuer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys, url = issuer
    rsa_key = keys.add("k1")
    settings = Settings(data_dir=tmp_path, oidc_issuer=ISSUER, oidc_jwks_url=url,
                        oidc_audience="nettwin", load_example=False)
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    jwk_n = next(k for k in keys.jwks["keys"] if k["kid"] == "k1")["n"].encode()
    forged: dict[str, str] = {
        # an EC key of the attacker's, the kid of the issuer's RSA key (was a 500)
        "ES256 on an RSA kid": jwt.encode(_claims(), ec.generate_private_key(ec.SECP256R1()),
                                          algorithm="ES256", headers={"kid": "k1"}),
        "alg none": _unsigned({"alg": "none", "kid": "k1"}, _claims()) + ".",
        "alg None, empty kid": _unsigned({"alg": "None"}, _claims()) + ".",
        "unknown alg": _unsigned({"alg": "XYZ", "kid": "k1"}, _claims()) + ".c2ln",
        "alg missing": _unsigned({"kid": "k1"}, _claims()) + ".c2ln",
        "kid not a string": _unsigned({"alg": "RS256", "kid": {"a": 1}}, _claims()) + ".c2ln",
        "header not an object": f"{_b64(b'[1, 2]')}.{_b64(b'{}')}.c2ln",
        "garbage": "a.b.c",
    }
    for name, secret in (("HS256 keyed with the RSA public key (PEM)", pem),
                         ("HS256 keyed with the JWK modulus", jwk_n)):
        head = _unsigned({"alg": "HS256", "kid": "k1", "typ": "JWT"}, _claims())
        forged[name] = f"{head}.{_b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())}"
    # RS512 is an RSA algorithm but not the one the issuer's key is published for
    forged["RS512 on an RS256 key"] = jwt.encode(_claims(), rsa_key, algorithm="RS512",
                                                 headers={"kid": "k1"})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        def status(token: str) -> int:
            return client.get("/api/v1/networks",
                              headers={"Authorization": f"Bearer {token}"}).status_code

        assert status(_token(rsa_key, "k1", ["viewer"])) == 200  # the genuine article
        for name, token in forged.items():
            assert status(token) == 401, name


def test_tokens_without_sub_are_told_apart(issuer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys, url = issuer
    key = keys.add("k1")
    settings = Settings(data_dir=tmp_path, oidc_issuer=ISSUER, oidc_jwks_url=url,
                        oidc_audience="nettwin", load_example=True)

    def sign(**claims: Any) -> str:
        body = {k: v for k, v in _claims(realm_access={"roles": ["planner"]}).items()
                if k != "sub"} | claims
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})

    callers = {"svc-a": sign(azp="svc-a"), "svc-b": sign(client_id="svc-b"),
               "bob": sign(preferred_username="bob")}
    with TestClient(create_app(settings)) as client:
        for token in callers.values():
            assert client.post("/api/v1/networks/example/simulate", json={}, headers={
                "Authorization": f"Bearer {token}"}).status_code == 200
        nobody = client.post("/api/v1/networks/example/simulate", json={}, headers={
            "Authorization": f"Bearer {sign()}"})
        assert nobody.status_code == 401  # a token that names no one is not accepted
    audit = [json.loads(line) for line in settings.audit_file.read_text().splitlines()]
    who = [a["who"] for a in audit if a["status"] == 200]
    assert who == ["client:svc-a", "client:svc-b", "bob"]
    assert [a["who"] for a in audit if a["status"] == 401] == ["anonymous"]
