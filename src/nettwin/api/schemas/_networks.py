"""A network: its summary, validation, simulation (arcs, services) and what-if answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from nettwin.api.schemas._basis import BasisDoc
from nettwin.api.schemas._open import Open


class NetworkSummary(Open):
    name: str
    nodes: int
    links: int
    links_up: int
    arcs: int
    demands: int
    offered_bps: float
    services: int
    capacity_bps: float
    traffic_classes: list[str]


class NetworkListItem(NetworkSummary):
    id: str


class NetworkInfo(NetworkSummary):
    id: str
    notes: list[str] = Field(description="What the import assumed or repaired.")


class ValidationReport(NetworkSummary):
    valid: bool
    notes: list[str]


class ArcRecord(Open):
    link: str
    direction: Literal["ab", "ba"]
    src: str
    dst: str
    up: bool
    metric: int
    capacity_bps: float
    load_bps: float
    utilisation: float | None
    delay_s: float | None
    loss: float | None
    overloaded: bool


class ServiceRecord(Open):
    id: str
    name: str
    demands: int
    worst_delay_s: float | None
    max_delay_s: float | None
    worst_loss: float | None
    max_loss: float | None
    unroutable_demands: int
    violated: bool


class SimulationDoc(BaseModel):
    kpis: dict[str, Any] = Field(description="Scenario KPIs (max_utilisation, ...).")
    services: list[ServiceRecord]
    arcs: list[ArcRecord]
    page: dict[str, Any] = Field(description="limit, arcs_total, services_total and "
                                             "next_cursor (null on the last page).")


class WhatIfDoc(Open):
    basis: BasisDoc = Field(description="What the scenario ran on.")
    verdict: str
    max_utilisation_before: float | None
    max_utilisation_after: float | None
    max_utilisation_arc: str | None
    lost_bps: float | None
    arcs_changed: int
    arc_changes: list[dict[str, Any]]
    demands_rerouted: int
    demands_lost: list[str]
    demands_lost_count: int
    demands_restored: list[str]
    services: list[dict[str, Any]]
    services_newly_violated: list[str]
