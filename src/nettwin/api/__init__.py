"""The twin as a service (FastAPI): ``create_app(settings)``.

The exports load on first use, so ``nettwin.api.schemas`` (the response models, shared with
``nettwin.client``) imports without the server stack."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nettwin.api.app import create_app
    from nettwin.api.auth import Role, TokenStore
    from nettwin.api.settings import Settings

_EXPORTS = {"create_app": "nettwin.api.app", "Role": "nettwin.api.auth",
            "TokenStore": "nettwin.api.auth", "Settings": "nettwin.api.settings"}

__all__ = ["Role", "Settings", "TokenStore", "create_app"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nettwin.api' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
