"""The base of records whose listed fields are documented and that may carry more."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Open(BaseModel):
    """A record whose listed fields are documented; further fields may come."""

    model_config = ConfigDict(extra="allow")
