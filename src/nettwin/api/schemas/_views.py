"""What the dashboard draws: topology, one element's panel, a rain storm, QoS per class."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from nettwin.api.schemas._tmf import TmfAlarm


class TopoNode(BaseModel):
    id: str
    name: str
    kind: str
    x: float
    y: float
    latitude: float | None
    longitude: float | None


class TopoLink(BaseModel):
    id: str
    a: str
    b: str
    kind: str
    capacity_ab_bps: float
    capacity_ba_bps: float
    up: bool
    arcs: list[str]
    modulation: str | None
    frequency_ghz: float | None


class TopoService(BaseModel):
    id: str
    name: str
    max_delay_s: float | None
    demands: int


class Topology(BaseModel):
    id: str
    name: str
    geographic: bool
    nodes: list[TopoNode]
    links: list[TopoLink]
    services: list[TopoService]


class ElementArc(BaseModel):
    arc: str
    load_bps: float
    capacity_bps: float
    utilisation: float | None
    delay_s: float | None
    up: bool


class ElementHistory(BaseModel):
    times: list[str]
    series: dict[str, list[float]]


class RadioPanel(BaseModel):
    frequency_ghz: float
    length_km: float
    profile: str
    modes: list[str]
    clear_sky_mode: str
    live_mode: str | None


class Element(BaseModel):
    kind: Literal["node", "link"]
    id: str
    attributes: dict[str, Any]
    arcs: list[ElementArc]
    services: list[dict[str, Any]]
    history: ElementHistory
    alarms: list[TmfAlarm]
    radio: RadioPanel | None = None


class StormDoc(BaseModel):
    summary: dict[str, Any]
    worst_minute: float
    links: list[dict[str, Any]]
    arcs: list[dict[str, Any]]
    cells_at_worst: list[dict[str, Any]]
    frames: list[dict[str, Any]] = Field(
        description="Every storm step for the time slider: per arc utilisation and state "
                    "(arc order), per radio link modulation, the rain cells on the map.")


class QosDemand(BaseModel):
    demand: str
    class_: str = Field(alias="class")
    routed: bool
    delay_s: float | None
    jitter_s: float | None
    loss: float | None


class QosDoc(BaseModel):
    classes: list[dict[str, Any]]
    services: list[dict[str, Any]]
    demands: list[QosDemand]
    pinned: int
