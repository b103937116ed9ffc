"""OIDC tokens against a real JWKS endpoint on loopback: roles, expiry, rotation, forgery."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from nettwin.api import Settings, create_app

ISSUER = "http://127.0.0.1/realms/nettwin"


class _Keys:
    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.fetches = 0

    def add(self, kid: str) -> rsa.RSAPrivateKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        self.jwks["keys"].append(public | {"kid": kid, "use": "sig", "alg": "RS256"})
        return key


@pytest.fixture
def issuer() -> Iterator[tuple[_Keys, str]]:
    keys = _Keys()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            keys.fetches += 1
            body = json.dumps(keys.jwks).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield keys, f"http://127.0.0.1:{server.server_address[1]}/certs"
    finally:
        server.shutdown()
        server.server_close()


def _token(key: rsa.RSAPrivateKey, kid: str, roles: list[str], **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "nettwin", "sub": "u1", "preferred_username": "alice",
            "iat": now, "exp": now + 300, "realm_access": {"roles": roles}} | claims
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def test_oidc_tokens(issuer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys, url = issuer
    old = keys.add("k1")
    settings = Settings(data_dir=tmp_path, oidc_issuer=ISSUER, oidc_jwks_url=url,
                        oidc_audience="nettwin", oidc_leeway_s=60, oidc_refresh_cooldown_s=0,
                        oidc_jwks_cache_s=0.5)
    with TestClient(create_app(settings)) as client:
        def status(token: str, path: str = "/api/v1/networks/example/simulate") -> int:
            return client.post(path, json={}, headers={"Authorization": f"Bearer {token}"}
                               ).status_code

        assert status(_token(old, "k1", ["planner", "offline_access"])) == 200
        assert status(_token(old, "k1", ["viewer"])) == 403
        assert status(_token(old, "k1", ["offline_access"])) == 401  # no nettwin role
        late = int(time.time()) - 30  # expired 30 s ago: inside the 60 s skew allowance
        assert status(_token(old, "k1", ["planner"], exp=late)) == 200
        assert status(_token(old, "k1", ["planner"], exp=late - 120)) == 401
        assert status(_token(old, "k1", ["planner"], iss="http://evil")) == 401
        assert status(_token(old, "k1", ["planner"], aud="other")) == 401
        forged = _token(old, "k1", ["viewer"])
        head, _payload, sig = forged.split(".")
        boosted = jwt.utils.base64url_encode(json.dumps(
            jwt.decode(forged, options={"verify_signature": False})
            | {"realm_access": {"roles": ["admin"]}}).encode()).decode()
        assert status(f"{head}.{boosted}.{sig}") == 401  # signature no longer matches
        # rotation: the issuer publishes k2 and drops k1; the twin refetches on the new kid
        new = keys.add("k2")
        keys.jwks["keys"] = keys.jwks["keys"][1:]
        assert status(_token(new, "k2", ["admin"]), "/api/v1/networks/example/simulate") == 200
        time.sleep(0.6)  # the cached key set expires: the withdrawn k1 is refused
        assert status(_token(old, "k1", ["admin"])) == 401
        assert keys.fetches >= 2
