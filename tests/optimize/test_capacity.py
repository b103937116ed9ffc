"""Capacity planning against oracles: networkx full recomputation of every failure, brute
force over module combinations (and over candidate subsets), the LP bound."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from nettwin.errors import NettwinError
from nettwin.model import Network, build_network
from nettwin.optimize.capacity import (
    Candidate,
    InfeasiblePlanError,
    LinkOffer,
    Module,
    ModuleCatalogue,
    Resilience,
    apply_capacity_plan,
    greedy_capacity,
    plan_capacity,
)
from nettwin.reference.networkx_ecmp import reference_ecmp

from .conftest import ring_network

MODULES = (Module(1e9, 10.0), Module(4e9, 30.0), Module(10e9, 65.0))


def _scenarios(network: Network, resilience: Resilience) -> list[np.ndarray]:
    """arc_up masks: normal, then every single link down (networkx's view of failures)."""
    m = 2 * len(network.links)
    masks = [np.ones(m, bool)]
    if resilience is not Resilience.NONE:
        for i in range(len(network.links)):
            up = np.ones(m, bool)
            up[2 * i:2 * i + 2] = False
            masks.append(up)
    return masks


def _worst_loads(network: Network, resilience: Resilience) -> np.ndarray:
    """Per link, per direction: the worst load over the scenarios, recomputed from scratch."""
    loads = [reference_ecmp(network, up).arc_load_bps for up in _scenarios(network, resilience)]
    return np.max(loads, axis=0).reshape(-1, 2)


def _brute_force_link(offer: LinkOffer, need_bps: float) -> float:
    """Cheapest module multiset adding at least ``need_bps`` (every count vector tried)."""
    if need_bps <= 1e-6:
        return 0.0
    most = offer.max_modules if offer.max_modules is not None else 12
    best = math.inf
    for counts in itertools.product(range(most + 1), repeat=len(offer.modules)):
        if sum(counts) > most:
            continue
        cap = sum(c * m.capacity_bps for c, m in zip(counts, offer.modules, strict=True))
        if cap >= need_bps * (1 - 1e-12):
            best = min(best, sum(c * m.cost for c, m in zip(counts, offer.modules, strict=True)))
    return best


def _brute_force_cost(network: Network, offer: LinkOffer, threshold: float,
                      resilience: Resilience, factor: float = 1.0) -> float:
    worst = _worst_loads(network, resilience)
    total = 0.0
    for i, link in enumerate(network.links.values()):
        need = max(factor * worst[i, 0] / threshold - link.capacity_ab_bps,
                   factor * worst[i, 1] / threshold - link.capacity_ba_bps)
        total += _brute_force_link(offer, need)
    return total


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_per_link_optimum_equals_brute_force(seed: int) -> None:
    network = ring_network(seed, 7, 4)
    offer = LinkOffer(MODULES, max_modules=12)
    plan = plan_capacity(network, ModuleCatalogue(default=offer), threshold=0.8)
    oracle = _brute_force_cost(network, offer, 0.8, Resilience.N1)
    assert plan.status == "optimal"
    assert plan.cost == pytest.approx(oracle, rel=1e-9)
    assert plan.lp_bound is not None and plan.best_bound is not None
    assert plan.lp_bound <= plan.cost + 1e-6
    assert plan.best_bound <= plan.cost + 1e-6
    assert plan.gap is not None and plan.gap <= 1e-6


@pytest.mark.parametrize("resilience", [Resilience.NONE, Resilience.N1])
def test_final_sweep_agrees_with_full_recomputation(resilience: Resilience) -> None:
    network = ring_network(3, 8, 5)
    plan = plan_capacity(network, ModuleCatalogue(default=LinkOffer(MODULES)),
                         threshold=0.7, resilience=resilience)
    planned = apply_capacity_plan(network, plan)
    capacity = np.array([[lk.capacity_ab_bps, lk.capacity_ba_bps]
                         for lk in planned.links.values()]).ravel()
    masks = _scenarios(planned, resilience)
    utils = [float(np.max(reference_ecmp(planned, up).arc_load_bps / capacity))
             for up in masks]
    assert max(utils) <= 0.7 * (1 + 1e-9)
    assert plan.worst_utilisation_normal == pytest.approx(utils[0], rel=1e-9)
    if resilience is Resilience.N1:
        assert plan.worst_utilisation_failure == pytest.approx(max(utils[1:]), rel=1e-9)
        assert plan.failures_checked == len(network.links)
    # upgrades say what was added, and add up to the cost
    assert sum(u["cost"] for u in plan.upgrades) == pytest.approx(plan.cost)
    for u in plan.upgrades:
        added = sum(m["capacity_bps"] * m["count"] for m in u["modules"])
        assert u["capacity_bps_after"] - u["capacity_bps_before"] == pytest.approx(added)
        assert planned.links[u["link"]].capacity_ab_bps == pytest.approx(u["capacity_bps_after"])


def _triangle(rate_bps: float) -> Network:
    links = [{"id": f"{a}{b}", "a": a, "b": b, "capacity_bps": 1e9, "metric": 1}
             for a, b in (("A", "B"), ("B", "C"), ("A", "C"))]
    return build_network("triangle", [{"id": n} for n in "ABC"], links,
                         [{"src": "A", "dst": "B", "rate_bps": rate_bps}])


def test_greedy_is_never_cheaper_and_loses_where_bulk_modules_overshoot() -> None:
    # 10G at 10 is the best price per bit/s; greedy buys it, though 4G at 4.4 suffices
    offer = LinkOffer((Module(10e9, 10.0), Module(4e9, 4.4)))
    network = _triangle(3e9)
    catalogue = ModuleCatalogue(default=offer)
    best = plan_capacity(network, catalogue, threshold=0.8)
    greedy = greedy_capacity(network, catalogue, threshold=0.8)
    oracle = _brute_force_cost(network, offer, 0.8, Resilience.N1)
    assert best.cost == pytest.approx(oracle)
    assert greedy.cost > best.cost
    for seed in (1, 4):
        ring = ring_network(seed, 6, 3)
        cat = ModuleCatalogue(default=LinkOffer(MODULES))
        assert greedy_capacity(ring, cat).cost >= plan_capacity(ring, cat).cost - 1e-9
        assert greedy_capacity(ring, cat).worst_utilisation_failure <= 0.8 * (1 + 1e-9)


def test_years_persist_and_total_equals_the_final_year_alone() -> None:
    # without discounting, modules bought early serve later years: the cheapest total is
    # the cheapest cover of the last year's need (brute force), spread over the years
    network = ring_network(2, 6, 3)
    offer = LinkOffer(MODULES, max_modules=12)
    plan = plan_capacity(network, ModuleCatalogue(default=offer), growth=1.4, years=3)
    oracle = _brute_force_cost(network, offer, 0.8, Resilience.N1, factor=1.4 ** 3)
    assert plan.cost == pytest.approx(oracle, rel=1e-9)
    assert [y.traffic_factor for y in plan.years] == pytest.approx([1.4, 1.4 ** 2, 1.4 ** 3])
    assert sum(y.cost for y in plan.years) == pytest.approx(plan.cost)
    for y in plan.years:
        assert y.worst_utilisation_failure is not None
        assert y.worst_utilisation_failure <= 0.8 * (1 + 1e-9)
    # what a year adds comes on top of what earlier years installed (never removed)
    for y in plan.years:
        for u in y.upgrades:
            assert u["capacity_bps_after"] > u["capacity_bps_before"]


def test_discounting_couples_the_years() -> None:
    network = ring_network(2, 6, 3)
    cat = ModuleCatalogue(default=LinkOffer(MODULES))
    plain = plan_capacity(network, cat, growth=1.4, years=3)
    discounted = plan_capacity(network, cat, growth=1.4, years=3, discount_rate=0.3)
    assert discounted.cost_discounted <= plain.cost_discounted + 1e-6
    assert discounted.cost_discounted < discounted.cost or discounted.cost == 0
    assert discounted.gap is not None and discounted.gap <= 1e-4


def _line(n: int) -> Network:
    nodes = [{"id": f"n{i}"} for i in range(n)]
    links = [{"id": f"l{i}", "a": f"n{i}", "b": f"n{i + 1}", "capacity_bps": 1e9, "metric": 1}
             for i in range(n - 1)]
    return build_network("line", nodes, links,
                         [{"src": "n0", "dst": f"n{n - 1}", "rate_bps": 2e9}])


def test_bridge_failure_is_explained_not_dumped() -> None:
    with pytest.raises(InfeasiblePlanError) as info:
        plan_capacity(_line(4), ModuleCatalogue(default=LinkOffer(MODULES)))
    text = str(info.value)
    assert "disconnects" in text and "n0 -> n3" in text and "--candidates" in text
    assert info.value.binding["constraint"] == "connectivity"
    # without failures the same network is plannable
    plan = plan_capacity(_line(4), ModuleCatalogue(default=LinkOffer(MODULES)),
                         resilience=Resilience.NONE)
    assert plan.worst_utilisation_normal <= 0.8


def test_too_few_modules_names_the_link_and_the_shortfall() -> None:
    network = _triangle(30e9)
    offer = LinkOffer((Module(10e9, 10.0),), max_modules=2)
    with pytest.raises(InfeasiblePlanError) as info:
        plan_capacity(network, ModuleCatalogue(default=offer))
    binding = info.value.binding
    assert binding["constraint"] == "link capacity"
    # the oracle: 30G at 0.8 needs 37.5G, minus the 1G there; two 10G modules add 20G
    assert binding["need_bps"] == pytest.approx(30e9 / 0.8 - 1e9)
    assert binding["available_bps"] == pytest.approx(20e9)
    assert binding["link"] in str(info.value) and "max_modules" in str(info.value)


def test_an_empty_module_catalogue_plans_or_names_the_link() -> None:
    # no module offered anywhere: nothing to decide, the MILP has no variable at all
    empty = ModuleCatalogue(default=LinkOffer(()))
    # 0.5G over 1G links: under 0.8 even with AB down (the oracle sweep), so nothing to buy
    plan = plan_capacity(_triangle(0.5e9), empty)
    assert plan.cost == 0 and not plan.upgrades
    assert plan.worst_utilisation_failure == pytest.approx(
        _worst_loads(_triangle(0.5e9), Resilience.N1).max() / 1e9)
    # 2G needs more on AB (the oracle: 2G / 0.8 - 1G) and nothing can be added
    with pytest.raises(InfeasiblePlanError) as info:
        plan_capacity(_triangle(2e9), empty)
    assert info.value.binding["need_bps"] == pytest.approx(2e9 / 0.8 - 1e9)
    assert info.value.binding["available_bps"] == 0


def _subset_oracle(network: Network, candidates: list[Candidate], offer: LinkOffer,
                   threshold: float, factor: float = 1.0) -> float:
    """Every subset of candidates built, each priced by brute force; the cheapest that
    keeps every demand connected under every failure."""
    best = math.inf
    for r in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, r):
            links = dict(network.links)
            for c in subset:
                links[c.id] = c.link()
            net = dataclasses.replace(network, links=links)
            lost = any(not reference_ecmp(net, up).routed.all()
                       for up in _scenarios(net, Resilience.N1))
            if lost:
                continue
            cost = _brute_force_cost(net, offer, threshold, Resilience.N1, factor)
            best = min(best, cost + sum(c.setup_cost for c in subset))
    return best


