"""The twin as a service (FastAPI): ``create_app(settings)``."""

from nettwin.api.app import create_app
from nettwin.api.auth import Role, TokenStore
from nettwin.api.settings import Settings

__all__ = ["Role", "Settings", "TokenStore", "create_app"]
