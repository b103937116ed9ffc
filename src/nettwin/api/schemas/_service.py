"""Liveness, readiness and the warm-up of the service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    networks: int


class Warmup(BaseModel):
    state: Literal["warming", "ready", "failed"]
    done: list[str]
    running: str | None
    steps: list[str]
    elapsed_s: float
    error: str | None