def test_candidate_links_match_the_subset_brute_force() -> None:
    network = _line(4)
    offer = LinkOffer((Module(1e9, 10.0), Module(4e9, 30.0)), max_modules=8)
    candidates = [Candidate("c03", "n0", "n3", 3, setup_cost=50.0),
                  Candidate("c02", "n0", "n2", 1, setup_cost=20.0),
                  Candidate("c13", "n1", "n3", 2, setup_cost=25.0)]
    plan = plan_capacity(network, ModuleCatalogue(default=offer), candidates=candidates)
    oracle = _subset_oracle(network, candidates, offer, 0.8)
    assert plan.status == "optimal"
    assert plan.cost == pytest.approx(oracle)
    assert plan.new_links
    assert plan.lp_bound is not None and plan.lp_bound <= plan.cost + 1e-6
    assert plan.worst_utilisation_failure is not None
    assert plan.worst_utilisation_failure <= 0.8 * (1 + 1e-9)
    planned = apply_capacity_plan(network, plan)
    assert {n["link"] for n in plan.new_links} <= set(planned.links)


def test_candidates_over_years_take_the_lazy_master_to_the_same_optimum() -> None:
    # several years: the master MILP with pattern rows (no enumeration). Without discount
    # the cheapest total is the cheapest candidate set and cover for the last year's traffic
    network = _line(4)
    offer = LinkOffer((Module(1e9, 10.0), Module(4e9, 30.0)), max_modules=8)
    candidates = [Candidate("c03", "n0", "n3", 3, setup_cost=50.0),
                  Candidate("c02", "n0", "n2", 1, setup_cost=20.0),
                  Candidate("c13", "n1", "n3", 2, setup_cost=25.0)]
    plan = plan_capacity(network, ModuleCatalogue(default=offer), candidates=candidates,
                         growth=1.2, years=2)
    assert plan.status == "optimal"
    assert plan.cost == pytest.approx(_subset_oracle(network, candidates, offer, 0.8, 1.44))
    assert plan.best_bound is not None and plan.best_bound <= plan.cost + 1e-6
    built = [n["link"] for y in plan.years for n in y.new_links]
    assert len(built) == len(set(built))  # a link is built once and stays
    for y in plan.years:
        assert y.worst_utilisation_failure is not None
        assert y.worst_utilisation_failure <= 0.8 * (1 + 1e-9)


