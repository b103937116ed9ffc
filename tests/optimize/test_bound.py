"""The multicommodity-flow bound against optima known by hand and by brute force over cuts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.model import build_network
from nettwin.optimize import BoundMethod, mcf_bound
from nettwin.optimize.bound import cut_bound

from .conftest import ring_network


def _triangle(cap_direct: float, cap_detour: float, rate: float):  # type: ignore[no-untyped-def]
    links = [{"id": "st", "a": "s", "b": "t", "capacity_bps": cap_direct},
             {"id": "sa", "a": "s", "b": "a", "capacity_bps": cap_detour},
             {"id": "at", "a": "a", "b": "t", "capacity_bps": cap_detour}]
    return build_network("triangle", [{"id": x} for x in "sat"], links,
                         [{"src": "s", "dst": "t", "rate_bps": rate}])


@pytest.mark.parametrize(("direct", "detour", "rate", "optimum"), [
    (10e9, 10e9, 10e9, 0.5),  # split evenly over the two paths
    (10e9, 30e9, 20e9, 0.5),  # x / 10 = (20 - x) / 30 -> x = 5
    (10e9, 10e9, 4e9, 0.2),
])
def test_bound_equals_hand_computed_optimum(direct: float, detour: float, rate: float,
                                            optimum: float) -> None:
    b = mcf_bound(compile_network(_triangle(direct, detour, rate)))
    assert b.method is BoundMethod.MCF_LP
    assert b.value == pytest.approx(optimum, rel=1e-7)


def test_two_commodities_sharing_a_ring() -> None:
    """Square a-b-c-d, 10 G per direction; a->c and b->d at 10 G each. Demand 1 puts x on
    a-b-c and 10 - x on a-d-c, demand 2 y on b-c-d and 10 - y on b-a-d: arc b->c carries
    x + y and arc a->d 20 - x - y, so 1.0 is the best utilisation (x + y = 10)."""
    links = [{"id": f"{x}{y}", "a": x, "b": y, "capacity_bps": 10e9}
             for x, y in ("ab", "bc", "cd", "da")]
    net = build_network("square", [{"id": x} for x in "abcd"], links,
                        [{"src": "a", "dst": "c", "rate_bps": 10e9},
                         {"src": "b", "dst": "d", "rate_bps": 10e9}])
    assert mcf_bound(compile_network(net)).value == pytest.approx(1.0, rel=1e-7)


def _cut_optimum(net) -> float:  # type: ignore[no-untyped-def]
    """One destination: the least max utilisation is the worst cut (max-flow min-cut),
    max over node sets S without t of traffic leaving S / capacity leaving S."""
    c = compile_network(net)
    t = int(c.destinations[0])
    supply = np.bincount(c.demand_src, weights=c.demand_rate_bps, minlength=c.n_nodes)
    others = [v for v in range(c.n_nodes) if v != t]
    best = 0.0
    for r in range(1, len(others) + 1):
        for subset in itertools.combinations(others, r):
            inside = np.zeros(c.n_nodes, bool)
            inside[list(subset)] = True
            leaving = inside[c.arc_src] & ~inside[c.arc_dst]
            cap = c.arc_capacity_bps[leaving].sum()
            best = max(best, supply[inside].sum() / cap)
    return float(best)


@pytest.mark.parametrize("seed", range(8))
def test_single_destination_bound_equals_the_worst_cut(seed: int) -> None:
    base = ring_network(seed, 7, 4)
    rng = np.random.default_rng(seed)
    demands = [{"src": f"n{s}", "dst": "n0", "rate_bps": float(rng.uniform(1e8, 5e9))}
               for s in range(1, 7)]
    net = build_network("one-sink", list(base.nodes.values()), list(base.links.values()),
                        demands)
    assert mcf_bound(compile_network(net)).value == pytest.approx(_cut_optimum(net), rel=1e-7)


@pytest.mark.parametrize("seed", range(10))
def test_no_ecmp_routing_beats_the_bound(seed: int) -> None:
    net = ring_network(seed, 9, 6)
    c = compile_network(net)
    b = mcf_bound(c)
    assert 0 < cut_bound(c, c.arc_up, c.demand_rate_bps) <= b.value * (1 + 1e-7)
    assert simulate(c).kpis()["max_utilisation"] >= b.value


@pytest.mark.parametrize("seed", range(5))
def test_merged_destinations_give_a_weaker_valid_bound(seed: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    c = compile_network(ring_network(seed, 12, 10))
    exact = mcf_bound(c)
    monkeypatch.setattr("nettwin.optimize.bound.MAX_LP_VARIABLES", 3 * c.n_arcs + 1)
    merged = mcf_bound(c)
    assert merged.method is BoundMethod.MCF_AGGREGATED
    assert cut_bound(c, c.arc_up, c.demand_rate_bps) * (1 - 1e-7) <= merged.value
    assert merged.value <= exact.value * (1 + 1e-7)
