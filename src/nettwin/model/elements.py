"""The records a network is made of: nodes, links, demands, services and slices (frozen,
unit-named)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nettwin.model.fields import (
    DEFAULT_IGP_METRIC,
    ArrivalKind,
    LinkKind,
    NodeKind,
    Polarization,
)
from nettwin.model.geo import PROPAGATION_SPEED_KM_S, haversine_km


@dataclass(frozen=True)
class Node:
    """A router, switch, radio or site."""

    id: str
    name: str | None = None
    kind: NodeKind = NodeKind.ROUTER
    latitude: float | None = None
    longitude: float | None = None
    attributes: dict[str, Any] | None = field(default=None, compare=True, hash=False)

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class Radio:
    """Microwave radio parameters of a link (see RADIO_FIELDS for units and defaults)."""

    frequency_ghz: float
    profile: str
    polarization: Polarization = Polarization.VERTICAL
    tx_power_dbm: float | None = None
    antenna_gain_a_dbi: float | None = None
    antenna_gain_b_dbi: float | None = None
    dish_diameter_m: float | None = None
    antenna_efficiency: float = 0.6
    losses_db: float = 0.0
    altitude_a_m: float = 0.0
    altitude_b_m: float = 0.0
    rain_rate_r001_mm_h: float | None = None
    dn1: float | None = None
    hysteresis_db: float = 3.0
    carriers: int = 1


@dataclass(frozen=True)
class Link:
    """A bidirectional link between nodes ``a`` and ``b`` with per-direction capacity and metric."""

    id: str
    a: str
    b: str
    capacity_ab_bps: float
    capacity_ba_bps: float
    metric_ab: int = DEFAULT_IGP_METRIC
    metric_ba: int = DEFAULT_IGP_METRIC  # the same as metric_ab when built from records
    kind: LinkKind = LinkKind.FIBER
    length_km: float | None = None
    delay_s: float | None = None
    srlgs: tuple[str, ...] = ()
    admin_up: bool = True
    oper_up: bool = True
    buffer_packets: int | None = None
    radio: Radio | None = None
    attributes: dict[str, Any] | None = field(default=None, compare=True, hash=False)
    power_ab_w: float | None = None  # None: the default of optimize.power (docs/energy.md)
    power_ba_w: float | None = None

    @property
    def is_up(self) -> bool:
        return self.admin_up and self.oper_up


@dataclass(frozen=True)
class Demand:
    """Traffic offered from ``src`` to ``dst`` at a mean rate, in one traffic class."""

    id: str
    src: str
    dst: str
    rate_bps: float
    traffic_class: str = "best-effort"
    arrival: ArrivalKind = ArrivalKind.POISSON
    peak_rate_bps: float | None = None
    on_mean_s: float | None = None
    off_mean_s: float | None = None
    dispersion_index: float | None = None
    correlation_time_s: float | None = None


@dataclass(frozen=True)
class Service:
    """A named set of demands with SLA targets (None = no target)."""

    id: str
    demands: tuple[str, ...]
    name: str | None = None
    max_delay_s: float | None = None
    max_loss: float | None = None
    min_availability: float | None = None


@dataclass(frozen=True)
class Slice:
    """A network slice: the demands it selects (listed, by service, or by endpoints and
    traffic class) with an SLA (None = no target) and an isolation requirement."""

    id: str
    name: str | None = None
    demands: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    traffic_classes: tuple[str, ...] = ()
    guaranteed_rate_bps: float | None = None
    max_delay_s: float | None = None
    max_loss: float | None = None
    min_availability: float | None = None
    isolation: bool = True
    priority: int = 0


def resolve_length_km(link: Link, a: Node, b: Node) -> float | None:
    """The link's length: as given, else the great-circle distance between its endpoints."""
    if link.length_km is not None:
        return link.length_km
    if a.has_coordinates and b.has_coordinates:
        assert a.latitude is not None and a.longitude is not None
        assert b.latitude is not None and b.longitude is not None
        return haversine_km(a.latitude, a.longitude, b.latitude, b.longitude)
    return None


def resolve_propagation_delay_s(link: Link, a: Node, b: Node) -> float | None:
    """One-way propagation delay: given, else from the length and the medium's speed."""
    if link.delay_s is not None:
        return link.delay_s
    length = resolve_length_km(link, a, b)
    if length is None:
        return None
    return length / PROPAGATION_SPEED_KM_S[link.kind]
