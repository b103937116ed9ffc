"""Apply a Scenario: structural changes rebuild the network, the rest are array deltas."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork, compile_network
from nettwin.errors import ValidationError
from nettwin.model import Network, build_demands_from_columns, build_network
from nettwin.model.demands import DemandTable
from nettwin.model.problems import Problem, unknown_id_fix
from nettwin.scenarios.changes import (
    AddLink,
    Direction,
    DrainNode,
    FailLink,
    FailNode,
    FailSrlg,
    RemoveLink,
    ScaleTraffic,
    Scenario,
    SetCapacity,
    SetMetric,
    Surge,
)

OSPF_MAX_METRIC = 65_535


@dataclass(frozen=True, eq=False)
class AppliedScenario:
    """The inputs one scenario run needs; the baseline network is never modified."""

    scenario: Scenario
    network: Network
    compiled: CompiledNetwork
    arc_up: np.ndarray
    demand_rate_bps: np.ndarray
    failed_arcs: np.ndarray  # arcs taken down by fail_* changes


def link_arcs(link_position: int, direction: Direction = Direction.BOTH) -> list[int]:
    """Arc numbers of a link (position in the network's link order)."""
    ab, ba = 2 * link_position, 2 * link_position + 1
    return {Direction.AB: [ab], Direction.BA: [ba], Direction.BOTH: [ab, ba]}[direction]


def node_arcs(compiled: CompiledNetwork, node: int) -> np.ndarray:
    """Every arc leaving or entering a node."""
    return np.flatnonzero((compiled.arc_src == node) | (compiled.arc_dst == node))


def srlg_arcs(network: Network, srlg: str) -> list[int]:
    return [a for i, link in enumerate(network.links.values()) if srlg in link.srlgs
            for a in link_arcs(i)]


def _rebuild(network: Network, scenario: Scenario, problems: list[Problem]) -> Network:
    added = [c.record for c in scenario.changes if isinstance(c, AddLink)]
    removed = {c.link for c in scenario.changes if isinstance(c, RemoveLink)}
    surges = [c for c in scenario.changes if isinstance(c, Surge)]
    if not (added or removed or surges):
        return network
    for lid in removed - set(network.links):
        problems.append(Problem(f"scenario {scenario.name!r}: remove_link", "no such link",
                                value=lid, fix="use a link id of the network"))
    links = [lk for lid, lk in network.links.items() if lid not in removed]
    demands: DemandTable = network.demands
    if surges:
        ids = network.node_ids
        t = network.demands
        src = [ids[i] for i in t.src]
        dst = [ids[i] for i in t.dst]
        rate = t.rate_bps.tolist()
        classes = [t.class_names[i] for i in t.class_index]
        demand_ids = list(network.demand_ids)
        for s in surges:
            for source in s.sources:
                src.append(source)
                dst.append(s.target)
                rate.append(s.rate_bps / len(s.sources))
                classes.append(s.traffic_class)
                demand_ids.append(f"{source}->{s.target}:{s.traffic_class}")
        # the plan's arrival processes kept (a surge's demands are Poisson): rebuilt
        # without them every bursty demand would be queued as Poisson in the scenario
        arrivals = None if t.arrivals is None else t.arrivals.rerated(
            t.rate_bps, t.rate_bps, len(src) - len(t))
        demands, found = build_demands_from_columns(src, dst, rate, network.node_index,
                                                    traffic_class=classes, ids=demand_ids,
                                                    arrivals=arrivals)
        problems += [dataclasses.replace(p, element=f"scenario {scenario.name!r}: surge "
                                         + p.element) for p in found]
    if problems:
        raise ValidationError(problems)
    return build_network(network.name, list(network.nodes.values()), [*links, *added],
                         demands, list(network.services.values()),
                         source=f"scenario {scenario.name!r}")


def apply_scenario(network: Network, compiled: CompiledNetwork | None,
                   scenario: Scenario) -> AppliedScenario:
    """Turn a scenario into the arrays a run needs, checking every reference it makes."""
    problems: list[Problem] = []
    changed = _rebuild(network, scenario, problems)
    if changed is not network or compiled is None:
        compiled = compile_network(changed)
    link_pos = {lid: i for i, lid in enumerate(changed.links)}
    node_pos = changed.node_index
    up = compiled.arc_up.copy()
    metric = compiled.arc_metric
    capacity = compiled.arc_capacity_bps
    rate = compiled.demand_rate_bps.copy()
    failed: list[int] = []
    srlgs = {g for link in changed.links.values() for g in link.srlgs}
    big = OSPF_MAX_METRIC if int(metric.max(initial=0)) < OSPF_MAX_METRIC else int(
        metric.max()) + 1

    def missing(what: str, value: str, pool: object) -> None:
        problems.append(Problem(f"scenario {scenario.name!r}", f"no such {what}", value=value,
                                fix=unknown_id_fix(what, value, pool)))  # type: ignore[arg-type]

    for change in scenario.changes:
        if isinstance(change, FailLink):
            if change.link not in link_pos:
                missing("link", change.link, link_pos)
                continue
            failed += link_arcs(link_pos[change.link])
        elif isinstance(change, FailNode | DrainNode):
            if change.node not in node_pos:
                missing("node", change.node, node_pos)
                continue
            v = node_pos[change.node]
            if isinstance(change, FailNode):
                failed += node_arcs(compiled, v).tolist()
            else:
                metric = metric.copy() if metric is compiled.arc_metric else metric
                metric[compiled.arc_src == v] = big
        elif isinstance(change, FailSrlg):
            if change.srlg not in srlgs:
                missing("SRLG", change.srlg, srlgs)
                continue
            failed += srlg_arcs(changed, change.srlg)
        elif isinstance(change, SetMetric | SetCapacity):
            if change.link not in link_pos:
                missing("link", change.link, link_pos)
                continue
            arcs = link_arcs(link_pos[change.link], change.direction)
            if isinstance(change, SetMetric):
                if not isinstance(change.metric, int | np.integer) or change.metric < 1:
                    # a change built in code skips the parser's check; routing needs
                    # metrics of 1 or more (a zero-metric pair of arcs is a loop)
                    problems.append(Problem(
                        f"scenario {scenario.name!r}: set_metric {change.link}",
                        "metric must be a whole number of 1 or more", value=change.metric,
                        fix="give the IGP metric as a whole number, 1 or more"))
                    continue
                metric = metric.copy() if metric is compiled.arc_metric else metric
                metric[arcs] = change.metric
            else:
                capacity = capacity.copy() if capacity is compiled.arc_capacity_bps else capacity
                capacity[arcs] = change.capacity_bps
        elif isinstance(change, ScaleTraffic):
            mask = np.ones(compiled.n_demands, bool)
            if change.node is not None:
                if change.node not in node_pos:
                    missing("node", change.node, node_pos)
                    continue
                v = node_pos[change.node]
                mask &= (compiled.demand_src == v) | (compiled.demand_dst == v)
            if change.service is not None:
                if change.service not in changed.services:
                    missing("service", change.service, changed.services)
                    continue
                members = set(changed.services[change.service].demands)
                mask &= np.array([d in members for d in changed.demand_ids], bool)
            if change.traffic_class is not None:
                if change.traffic_class not in compiled.class_names:
                    missing("traffic class", change.traffic_class, compiled.class_names)
                    continue
                cls = compiled.class_names.index(change.traffic_class)
                mask &= compiled.demand_class == cls
            rate[mask] *= change.factor
    if problems:
        raise ValidationError(problems, f"scenario {scenario.name!r}")
    failed_arcs = np.unique(np.asarray(failed, np.int64))
    up[failed_arcs] = False
    if metric is not compiled.arc_metric or capacity is not compiled.arc_capacity_bps:
        compiled = dataclasses.replace(compiled, arc_metric=metric, arc_capacity_bps=capacity)
    return AppliedScenario(scenario, changed, compiled, up, rate, failed_arcs)