def test_bad_arguments_are_named() -> None:
    cat = ModuleCatalogue(default=LinkOffer(MODULES))
    with pytest.raises(NettwinError, match="threshold"):
        plan_capacity(_triangle(1e9), cat, threshold=1.5)
    with pytest.raises(NettwinError, match=r"candidate link 'x'.*not in the network"):
        plan_capacity(_triangle(1e9), cat, candidates=[Candidate("x", "A", "Z", 1)])


def test_srlg_events_are_survived_as_the_recomputation_confirms() -> None:
    # two ring links share a duct: losing both at once must stay under the threshold too
    base = ring_network(4, 6, 2)
    links = [dataclasses.replace(lk, srlgs=("duct",)) if lid in ("l0", "l3") else lk
             for lid, lk in base.links.items()]
    network = dataclasses.replace(base, links={lk.id: lk for lk in links})
    cat = ModuleCatalogue(default=LinkOffer(MODULES))
    n1 = plan_capacity(network, cat, resilience=Resilience.N1)
    srlg = plan_capacity(network, cat, resilience=Resilience.SRLG)
    assert srlg.cost >= n1.cost
    assert srlg.failures_checked == len(network.links) + 1
    planned = apply_capacity_plan(network, srlg)
    capacity = np.array([[lk.capacity_ab_bps, lk.capacity_ba_bps]
                         for lk in planned.links.values()]).ravel()
    up = np.ones(capacity.size, bool)
    for i, lid in enumerate(planned.links):
        if lid in ("l0", "l3"):
            up[2 * i:2 * i + 2] = False
    duct = float(np.max(reference_ecmp(planned, up).arc_load_bps / capacity))
    assert duct <= 0.8 * (1 + 1e-9)
    assert srlg.worst_utilisation_failure is not None
    assert duct <= srlg.worst_utilisation_failure + 1e-9
