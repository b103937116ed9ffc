"""Loads a capacity plan must carry: per link, the worst over normal operation and every
failure of the chosen kind, for one set of opened candidate links (a *pattern*).

Capacity does not change IGP routing, so one incremental sweep per pattern gives every
link's worst load at once (run on unit capacities, the sweep's worst "utilisation" is the
worst load in bit/s); traffic growth scales loads linearly. Only opening a candidate link
changes routing, hence a new sweep per pattern.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork, compile_network
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import prepare_baseline
from nettwin.engine.shortest_paths import UNREACHABLE
from nettwin.model import Network
from nettwin.model.elements import Link
from nettwin.scenarios.sweep import Failure, link_failures, srlg_failures

LOST_TOLERANCE_BPS = 1e-6  # below this, traffic "lost" under a failure is rounding


class Resilience(enum.Enum):
    """Which failures the plan must survive below the threshold."""

    NONE = "none"
    N1 = "n-1"  # every single link failure
    SRLG = "srlg"  # every single link failure and every shared-risk group event


@dataclass(frozen=True)
class Candidate:
    """A link that may be built: endpoints, IGP metric, and its one-off cost."""

    id: str
    a: str
    b: str
    metric: int
    setup_cost: float = 0.0
    length_km: float | None = None
    srlgs: tuple[str, ...] = ()

    def link(self) -> Link:
        """The link as built, before any module (capacity is added by the plan)."""
        return Link(self.id, self.a, self.b, 0.0, 0.0, self.metric, self.metric,
                    length_km=self.length_km, srlgs=self.srlgs)


@dataclass(frozen=True, eq=False)
class PatternLoads:
    """Worst loads with the candidates in ``opened`` built (traffic as given, factor 1)."""

    opened: frozenset[str]
    link_ids: tuple[str, ...]  # network links, then opened candidates in candidate order
    normal_bps: np.ndarray  # float64[links, 2]: load a->b, b->a with nothing failed
    worst_bps: np.ndarray  # float64[links, 2]: worst over normal and every failure
    worst_failure: tuple[str | None, ...]  # per link: label of the failure behind worst_bps
    failures: tuple[Failure, ...]
    failure_lost_bps: np.ndarray  # float64[failures]: traffic a failure cuts off
    normal_unroutable: tuple[tuple[str, str, float], ...]  # (src, dst, bps) never routable

    @functools.cached_property
    def position(self) -> dict[str, int]:
        return {lid: i for i, lid in enumerate(self.link_ids)}


def pattern_network(network: Network, candidates: Sequence[Candidate],
                    opened: frozenset[str]) -> Network:
    """The network with the opened candidates added (capacity 0 until modules go in)."""
    if not opened:
        return network
    links = dict(network.links)
    for c in candidates:
        if c.id in opened:
            links[c.id] = c.link()
    return dataclasses.replace(network, links=links)


def failure_sets(network: Network, resilience: Resilience) -> list[Failure]:
    if resilience is Resilience.NONE:
        return []
    out = link_failures(network)
    if resilience is Resilience.SRLG:
        out += srlg_failures(network)
    return out


def evaluate_pattern(network: Network, candidates: Sequence[Candidate],
                     opened: frozenset[str], resilience: Resilience) -> PatternLoads:
    """Sweep normal operation and every failure with ``opened`` built; worst load per link."""
    net = pattern_network(network, candidates, opened)
    compiled = compile_network(net)
    unit = dataclasses.replace(compiled, arc_capacity_bps=np.ones(compiled.n_arcs))
    base = prepare_baseline(unit)
    failures = failure_sets(net, resilience)
    normal = base.load_bps.copy()
    worst = normal.copy()
    worst_set = np.full(unit.n_arcs, -1, np.int64)
    lost = np.zeros(len(failures))
    if failures:
        outcome = evaluate_failure_sets(base, [f.arcs for f in failures])
        better = outcome.arc_worst_utilisation > worst
        worst = np.where(better, outcome.arc_worst_utilisation, worst)
        worst_set = np.where(better, outcome.arc_worst_set, -1)
        lost = outcome.lost_bps
    labels: list[str | None] = []
    for i in range(len(net.links)):
        arc = 2 * i + int(worst[2 * i + 1] > worst[2 * i])
        k = int(worst_set[arc])
        labels.append(failures[k].label if k >= 0 else None)
    return PatternLoads(opened, tuple(net.links), normal.reshape(-1, 2), worst.reshape(-1, 2),
                        tuple(labels), tuple(failures), lost, _unroutable(unit, base.state.dist))


def _unroutable(net: CompiledNetwork, dist: np.ndarray
                ) -> tuple[tuple[str, str, float], ...]:
    """Demands with no path at all in normal operation."""
    out = []
    for j in range(net.destinations.shape[0]):
        for d in net.dest_demand[net.dest_ptr[j]:net.dest_ptr[j + 1]]:
            s = net.demand_src[d]
            rate = float(net.demand_rate_bps[d])
            if rate > 0 and dist[j, s] == UNREACHABLE:
                out.append((net.node_ids[s], net.node_ids[net.destinations[j]], rate))
    return tuple(out)


def cut_side(network: Network, failed_links: Sequence[str], demand: tuple[str, str]
             ) -> set[str]:
    """Nodes still connected to ``demand``'s source once ``failed_links`` are down."""
    adjacency: dict[str, list[str]] = {n: [] for n in network.nodes}
    down = set(failed_links)
    for lid, lk in network.links.items():
        if lid not in down and lk.is_up:
            adjacency[lk.a].append(lk.b)
            adjacency[lk.b].append(lk.a)
    seen = {demand[0]}
    stack = [demand[0]]
    while stack:
        for v in adjacency[stack.pop()]:
            if v not in seen:
                seen.add(v)
                stack.append(v)
    return seen


def disconnected_demands(network: Network, failed_links: Sequence[str]
                         ) -> list[tuple[str, str, float]]:
    """Demands (src, dst, bps) with no path left once ``failed_links`` are down."""
    ids = network.node_ids
    t = network.demands
    down = set(failed_links)
    parent = {n: n for n in network.nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for lid, lk in network.links.items():
        if lid not in down and lk.is_up:
            parent[find(lk.a)] = find(lk.b)
    return [(ids[s], ids[d], float(r)) for s, d, r in zip(t.src, t.dst, t.rate_bps,
                                                           strict=True)
            if r > 0 and find(ids[s]) != find(ids[d])]


def failed_link_ids(failure: Failure, link_ids: Sequence[str]) -> list[str]:
    return sorted({link_ids[int(a) // 2] for a in failure.arcs})

