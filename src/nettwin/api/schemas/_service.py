"""Liveness, readiness and the warm-up of the service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    networks: int


class WhatIfWorker(BaseModel):
    """A worker process answering failure what-ifs (``api.processes``)."""

    pid: int
    bases: int = Field(description="Bases it holds: what-ifs on them are answered by it")
    answered: int = Field(description="What-ifs it answered")


class Warmup(BaseModel):
    state: Literal["warming", "ready", "failed"]
    done: list[str]
    running: str | None
    steps: list[str]
    elapsed_s: float
    error: str | None
    whatif_workers: list[WhatIfWorker] = Field(default_factory=list, description=(
        "Worker processes answering failure what-ifs, started by the first one on a large "
        "network"))
