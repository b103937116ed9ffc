"""The records of a slice plan: resolved slices, failure states, per-state checks, verdicts,
the plan and the QoS policy document it writes (the planning is in ``optimize.slices``)."""

from __future__ import annotations

import dataclasses
import enum
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.engine.classes import ClassPolicy, ClassResult, PinnedPaths
from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.queueing import IMIX_MEAN_PACKET_BYTES, IMIX_PACKET_SCV
from nettwin.model import Network, Slice
from nettwin.optimize.objective import Survive
from nettwin.optimize.slice_bounds import Binding
from nettwin.optimize.tolerance import ARITHMETIC_TOL, clean_figure

SURGE = 3.0  # the isolation test: another slice's traffic times this
BUFFER_PACKETS = 1000


class Steering(enum.Enum):
    """How a slice's demands are routed."""

    IGP = "igp"  # shortest paths by IGP metric, ECMP
    MIN_DELAY = "min-delay"  # the fastest path by propagation, per failure state
    WIDEST = "widest"  # the path with the most room left by the slices before, per state


@dataclass(frozen=True, eq=False)
class SliceDemands:
    """A slice resolved against the traffic: its demands and the rates it is checked at."""

    spec: Slice
    index: np.ndarray  # demand positions
    offered_bps: float
    rate_bps: np.ndarray  # per demand: offered scaled up to the guaranteed rate

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def traffic_class(self) -> str:
        return f"slice:{self.spec.id}"

    @property
    def guaranteed_bps(self) -> float:
        """The rates' total: the guarantee, to the tolerance (scaling 3e9 over the demands
        sums to 2999999999.9999995)."""
        return clean_figure(float(self.rate_bps.sum()), tol=ARITHMETIC_TOL)


@dataclass(frozen=True, eq=False)
class FailureState:
    link: str | None  # None: everything up
    arc_up: np.ndarray
    probability: float  # of exactly this state
    weight: float  # to first order: 1 - sum u_i with everything up, else u_i


@dataclass(frozen=True)
class Check:
    """One slice in one state: its worst delay and loss, its delivered rate, the verdict."""

    worst_delay_s: float
    max_loss: float
    delivered_bps: float
    routed: bool
    delay_ok: bool
    loss_ok: bool
    rate_ok: bool

    @property
    def ok(self) -> bool:
        return self.routed and self.delay_ok and self.loss_ok and self.rate_ok

    def to_document(self) -> dict[str, Any]:
        return {"worst_delay_s": self.worst_delay_s, "max_loss": self.max_loss,
                "delivered_bps": self.delivered_bps, "sla_met": self.ok}


@dataclass(frozen=True, eq=False)
class SliceMapping:
    """Classes, policy, pinned paths per state and demand rates for a set of slices."""

    compiled: CompiledNetwork  # demands re-marked into the slices' classes
    policy: ClassPolicy
    rate_bps: np.ndarray
    pins: list[PinnedPaths]  # per state
    steering: dict[str, Steering]


@dataclass(frozen=True, eq=False)
class Evaluation:
    checks: dict[str, list[Check]]  # per slice, per state
    availability: dict[str, float]  # first order
    availability_lower_bound: dict[str, float]
    broken_by: dict[str, list[str]]  # per slice: the slices whose surge breaks its SLA
    results: list[ClassResult]  # per state


@dataclass(frozen=True)
class Verdict:
    """The answer for one slice."""

    slice: str
    admitted: bool
    order: int
    demands: int
    offered_bps: float
    guaranteed_rate_bps: float
    never_admissible: bool = False
    binding: Binding | None = None
    steering: Steering = Steering.IGP
    normal: Check | None = None
    worst_failure: str | None = None
    worst_failure_check: Check | None = None
    failures_violating: tuple[str, ...] = ()
    availability: float | None = None
    availability_lower_bound: float | None = None
    isolated: bool | None = None
    broken_by_surge_of: tuple[str, ...] = ()
    bound_fastest_delay_s: float | None = None

    @property
    def reason(self) -> str | None:
        return self.binding.message if self.binding is not None else None

    def to_document(self, spec: Slice) -> dict[str, Any]:
        return {"slice": self.slice, "name": spec.name or spec.id, "admitted": self.admitted,
                "order": self.order, "priority": spec.priority, "demands": self.demands,
                "offered_bps": self.offered_bps,
                "guaranteed_rate_bps": self.guaranteed_rate_bps,
                "class": f"slice:{self.slice}", "steering": self.steering.value,
                "sla": {"max_delay_s": spec.max_delay_s, "max_loss": spec.max_loss,
                        "min_availability": spec.min_availability,
                        "isolation": spec.isolation},
                "normal": self.normal.to_document() if self.normal else None,
                "worst_failure": self.worst_failure,
                "worst_failure_check": (self.worst_failure_check.to_document()
                                        if self.worst_failure_check else None),
                "failures_violating": list(self.failures_violating),
                "availability": self.availability,
                "availability_lower_bound": self.availability_lower_bound,
                "isolated": self.isolated,
                "broken_by_surge_of": list(self.broken_by_surge_of),
                "never_admissible": self.never_admissible, "reason": self.reason,
                "binding": self.binding.to_document() if self.binding else None,
                "fastest_path_delay_s": self.bound_fastest_delay_s}


