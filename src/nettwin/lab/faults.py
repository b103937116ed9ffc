"""Faults injected into the running FRR lab and observed as a network would report them:
a link cut (carrier lost on both ends), an OSPF cost changed on both routers (vtysh), a
link's data rate shaped down (a lost LAG member: no event, only counters), a router lost.

An episode samples the lab's telemetry (``lab.telemetry``) for a while, injects the fault,
keeps sampling, then clears it and waits until the kernels forward as built again. The
records and the label are what ``nettwin diagnose`` is benchmarked on (``make bench-rca``)
and what ``tests/lab/data`` keeps for re-diagnosis without FRR."""

from __future__ import annotations

import dataclasses
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.lab.forwarding import await_forwarding, network_of
from nettwin.lab.frr import Lab, LabError
from nettwin.lab.telemetry import Telemetry
from nettwin.synth.faults import FaultKind

LAB_KINDS = (FaultKind.LINK_DOWN, FaultKind.METRIC_CHANGED, FaultKind.CAPACITY_DEGRADED,
             FaultKind.NODE_DOWN)


@dataclass(frozen=True)
class LabFault:
    kind: FaultKind
    element: str  # link id, or router id for node_down
    metric: int | None = None  # metric_changed: the new cost, both directions
    capacity_factor: float = 1.0  # capacity_degraded: the share of the capacity left

    def describe(self) -> str:
        extra = (f" to cost {self.metric}" if self.metric is not None else
                 f" to {100 * self.capacity_factor:.0f} %" if self.capacity_factor < 1 else "")
        return f"{self.kind.value} {self.element}{extra}"


def choose_faults(lab: Lab, per_kind: int, seed: int,
                  kinds: tuple[FaultKind, ...] = LAB_KINDS) -> list[LabFault]:
    """``per_kind`` faults of each kind that the counters can show: cost changes that move
    traffic (the twin's ECMP loads shift), capacities shaped below the link's load."""
    from nettwin.engine import compile_network, simulate

    rng = np.random.default_rng(seed)
    net = network_of(lab.plan, injected=False)
    c = compile_network(net)
    load = simulate(c).arc_load_bps
    util = load / c.arc_capacity_bps
    links = list(net.links)
    out: list[LabFault] = []
    for kind in kinds:
        if kind is FaultKind.LINK_DOWN:
            picks = rng.permutation(links)[:per_kind]
            out += [LabFault(kind, str(lk)) for lk in picks]
        elif kind is FaultKind.NODE_DOWN:
            out += [LabFault(kind, str(n)) for n in rng.permutation(list(net.nodes))[:per_kind]]
        elif kind is FaultKind.CAPACITY_DEGRADED:
            busy = [i for i in np.argsort(-np.maximum(util[0::2], util[1::2])).tolist()
                    if max(util[2 * i], util[2 * i + 1]) >= 0.15]
            for i in rng.permutation(busy)[:per_kind].tolist():
                peak = float(max(util[2 * i], util[2 * i + 1]))
                out.append(LabFault(kind, links[i],
                                    capacity_factor=round(float(rng.uniform(0.4, 0.6)) * peak,
                                                          3)))
        elif kind is FaultKind.METRIC_CHANGED:
            found: list[LabFault] = []
            for i in rng.permutation(len(links)).tolist():
                m = int(c.arc_metric[2 * i])
                for new in (min(m * 10, 65_535), max(m // 4, 1)):
                    metric = c.arc_metric.copy()
                    metric[2 * i:2 * i + 2] = new
                    moved = simulate(dataclasses.replace(c, arc_metric=metric)).arc_load_bps
                    if np.abs(moved - load).max() >= 0.1 * c.arc_capacity_bps.min():
                        found.append(LabFault(kind, links[i], metric=new))
                        break
                if len(found) == per_kind:
                    break
            out += found
        else:
            raise LabError(f"the lab cannot inject {kind.value}: use one of "
                           f"{', '.join(k.value for k in LAB_KINDS)}")
    return out


def set_costs(lab: Lab, link_id: str, cost_ab: int, cost_ba: int) -> None:
    """The OSPF cost of a link's two interfaces, on its two routers (vtysh)."""
    lk = lab.plan.link(link_id)
    for router, cost in ((lk.a, cost_ab), (lk.b, cost_ba)):
        proc = subprocess.run(["vtysh", "-N", lab.plan.node(router).ns, "-c",
                               "configure terminal", "-c", f"interface {lk.ifname}", "-c",
                               f"ip ospf cost {cost}"], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise LabError(f"{router}: vtysh refused cost {cost} on {lk.ifname}: "
                           f"{proc.stdout.strip()} {proc.stderr.strip()}")


def inject(lab: Lab, fault: LabFault) -> None:
    if fault.kind is FaultKind.LINK_DOWN:
        lab.fail(fault.element)
    elif fault.kind is FaultKind.NODE_DOWN:
        lab.fail_node(fault.element)
    elif fault.kind is FaultKind.CAPACITY_DEGRADED:
        lab.shape(fault.element, fault.capacity_factor)
    elif fault.kind is FaultKind.METRIC_CHANGED and fault.metric is not None:
        set_costs(lab, fault.element, fault.metric, fault.metric)
    else:
        raise LabError(f"cannot inject {fault.describe()}")


def clear(lab: Lab, fault: LabFault) -> None:
    if fault.kind is FaultKind.LINK_DOWN:
        lab.restore(fault.element)
    elif fault.kind is FaultKind.NODE_DOWN:
        lab.restore_node(fault.element)
    elif fault.kind is FaultKind.CAPACITY_DEGRADED:
        lab.shape(fault.element, 1.0)
    elif fault.kind is FaultKind.METRIC_CHANGED:
        lk = lab.plan.link(fault.element)
        set_costs(lab, fault.element, lk.cost_ab, lk.cost_ba)


@dataclass(frozen=True)
class LabEpisode:
    fault: LabFault
    onset: float  # epoch seconds the fault was injected
    records: list[dict[str, Any]]
    converged_s: float | None  # clear -> kernels back to the lab as built

    def label(self) -> dict[str, Any]:
        return {"kind": self.fault.kind.value, "element": self.fault.element,
                "metric": self.fault.metric, "capacity_factor": self.fault.capacity_factor,
                "onset": self.onset, "description": self.fault.describe()}


def run_episode(lab: Lab, fault: LabFault, before_s: float = 6.0, after_s: float = 10.0,
                interval_s: float = 1.0, settle_timeout_s: float = 20.0) -> LabEpisode:
    """Sample, inject, sample, clear; the records span ``before_s + after_s`` seconds."""
    telemetry = Telemetry(lab)
    records: list[dict[str, Any]] = []

    def sample_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            started = time.monotonic()
            records.extend(telemetry.sample())
            if started + interval_s > end:
                return
            time.sleep(max(0.0, interval_s - (time.monotonic() - started)))

    sample_for(before_s)
    onset = time.time()
    inject(lab, fault)
    try:
        sample_for(after_s)
    finally:
        clear(lab, fault)
    check = await_forwarding(lab, settle_timeout_s)
    time.sleep(2.0)  # queues drain, rates settle before the next episode's baseline
    return LabEpisode(fault, onset, records, check.matched_s)
