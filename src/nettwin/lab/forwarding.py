"""The lab's forwarding against the twin's: for every router and every other router's
loopback, the links the kernel forwards on against the ECMP next hops OSPF semantics give
on the lab's topology as it stands (its costs, the links and routers failed on purpose).

``await_tables`` polls the kernels until they equal what is expected twice in a row (a
route table can pass through the expected state while OSPF is still converging), or times
out and says what differs."""

from __future__ import annotations

import time
from dataclasses import dataclass

from nettwin.lab.frr import Lab, LabPlan
from nettwin.model import Network, build_network

NextHops = dict[tuple[str, str], set[str]]


@dataclass(frozen=True)
class Mismatch:
    router: str
    destination: str
    predicted: tuple[str, ...] | None  # None: no route predicted
    kernel: tuple[str, ...] | None


@dataclass(frozen=True)
class ForwardingCheck:
    """How a wait for the kernels to match the twin ended."""

    matched_s: float | None  # None: timed out
    entries: int  # (router, destination) pairs expected
    mismatches: tuple[Mismatch, ...]

    @property
    def matched(self) -> bool:
        return self.matched_s is not None


def network_of(plan: LabPlan, injected: bool = True) -> Network:
    """The lab's topology and traffic as a twin network (nominal rates, the lab's costs);
    with ``injected`` the faults put in by hand too (links and routers failed: their links
    down; links shaped: capacity x factor), else the lab as built (what a twin mirroring it
    starts from)."""
    down = set(plan.down_links) | {lk.id for n in plan.down_nodes for lk in plan.links_of(n)}
    links = []
    for lk in plan.links:
        factor = plan.rate_factor.get(lk.id, 1.0) if injected else 1.0
        links.append({"id": lk.id, "a": lk.a, "b": lk.b, "metric_ab": lk.cost_ab,
                      "metric_ba": lk.cost_ba,
                      "capacity_ab_bps": factor * lk.rate_ab_bps / plan.scale,
                      "capacity_ba_bps": factor * lk.rate_ba_bps / plan.scale,
                      "delay_s": lk.delay_ms / 1e3,
                      "oper_up": not (injected and lk.id in down)})
    demands = [{"src": s, "dst": d, "rate_bps": r / plan.scale} for s, d, r in plan.demands]
    return build_network(f"lab {plan.prefix}", [{"id": n.id} for n in plan.nodes], links,
                         demands)


def expected_next_hops(plan: LabPlan) -> NextHops:
    """(router, destination router) -> links toward its loopback, as OSPF computes them on
    the lab's costs with the failed links and routers taken out (no route: no entry)."""
    from nettwin.engine import compile_network
    from nettwin.engine.nexthops import ecmp_next_hops

    c = compile_network(network_of(plan))
    return {(c.node_ids[s], c.node_ids[t]): {c.link_ids[a // 2] for a in arcs}
            for (s, t), arcs in ecmp_next_hops(c, c.arc_up).items()}


def diff_next_hops(predicted: NextHops, kernel: NextHops) -> tuple[Mismatch, ...]:
    keys = sorted(set(predicted) | set(kernel))
    return tuple(Mismatch(r, t, tuple(sorted(predicted[(r, t)])) if (r, t) in predicted else None,
                          tuple(sorted(kernel[(r, t)])) if (r, t) in kernel else None)
                 for r, t in keys if predicted.get((r, t)) != kernel.get((r, t)))


def await_tables(lab: Lab, expected: NextHops, timeout_s: float,
                 interval_s: float = 0.1) -> tuple[NextHops, float | None]:
    """Poll the kernels until they equal ``expected`` twice in a row (the time of the first
    of the two is returned), or time out (None)."""
    start = time.monotonic()
    matched_at: float | None = None
    while True:
        kernel = lab.kernel_next_hops()
        now = time.monotonic()
        if kernel == expected:
            if matched_at is not None:
                return kernel, matched_at - start
            matched_at = now
        else:
            matched_at = None
        if now - start > timeout_s:
            return kernel, None
        time.sleep(interval_s)


def await_forwarding(lab: Lab, timeout_s: float = 60.0) -> ForwardingCheck:
    """Wait until every kernel forwards as the twin predicts for the lab as it stands."""
    expected = expected_next_hops(lab.plan)
    kernel, took = await_tables(lab, expected, timeout_s)
    return ForwardingCheck(took, len(expected),
                           () if took is not None else diff_next_hops(expected, kernel))
