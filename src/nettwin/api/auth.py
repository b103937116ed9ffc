"""Roles and local API tokens (stored hashed; the plaintext is shown once, at creation)."""

from __future__ import annotations

import enum
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
    """Tokens in a JSON file (0600): id, name, role, SHA-256 of the token, creation time and,
    once revoked, the revocation time.

    Writers (``create``, ``revoke``, from any number of threads or processes) take an
    exclusive ``fcntl`` lock on ``tokens.json.lock``, read, and replace the file atomically
    (temporary file in the same folder, fsync, ``os.replace``): a reader sees the old or the
    new file, never half of one. Readers parse the file again only when it changed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int, int], list[dict[str, str]]] | None = None

    def _read(self) -> list[dict[str, str]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        cache = self._cache
        if cache is not None and cache[0] == stamp:
            return cache[1]
        rows = list(json.loads(self.path.read_text(encoding="utf-8")))
        self._cache = (stamp, rows)
        return rows

    @contextmanager
    def _locked(self) -> Iterator[list[dict[str, str]]]:
        """The rows under the writers' lock; what the block leaves in them is written."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path.with_name(self.path.name + ".lock"),
                         os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._cache = None
                rows = [dict(r) for r in self._read()]
                yield rows
                self._write(rows)
            finally:
                os.close(fd)  # releases the lock

    def _write(self, rows: list[dict[str, str]]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(rows, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def create(self, name: str, role: Role) -> str:
        """A new token for ``name``; returns its plaintext (not stored anywhere)."""
        token = "nt_" + secrets.token_urlsafe(32)
        with self._locked() as rows:
            rows.append({"id": secrets.token_hex(6), "name": name, "role": role.name.lower(),
                         "sha256": _digest(token), "created": datetime.now(UTC).isoformat()})
        return token

    def entries(self) -> list[dict[str, str]]:
        """Every token (hash left out), revoked ones included."""
        return [{"id": _row_id(r)} | {k: v for k, v in r.items() if k not in ("sha256", "id")}
                for r in self._read()]

    def revoke(self, name_or_id: str) -> list[dict[str, str]]:
        """Revoke the token with this id, or every live token with this name; the tokens
        revoked (none: nothing matched)."""
        now = datetime.now(UTC).isoformat()
        done = []
        with self._locked() as rows:
            by_id = [r for r in rows if _row_id(r) == name_or_id]
            for row in by_id or [r for r in rows if r["name"] == name_or_id]:
                if "revoked" not in row:
                    row["revoked"] = now
                    done.append({"id": _row_id(row), "name": row["name"], "role": row["role"]})
        return done

    def verify(self, token: str) -> Principal | None:
        """Who a token belongs to, or None (constant-time comparison; revoked: None)."""
        digest = _digest(token)
        found = None
        for row in self._read():
            if hmac.compare_digest(row["sha256"], digest) and "revoked" not in row:
                found = Principal(row["name"], Role[row["role"].upper()])
        return found


def _row_id(row: dict[str, str]) -> str:
    """A token's id (files written before ids existed: the head of its hash)."""
    return row.get("id") or row["sha256"][:12]
