"""OIDC bearer tokens (Keycloak-compatible): signature against the issuer's JWKS, issuer,
audience, expiry with clock-skew leeway, roles from a claim such as ``realm_access.roles``.

The key set is cached for ``jwks_cache_s``; a token signed with a key id the cache does not
know makes the verifier fetch the JWKS again (at most once per ``refresh_cooldown_s``), so
the issuer can rotate keys without restarting the twin, and a withdrawn key is refused once
the cached set expires.

The algorithm is pinned to the key: a token may only use an algorithm of its key's family
(RSA: RS*/PS*, EC: ES* of the key's curve) and one the twin accepts, whatever its header says,
so `alg` confusion (ES256 or HS256 against an RSA key, `none`) is refused with 401, never
tried. A token must name its caller (``sub``, ``preferred_username``, ``azp``/``client_id``
for service accounts, or ``email``); one that names no one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from nettwin.api.auth import Principal, Role


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    jwks_url: str
    audience: str | None = None
    roles_claim: str = "realm_access.roles"
    role_prefix: str = ""  # e.g. "nettwin-" when realm roles are named nettwin-admin, ...
    leeway_s: float = 60.0
    refresh_cooldown_s: float = 30.0  # at most one JWKS refetch per this many seconds
    jwks_cache_s: float = 300.0  # a key the issuer withdrew is refused after at most this
    algorithms: tuple[str, ...] = ("RS256", "ES256")


# what each key type may sign with (PyJWT's algorithm objects name the key classes)
_FAMILY = {"RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
           "EC": ("ES256", "ES384", "ES512", "ES256K"), "OKP": ("EdDSA",)}
_IDENTITY_CLAIMS = ("preferred_username", "sub", "email", "azp", "client_id")


def identify(claims: dict[str, Any]) -> str | None:
    """Who a token names: the first non-empty identity claim; a client (``azp``,
    ``client_id``: a service account without a user) as ``client:NAME``, so it never passes
    for a user of that name."""
    for claim in _IDENTITY_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            text = str(value).strip()[:200]
            return f"client:{text}" if claim in ("azp", "client_id") else text
    return None


class OidcVerifier:
    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        # no per-kid cache (it never expires): only the whole key set is cached, for
        # jwks_cache_s, so withdrawn keys stop working
        self._keys = jwt.PyJWKClient(config.jwks_url, cache_keys=False,
                                     lifespan=config.jwks_cache_s, timeout=5,
                                     cooldown_duration=config.refresh_cooldown_s)

    def _claim(self, claims: dict[str, Any]) -> list[str]:
        value: Any = claims
        for part in self.config.roles_claim.split("."):
            value = value.get(part, {}) if isinstance(value, dict) else {}
        return [str(v) for v in value] if isinstance(value, list) else []

    def verify(self, token: str) -> Principal | None:
        """The caller, or None when the token is not valid for this twin (any reason)."""
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get_signing_key_from_jwt(token)
            alg = header.get("alg")
            family = _FAMILY.get(key.key_type or "", ())
            allowed = [a for a in self.config.algorithms if a in family]
            if key.algorithm_name in family:  # the JWK's own (or inferred) algorithm
                allowed = [a for a in allowed if a == key.algorithm_name]
            if alg not in allowed:
                return None
            claims = jwt.decode(
                token, key.key, algorithms=[alg],
                audience=self.config.audience, issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"verify_aud": self.config.audience is not None,
                         "require": ["exp", "iss"]})
        except (jwt.PyJWTError, jwt.PyJWKClientError):
            return None
        except (TypeError, ValueError):  # a key the library cannot use for this token
            return None
        roles = [Role[r.removeprefix(self.config.role_prefix).upper()]
                 for r in self._claim(claims)
                 if r.startswith(self.config.role_prefix)
                 and r.removeprefix(self.config.role_prefix).upper() in Role.__members__]
        if not roles:
            return None
        name = identify(claims)
        if name is None:
            return None
        return Principal(name, max(roles))
