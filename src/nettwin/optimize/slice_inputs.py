"""What a slice plan starts from: the demands each slice selects (with its guaranteed rate
spread over them), each link's unavailability, and the failure states the plan is checked
in (everything up, then each link failed alone) with their probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nettwin.engine.compiled import CompiledNetwork
from nettwin.errors import ValidationError
from nettwin.model import Network, Slice
from nettwin.model.elements import resolve_length_km
from nettwin.model.problems import Problem
from nettwin.optimize.slice_plan import (
    FailureState,
    SliceDemands,
)
from nettwin.scenarios.risk import RiskModel


def select_demands(network: Network, spec: Slice) -> np.ndarray:
    """Positions of the demands a slice selects: those it lists (itself or through its
    services), and those matching every filter it gives (endpoints, traffic classes)."""
    ids = network.demand_ids
    listed = set(spec.demands)
    for sid in spec.services:
        if sid in network.services:
            listed.update(network.services[sid].demands)
    mask = np.array([d in listed for d in ids], bool) if listed else np.zeros(len(ids), bool)
    if spec.endpoints or spec.traffic_classes:
        table = network.demands
        match = np.ones(len(ids), bool)
        if spec.endpoints:
            ends = np.array([network.node_index[n] for n in spec.endpoints
                             if n in network.node_index], np.int64)
            match &= np.isin(table.src, ends) & np.isin(table.dst, ends)
        if spec.traffic_classes:
            names = np.array([n in spec.traffic_classes for n in table.class_names], bool)
            match &= names[table.class_index] if names.size else False
        mask |= match
    return np.flatnonzero(mask)


def resolve_slices(network: Network, slices: Sequence[Slice] | None = None
                   ) -> tuple[SliceDemands, ...]:
    """Each slice's demands and rates, or a ValidationError naming every slice that selects
    nothing or shares a demand with another."""
    specs = list(network.slices.values()) if slices is None else list(slices)
    problems: list[Problem] = []
    owner: dict[int, str] = {}
    out: list[SliceDemands] = []
    rate = network.demands.rate_bps
    if len({s.id for s in specs}) != len(specs):
        problems.append(Problem("slices", "a slice id is used twice", field="id",
                                fix="give each slice its own id"))
    for spec in specs:
        label = f"slice {spec.id!r}"
        index = select_demands(network, spec)
        if not index.size:
            problems.append(Problem(label, "selects no demand of this traffic",
                                    field="endpoints" if spec.endpoints else "traffic_classes",
                                    value=list(spec.endpoints or spec.traffic_classes) or None,
                                    fix="add its demands to the traffic, or select existing "
                                        "ones (demands, services, endpoints, traffic_classes)"))
            continue
        shared = [int(d) for d in index.tolist() if int(d) in owner]
        if shared:
            problems.append(Problem(label, f"shares demand {network.demand_ids[shared[0]]!r} "
                                    f"with slice {owner[shared[0]]!r}", field="demands",
                                    value=network.demand_ids[shared[0]],
                                    fix="narrow the selectors: a demand is in one slice"))
            continue
        owner.update(dict.fromkeys(index.tolist(), spec.id))
        offered = rate[index].astype(np.float64)
        total = float(offered.sum())
        want = spec.guaranteed_rate_bps
        if want is None or want <= total:
            scaled = offered.copy()
        elif total > 0:
            scaled = offered * (want / total)
        else:  # nothing offered yet: the guarantee split evenly
            scaled = np.full(index.size, want / index.size)
        out.append(SliceDemands(spec, index, total, scaled))
    if problems:
        raise ValidationError(problems, "slices")
    return tuple(out)


def link_unavailability(network: Network, risk: RiskModel | None = None) -> np.ndarray:
    """Per link (network order): MTTR / (MTBF + MTTR) as ``scenarios.risk`` models it."""
    model = risk or RiskModel()
    return np.array([model.link_unavailability(
        resolve_length_km(lk, network.nodes[lk.a], network.nodes[lk.b]), lk.attributes)
        for lk in network.links.values()])


def failure_states(net: CompiledNetwork, unavailability: np.ndarray) -> list[FailureState]:
    """Everything up, then each up link failed alone, with their probabilities."""
    up_links = [i for i in range(len(net.link_ids)) if net.arc_up[2 * i] or net.arc_up[2 * i + 1]]
    u = np.clip(unavailability, 0.0, 1.0 - 1e-12)
    p_all = float(np.prod(1.0 - u[up_links])) if up_links else 1.0
    states = [FailureState(None, net.arc_up.copy(), p_all, 1.0 - float(u[up_links].sum()))]
    for i in up_links:
        ok = net.arc_up.copy()
        ok[2 * i] = ok[2 * i + 1] = False
        states.append(FailureState(net.link_ids[i], ok, p_all * u[i] / (1.0 - u[i]),
                                   float(u[i])))
    return states
