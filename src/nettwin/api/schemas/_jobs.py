"""Background jobs: their status and pages of their results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from nettwin.api.schemas._basis import BasisDoc


class JobStatus(BaseModel):
    id: str
    kind: str
    network_id: str
    owner: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    done: int
    total: int
    error: str | None
    created: str
    cancel_requested: bool = False
    finished: str | None = Field(default=None, description="When the job ended (ISO 8601).")
    expires: str | None = Field(default=None, description="When its results are dropped.")
    basis: BasisDoc | None = Field(
        default=None, description="What a sweep runs on (answered when it is submitted).")


class Page(BaseModel):
    total: int
    offset: int
    items: list[dict[str, Any]]
    basis: BasisDoc | None = Field(
        default=None, description="What the job ran on (sweeps).")
