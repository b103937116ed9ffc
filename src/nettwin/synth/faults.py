"""Faults as changes of the compiled network's state: what synthetic telemetry injects and
what diagnosis replays as counterfactuals. One home for "what a fault does to the arrays"."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationResult
from nettwin.errors import NettwinError

METRIC_MAX = 16_777_214  # IS-IS wide metric max - 1: the usual "cost out" value


class FaultKind(StrEnum):
    """Root-cause kinds (the ``kind`` of a label and of a diagnosed cause)."""

    LINK_DOWN = "link_down"
    NODE_DOWN = "node_down"
    SRLG_DOWN = "srlg_down"
    CAPACITY_DEGRADED = "capacity_degraded"
    METRIC_CHANGED = "metric_changed"
    TRAFFIC_SURGE = "traffic_surge"
    RAIN_FADE = "rain_fade"
    MISALIGNMENT = "misalignment"
    NONE = "none"


class FaultError(NettwinError):
    """A fault names an element the network does not have, or a value out of range."""


@dataclass(frozen=True)
class Fault:
    """One fault on one element. ``links`` are the links it takes down (link, node, SRLG)
    or changes (capacity, metric); radio faults act through the fade, not here."""

    kind: FaultKind
    element: str
    links: tuple[str, ...] = ()
    capacity_factor: float = 1.0  # capacity_degraded: remaining fraction
    metric: int | None = None  # metric_changed: the new metric (both directions)
    surge_factor: float = 1.0  # traffic_surge: multiplier of the demands toward element

    def describe(self) -> str:
        extra = {FaultKind.CAPACITY_DEGRADED: f" to {100 * self.capacity_factor:.0f} %",
                 FaultKind.METRIC_CHANGED: f" to {self.metric}",
                 FaultKind.TRAFFIC_SURGE: f" x{self.surge_factor:.2g}"}.get(self.kind, "")
        return f"{self.kind.value} {self.element}{extra}"


@dataclass(frozen=True, eq=False)
class FaultState:
    """The compiled network (capacities, metrics) and run inputs with faults applied."""

    compiled: CompiledNetwork
    arc_up: np.ndarray
    demand_factor: np.ndarray  # per demand, multiplies the traffic of the moment


class FaultModel:
    """Index of a network's elements for applying faults fast (no Python loop per arc)."""

    def __init__(self, compiled: CompiledNetwork, srlgs: dict[str, tuple[str, ...]]) -> None:
        self.compiled = compiled
        self.link_index = {lid: i for i, lid in enumerate(compiled.link_ids)}
        self.node_index = {nid: i for i, nid in enumerate(compiled.node_ids)}
        self.srlgs = srlgs
        links_of_node: dict[str, list[str]] = {n: [] for n in compiled.node_ids}
        for i, lid in enumerate(compiled.link_ids):
            links_of_node[compiled.node_ids[compiled.arc_src[2 * i]]].append(lid)
            links_of_node[compiled.node_ids[compiled.arc_dst[2 * i]]].append(lid)
        self.node_links = {n: tuple(v) for n, v in links_of_node.items()}

    def link_arcs(self, links: tuple[str, ...]) -> np.ndarray:
        try:
            idx = np.array([self.link_index[lid] for lid in links], np.int64)
        except KeyError as exc:
            raise FaultError(f"unknown link {exc.args[0]!r}: use a link id of the "
                             "network") from None
        return np.concatenate([2 * idx, 2 * idx + 1]) if idx.size else idx

    def fault(self, kind: FaultKind, element: str, **params: float | int | None) -> Fault:
        """A fault on ``element`` with its affected links filled in (validated)."""
        if kind in (FaultKind.LINK_DOWN, FaultKind.CAPACITY_DEGRADED, FaultKind.METRIC_CHANGED,
                    FaultKind.RAIN_FADE, FaultKind.MISALIGNMENT):
            if element not in self.link_index:
                raise FaultError(f"{kind.value}: unknown link {element!r}")
            links: tuple[str, ...] = (element,)
        elif kind is FaultKind.NODE_DOWN:
            if element not in self.node_index:
                raise FaultError(f"node_down: unknown node {element!r}")
            links = self.node_links[element]
        elif kind is FaultKind.SRLG_DOWN:
            if element not in self.srlgs:
                raise FaultError(f"srlg_down: unknown SRLG {element!r} (the network has "
                                 f"{sorted(self.srlgs)[:5]})")
            links = self.srlgs[element]
        elif kind is FaultKind.TRAFFIC_SURGE:
            if element not in self.node_index:
                raise FaultError(f"traffic_surge: unknown node {element!r}")
            links = ()
        else:
            links = ()
        return Fault(kind, element, links, **params)  # type: ignore[arg-type]

    def apply(self, faults: tuple[Fault, ...], arc_capacity_bps: np.ndarray | None = None,
              arc_up: np.ndarray | None = None) -> FaultState:
        """The state with every fault applied on top of the given capacities/states
        (default: the compiled ones)."""
        c = self.compiled
        cap = (c.arc_capacity_bps if arc_capacity_bps is None else arc_capacity_bps).copy()
        up = (c.arc_up if arc_up is None else arc_up).copy()
        metric = c.arc_metric
        factor = np.ones(c.n_demands)
        for f in faults:
            arcs = self.link_arcs(f.links)
            if f.kind in (FaultKind.LINK_DOWN, FaultKind.NODE_DOWN, FaultKind.SRLG_DOWN):
                up[arcs] = False
            elif f.kind is FaultKind.CAPACITY_DEGRADED:
                cap[arcs] *= f.capacity_factor
            elif f.kind is FaultKind.METRIC_CHANGED and f.metric is not None:
                metric = metric.copy() if metric is c.arc_metric else metric
                metric[arcs] = f.metric
            elif f.kind is FaultKind.TRAFFIC_SURGE:
                factor[c.demand_dst == self.node_index[f.element]] *= f.surge_factor
        compiled = c if (cap is c.arc_capacity_bps and metric is c.arc_metric) else \
            dataclasses.replace(c, arc_capacity_bps=cap, arc_metric=metric)
        return FaultState(compiled, up, factor)


def srlg_members(link_srlgs: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """SRLG id -> its links, from each link's SRLG list."""
    out: dict[str, list[str]] = {}
    for lid, groups in link_srlgs.items():
        for g in groups:
            out.setdefault(g, []).append(lid)
    return {g: tuple(v) for g, v in out.items()}


def consequences(c: CompiledNetwork, before: SimulationResult, after: SimulationResult,
                 cause: str, extra: list[str] | None = None
                 ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fault chain from ``cause`` (reroute -> overloads -> trips -> loss -> SLA breaks)
    by comparing two engine runs, and the services whose SLA it breaks."""
    chain = [cause]
    moved = int((np.abs(after.demand_path_signature - before.demand_path_signature) > 1e-12)
                .sum())
    if moved:
        chain.append(f"reroute of {moved} demand(s)")
    hot = np.flatnonzero((after.arc_utilisation > 0.9) & after.arc_up
                         & ~((before.arc_utilisation > 0.9) & before.arc_up))
    chain += [f"overload on {c.arc_label(a)} ({100 * after.arc_utilisation[a]:.0f} %)"
              for a in hot[:5].tolist()]
    chain += extra or []
    lost = int((~after.demand_routed & before.demand_routed).sum())
    if lost:
        chain.append(f"{lost} demand(s) unroutable")
    broke = after.services.violated & ~before.services.violated
    services = tuple(sid for sid, b in zip(c.service_ids, broke.tolist(), strict=True) if b)
    chain += [f"SLA break of {sid}" for sid in services]
    return tuple(chain), services