@dataclass(frozen=True, eq=False)
class SlicePlan:
    """Verdicts per slice and the mapping that carries the admitted ones: ``to_document()``
    is out.json, ``policy_document()`` the QoS policy file, ``paths_document()`` the
    explicit paths (min-delay and widest-path slices, everything up), ``marked_network()``
    the network with the slices' demands in their classes at the rates they were checked
    at."""

    network: Network
    slices: tuple[SliceDemands, ...]
    verdicts: tuple[Verdict, ...]
    mapping: SliceMapping
    states: tuple[FailureState, ...]
    survive: Survive
    seconds: float
    evaluations: int

    @property
    def admitted(self) -> list[str]:
        return [v.slice for v in self.verdicts if v.admitted]

    def verdict(self, slice_id: str) -> Verdict:
        return next(v for v in self.verdicts if v.slice == slice_id)

    def policy_document(self) -> dict[str, Any]:
        return policy_document(self.mapping.compiled, self.mapping.policy)

    def paths_document(self) -> dict[str, Any]:
        pins = self.mapping.pins[0]
        ids = self.network.demand_ids
        c = self.mapping.compiled
        return {"paths": [
            {"demand": ids[int(d)],
             "via": [c.node_ids[c.arc_src[pins.arc[pins.ptr[i]]]]]
             + [c.node_ids[c.arc_dst[a]] for a in pins.arc[pins.ptr[i]:pins.ptr[i + 1]]]}
            for i, d in enumerate(pins.demand.tolist())]}

    def marked_network(self) -> Network:
        """The network with each admitted slice's demands in its class (ids kept) at the
        rates the verdicts hold for."""
        c = self.mapping.compiled
        d = self.network.demands
        # the peaks move with the rates, as the verdicts queued them
        arrivals = None if d.arrivals is None else d.arrivals.rerated(d.rate_bps,
                                                                      self.mapping.rate_bps)
        table = dataclasses.replace(
            d, rate_bps=self.mapping.rate_bps.copy(),
            class_index=c.demand_class.astype(np.int16), class_names=c.class_names,
            ids=tuple(self.network.demand_ids), arrivals=arrivals)
        return dataclasses.replace(self.network, demands=table)

    def to_document(self) -> dict[str, Any]:
        specs = {s.id: s.spec for s in self.slices}
        return {"network": self.network.name, "survive": self.survive.value,
                "admitted": self.admitted,
                "rejected": [v.slice for v in self.verdicts if not v.admitted],
                "slices": [v.to_document(specs[v.slice]) for v in self.verdicts],
                "failures_checked": len(self.states) - 1,
                "surge_factor": SURGE, "classes": list(self.mapping.policy.priority),
                "steering": {k: v.value for k, v in self.mapping.steering.items()},
                "seconds": self.seconds, "evaluations": self.evaluations}


def policy_document(net: CompiledNetwork, policy: ClassPolicy) -> dict[str, Any]:
    """The QoS policy file (``io.qos_policy``) of a WFQ policy: the most common weights as
    the default, and the ports whose weights differ from it."""
    rows = Counter(tuple(r) for r in policy.weights.tolist())
    default = list(rows.most_common(1)[0][0]) if rows else [1.0] * len(policy.priority)
    ports = {f"{net.link_ids[a // 2]}:{'ab'[a % 2]}": {"weights": w}
             for a, w in enumerate(policy.weights.tolist()) if w != default}
    k = len(policy.priority)
    return {"classes": list(policy.priority),
            "default": {"scheduler": "wfq", "weights": default,
                        "buffer_packets": BUFFER_PACKETS},
            "packets": {"mean_bytes": [IMIX_MEAN_PACKET_BYTES] * k,
                        "size_scv": [IMIX_PACKET_SCV] * k},
            "ports": ports}


def verdict_rows(plan: SlicePlan) -> list[dict[str, Any]]:
    """One row per slice for tables: verdict, steering, delay and loss, availability,
    isolation, and the reason when rejected."""
    return [{"slice": v.slice, "admitted": v.admitted, "steering": v.steering.value,
            "guaranteed_bps": v.guaranteed_rate_bps,
            "delay_s": v.normal.worst_delay_s if v.normal else None,
            "failure_delay_s": (v.worst_failure_check.worst_delay_s
                                if v.worst_failure_check else None),
            "loss": v.normal.max_loss if v.normal else None,
            "availability": v.availability, "isolated": v.isolated,
            "reason": v.reason} for v in plan.verdicts]

