"""OIDC bearer tokens (Keycloak-compatible): signature against the issuer's JWKS, issuer,
audience, expiry with clock-skew leeway, roles from a claim such as ``realm_access.roles``.

The key set is cached for ``jwks_cache_s``; a token signed with a key id the cache does not
know makes the verifier fetch the JWKS again (at most once per ``refresh_cooldown_s``), so
the issuer can rotate keys without restarting the twin, and a withdrawn key is refused once
the cached set expires.
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
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token, key.key, algorithms=list(self.config.algorithms),
                audience=self.config.audience, issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"verify_aud": self.config.audience is not None,
                         "require": ["exp", "iss"]})
        except (jwt.PyJWTError, jwt.PyJWKClientError):
            return None
        roles = [Role[r.removeprefix(self.config.role_prefix).upper()]
                 for r in self._claim(claims)
                 if r.startswith(self.config.role_prefix)
                 and r.removeprefix(self.config.role_prefix).upper() in Role.__members__]
        if not roles:
            return None
        name = str(claims.get("preferred_username") or claims.get("sub") or "oidc-user")
        return Principal(name, max(roles))
