"""Roles and local API tokens (stored hashed; the plaintext is shown once, at creation)."""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class Role(enum.IntEnum):
    """Each role can do what the roles below it can."""

    VIEWER = 1  # read networks, results, jobs
    PLANNER = 2  # run simulations, what-ifs, sweeps
    OPERATOR = 3  # acknowledge alarms, apply changes
    ADMIN = 4  # manage networks and tokens


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Tokens in a JSON file: name, role, SHA-256 of the token, creation time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        return list(json.loads(self.path.read_text(encoding="utf-8")))

    def create(self, name: str, role: Role) -> str:
        """A new token for ``name``; returns its plaintext (not stored anywhere)."""
        token = "nt_" + secrets.token_urlsafe(32)
        with self._lock:
            rows = self._read()
            rows.append({"name": name, "role": role.name.lower(), "sha256": _digest(token),
                         "created": datetime.now(UTC).isoformat()})
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
            self.path.chmod(0o600)
        return token

    def verify(self, token: str) -> Principal | None:
        """Who a token belongs to, or None (constant-time comparison)."""
        digest = _digest(token)
        found = None
        for row in self._read():
            if hmac.compare_digest(row["sha256"], digest):
                found = Principal(row["name"], Role[row["role"].upper()])
        return found
