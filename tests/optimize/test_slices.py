"""Slice admission against oracles: networkx max flow and shortest paths for the bounds, an
independent per-class engine run (policy and paths read back through io) for every verdict,
every failure state re-simulated under n-1, the x3 surge for isolation, the risk model for
availability."""

from __future__ import annotations

import dataclasses
from typing import Any

import networkx as nx
import numpy as np
import pytest
import yaml

from nettwin.engine import compile_network
from nettwin.engine.classes import ClassResult, simulate_classes, uniform_policy
from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.qos import Scheduler
from nettwin.examples import abilene, example_path
from nettwin.io.explicit_paths import build_paths
from nettwin.io.qos_policy import build_policy
from nettwin.model import Network, build_network
from nettwin.optimize.objective import Survive
from nettwin.optimize.slice_bounds import fastest_path, max_flow
from nettwin.optimize.slices import (
    SURGE,
    SlicePlan,
    Steering,
    link_unavailability,
    plan_slices,
)

from .conftest import ring_network


def _nx_graph(net: CompiledNetwork, down: str | None = None) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n_nodes))
    for a in range(net.n_arcs):
        if down is not None and net.link_ids[a // 2] == down:
            continue
        u, v = int(net.arc_src[a]), int(net.arc_dst[a])
        cap = float(net.arc_capacity_bps[a])
        if g.has_edge(u, v):  # parallel links: capacities add, the fastest counts
            g[u][v]["capacity"] += cap
            g[u][v]["delay"] = min(g[u][v]["delay"], float(net.arc_propagation_s[a]))
        else:
            g.add_edge(u, v, capacity=cap, delay=float(net.arc_propagation_s[a]))
    return g


def _with_lengths(network: Network, seed: int) -> Network:
    rng = np.random.default_rng(seed)
    links = [dataclasses.replace(lk, length_km=float(rng.uniform(50, 2000)))
             for lk in network.links.values()]
    return build_network(network.name, list(network.nodes.values()), links, network.demands)


@pytest.mark.parametrize("seed", range(6))
def test_max_flow_and_fastest_paths_match_networkx(seed: int) -> None:
    network = _with_lengths(ring_network(seed, 9, 6), seed)
    net = compile_network(network)
    g = _nx_graph(net)
    rng = np.random.default_rng(seed)
    sources = [int(x) for x in rng.choice(9, size=2, replace=False)]
    sinks = [v for v in range(9) if v not in sources][: 1 + seed % 3]
    flow = max_flow(net, net.arc_up, sources, sinks)
    h = g.copy()
    for s in sources:
        h.add_edge("S", s, capacity=float("inf"))
    for t in sinks:
        h.add_edge(t, "T", capacity=float("inf"))
    assert flow.value_bps == pytest.approx(nx.maximum_flow_value(h, "S", "T"), rel=1e-9)
    # the reported cut is a cut: its capacity is the flow's value (max-flow min-cut)
    assert net.arc_capacity_bps[flow.cut_arcs].sum() == pytest.approx(flow.value_bps, rel=1e-9)
    dist, _via = fastest_path(net, net.arc_up, sources[0])
    want = nx.single_source_dijkstra_path_length(g, sources[0], weight="delay")
    for v in range(9):
        assert dist[v] == pytest.approx(want[v], rel=1e-12, abs=1e-15)


def _slices(network: Network, records: list[dict[str, Any]]) -> Network:
    return network.with_slices(records)


def test_a_rate_above_the_min_cut_is_never_admissible_under_n_minus_1() -> None:
    network = abilene()
    net = compile_network(network)
    src, dst = network.node_index["Seattle"], network.node_index["Houston"]
    normal = nx.maximum_flow_value(_nx_graph(net), src, dst)
    # brute force over every single link failure: the worst max flow
    worst, worst_link = min((nx.maximum_flow_value(_nx_graph(net, lid), src, dst), lid)
                            for lid in net.link_ids)
    assert worst < normal
    want = (worst + normal) / 2  # fits with everything up, not with the worst failure
    sliced = _slices(network, [{"id": "big", "demands": ["Seattle->Houston"],
                                "guaranteed_rate_bps": want}])
    plan = plan_slices(sliced, survive=Survive.N1)
    v = plan.verdict("big")
    assert not v.admitted and v.never_admissible and v.binding is not None
    assert v.binding.kind == "min-cut"
    assert v.binding.limit == pytest.approx(worst, rel=1e-9)
    assert nx.maximum_flow_value(_nx_graph(net, v.binding.failure), src, dst) == \
        pytest.approx(worst, rel=1e-9)
    assert v.binding.failure is not None and "max flow" in (v.reason or "")
    assert worst_link in net.link_ids
    # with no failure to survive the cut is not binding: the bound passes
    above = _slices(network, [{"id": "big", "demands": ["Seattle->Houston"],
                               "guaranteed_rate_bps": normal * 1.01}])
    v2 = plan_slices(above).verdict("big")
    assert v2.never_admissible and v2.binding is not None
    assert v2.binding.limit == pytest.approx(normal, rel=1e-9) and v2.binding.failure is None


def test_a_delay_below_the_fastest_propagation_is_never_admissible() -> None:
    network = abilene()
    net = compile_network(network)
    src, dst = network.node_index["New-York"], network.node_index["Los-Angeles"]
    fastest = nx.shortest_path_length(_nx_graph(net), src, dst, weight="delay")
    sliced = _slices(network, [{"id": "fast", "demands": ["New-York->Los-Angeles"],
                                "max_delay_s": fastest * 0.99}])
    v = plan_slices(sliced).verdict("fast")
    assert v.never_admissible and v.binding is not None and v.binding.kind == "propagation"
    assert v.binding.value == pytest.approx(fastest, rel=1e-12)
    assert "propagation delay" in (v.reason or "")


def _detour_network() -> Network:
    """A->B direct is fast but costly for the IGP; A-C-B is cheap but 4,000 km long."""
    nodes = [{"id": n} for n in "ABCD"]
    links = [{"id": "AB", "a": "A", "b": "B", "capacity_bps": 10e9, "metric": 10,
              "length_km": 100},
             {"id": "AC", "a": "A", "b": "C", "capacity_bps": 10e9, "metric": 1,
              "length_km": 2000},
             {"id": "CB", "a": "C", "b": "B", "capacity_bps": 10e9, "metric": 1,
              "length_km": 2000},
             {"id": "CD", "a": "C", "b": "D", "capacity_bps": 10e9, "metric": 1,
              "length_km": 300},
             {"id": "DB", "a": "D", "b": "B", "capacity_bps": 10e9, "metric": 5,
              "length_km": 300}]
    demands = [{"src": s, "dst": d, "rate_bps": 1e9} for s in "ABCD" for d in "ABCD" if s != d]
    return build_network("detour", nodes, links, demands)


def _independent(plan: SlicePlan, state: int = 0, scale: dict[str, float] | None = None
                 ) -> tuple[Network, CompiledNetwork, ClassResult]:
    """The engine on the plan's outputs as a user gets them: the marked network, the policy
    and the paths documents read back through io."""
    marked = plan.marked_network()
    c = compile_network(marked)
    policy = build_policy(yaml.safe_load(yaml.safe_dump(plan.policy_document())), c)
    pinned = None
    paths = plan.paths_document()
    if paths["paths"]:
        assert state == 0  # the documents hold the paths with everything up
        pinned = build_paths(paths, marked, c)
    up = c.arc_up.copy()
    link = plan.states[state].link
    if link is not None:
        i = c.link_ids.index(link)
        up[2 * i] = up[2 * i + 1] = False
    rate = c.demand_rate_bps.copy()
    for sid, k in (scale or {}).items():
        rate[plan.slices[[s.id for s in plan.slices].index(sid)].index] *= k
    return marked, c, simulate_classes(c, policy, arc_up=up, demand_rate_bps=rate,
                                       pinned=pinned)


def _worst(plan: SlicePlan, res: ClassResult, sid: str) -> tuple[float, float]:
    idx = next(s.index for s in plan.slices if s.id == sid)
    return float(res.demand_delay_worst_s[idx].max()), float(res.demand_loss[idx].max())


def test_a_slow_igp_path_gets_min_delay_steering_and_its_availability() -> None:
    network = _detour_network().with_slices([
        {"id": "urllc", "demands": ["A->B"], "max_delay_s": 0.005, "max_loss": 1e-4,
         "guaranteed_rate_bps": 2e9}])
    plan = plan_slices(network)
    v = plan.verdict("urllc")
    assert v.admitted and v.steering is Steering.MIN_DELAY
    assert plan.paths_document() == {"paths": [{"demand": "A->B", "via": ["A", "B"]}]}
    _m, _c, res = _independent(plan)
    delay, loss = _worst(plan, res, "urllc")
    assert delay == pytest.approx(v.normal.worst_delay_s, rel=1e-9)  # type: ignore[union-attr]
    assert loss == pytest.approx(v.normal.max_loss, abs=1e-15)  # type: ignore[union-attr]
    # first-order availability: it holds unless AB (its only fast path) fails
    u = dict(zip(network.links, link_unavailability(network), strict=True))
    assert v.failures_violating == ("AB",)
    assert v.availability == pytest.approx(1.0 - u["AB"], rel=1e-12)
    # surviving n-1 is impossible: without AB the fastest path takes 20 ms
    never = plan_slices(network, survive=Survive.N1).verdict("urllc")
    assert never.never_admissible and never.binding is not None
    assert never.binding.kind == "propagation" and never.binding.failure == "AB"
    # an availability target above what AB allows is caught by the bound too
    strict = network.with_slices([{"id": "urllc", "demands": ["A->B"], "max_delay_s": 0.005,
                                   "min_availability": 1.0 - u["AB"] / 2}])
    bad = plan_slices(strict).verdict("urllc")
    assert not bad.admitted and bad.binding is not None and bad.binding.kind in (
        "availability", "sla")


def test_a_slice_the_igp_cannot_carry_gets_the_widest_path() -> None:
    """Two 6 Gbit/s slices from A to B: the IGP puts both on the 10 Gbit/s direct link, the
    second is pinned on the detour A-D-B; an independent run of the written policy and
    paths shows both SLAs met."""
    nodes = [{"id": n} for n in "ABD"]
    links = [{"id": "AB", "a": "A", "b": "B", "capacity_bps": 10e9, "metric": 1},
             {"id": "AD", "a": "A", "b": "D", "capacity_bps": 10e9, "metric": 1},
             {"id": "DB", "a": "D", "b": "B", "capacity_bps": 10e9, "metric": 1}]
    demands = [{"src": "A", "dst": "B", "rate_bps": 1e8},
               {"src": "A", "dst": "B", "rate_bps": 1e8, "traffic_class": "video"},
               {"src": "B", "dst": "A", "rate_bps": 1e8}]
    network = build_network("wide", nodes, links, demands).with_slices([
        {"id": "one", "demands": ["A->B"], "guaranteed_rate_bps": 6e9, "max_loss": 1e-4,
         "priority": 2},
        {"id": "two", "demands": ["A->B:video"], "guaranteed_rate_bps": 6e9,
         "max_loss": 1e-4}])
    plan = plan_slices(network)
    assert plan.admitted == ["one", "two"]
    assert plan.verdict("one").steering is Steering.IGP
    assert plan.verdict("two").steering is Steering.WIDEST
    assert plan.paths_document() == {"paths": [{"demand": "A->B:video",
                                                "via": ["A", "D", "B"]}]}
    _m, _c, res = _independent(plan)
    for sid in ("one", "two"):
        delay, loss = _worst(plan, res, sid)
        v = plan.verdict(sid)
        assert v.normal is not None and loss <= 1e-4
        assert delay == pytest.approx(v.normal.worst_delay_s, rel=1e-9)


@pytest.fixture(scope="module")
def abilene_plan() -> SlicePlan:
    doc = yaml.safe_load(example_path("abilene-slices").read_text(encoding="utf-8"))
    return plan_slices(abilene().with_slices(doc["slices"]), survive=Survive.N1)


def test_a_guarantee_above_the_offer_reads_as_the_slices_file_says(
        abilene_plan: SlicePlan) -> None:
    """Slices offered less than their guarantee are checked at the guarantee: out.json
    gives the file's figure, and with no loss delivers all of it (not 2999999999.9999995,
    the sum of the rates scaled up to it)."""
    doc = yaml.safe_load(example_path("abilene-slices").read_text(encoding="utf-8"))
    scaled = [s for s in doc["slices"] if s.get("guaranteed_rate_bps") is not None
              and abilene_plan.verdict(s["id"]).offered_bps < s["guaranteed_rate_bps"]]
    assert scaled
    for spec in scaled:
        row = abilene_plan.verdict(spec["id"]).to_document(abilene_plan.network.slices[
            spec["id"]])
        assert row["guaranteed_rate_bps"] == spec["guaranteed_rate_bps"]
        if row["admitted"] and row["normal"]["max_loss"] == 0:
            assert row["normal"]["delivered_bps"] == spec["guaranteed_rate_bps"]


def test_every_admitted_verdict_equals_an_independent_run_in_every_failure(
        abilene_plan: SlicePlan) -> None:
    plan = abilene_plan
    assert plan.admitted == ["urllc-east", "embb-west", "mmtc-central"]
    admitted = [v for v in plan.verdicts if v.admitted]
    worst = {v.slice: 0.0 for v in admitted}
    for state in range(len(plan.states)):
        _m, _c, res = _independent(plan, state)
        for v in admitted:
            spec = plan.network.slices[v.slice]
            delay, loss = _worst(plan, res, v.slice)
            if state == 0:
                assert delay == pytest.approx(v.normal.worst_delay_s, rel=1e-9)  # type: ignore[union-attr]
                assert loss == pytest.approx(v.normal.max_loss, abs=1e-12)  # type: ignore[union-attr]
            else:
                worst[v.slice] = max(worst[v.slice], delay)
            # n-1: the SLA holds in every state, as the independent run sees it
            assert spec.max_delay_s is None or delay <= spec.max_delay_s
            assert spec.max_loss is None or loss <= spec.max_loss
    for v in admitted:
        assert v.worst_failure_check is not None
        assert v.worst_failure_check.worst_delay_s == pytest.approx(worst[v.slice], rel=1e-9)
        assert v.failures_violating == () and v.availability == pytest.approx(1.0)
    holo = plan.verdict("holo-coast")
    assert holo.never_admissible and holo.binding is not None and holo.binding.kind == "min-cut"


def _holds(plan: SlicePlan, res: ClassResult, sid: str) -> bool:
    spec = plan.network.slices[sid]
    delay, loss = _worst(plan, res, sid)
    return (spec.max_delay_s is None or delay <= spec.max_delay_s) and (
        spec.max_loss is None or loss <= spec.max_loss)


def _surge_verdicts_agree(plan: SlicePlan) -> None:
    admitted = [v.slice for v in plan.verdicts if v.admitted]
    for x in admitted:
        _m, _c, res = _independent(plan, 0, {x: SURGE})
        for y in admitted:
            if y != x:
                assert _holds(plan, res, y) == (x not in plan.verdict(y).broken_by_surge_of)


def test_isolation_verdicts_equal_an_independent_surge_run(abilene_plan: SlicePlan) -> None:
    _surge_verdicts_agree(abilene_plan)
    assert all(abilene_plan.verdict(s).isolated for s in abilene_plan.admitted)


def test_the_policy_isolates_slices_that_fifo_does_not() -> None:
    """Two slices on one 10 Gbit/s link: a x3 surge of one breaks the other's loss target
    when the port is one FIFO, not under the produced policy."""
    network = _cut_network(3.0)
    plan = plan_slices(network)
    assert sorted(plan.admitted) == ["high", "low"]
    _surge_verdicts_agree(plan)
    assert plan.verdict("high").isolated and plan.verdict("low").isolated
    _m, c, _res = _independent(plan)
    rate = c.demand_rate_bps.copy()
    rate[next(s.index for s in plan.slices if s.id == "low")] *= SURGE
    fifo = simulate_classes(c, uniform_policy(c, Scheduler.FIFO), demand_rate_bps=rate)
    assert not _holds(plan, fifo, "high")


def _cut_network(rate_gbps: float) -> Network:
    """Two slices share the one 10 Gbit/s link into C."""
    nodes = [{"id": n} for n in "ABCD"]
    links = [{"id": "AB", "a": "A", "b": "B", "capacity_bps": 40e9, "metric": 1},
             {"id": "BC", "a": "B", "b": "C", "capacity_bps": 10e9, "metric": 1},
             {"id": "AD", "a": "A", "b": "D", "capacity_bps": 40e9, "metric": 1},
             {"id": "DB", "a": "D", "b": "B", "capacity_bps": 40e9, "metric": 1}]
    demands = [{"src": s, "dst": d, "rate_bps": 1e8} for s in "ABCD" for d in "ABCD" if s != d]
    return build_network("cut", nodes, links, demands).with_slices([
        {"id": "low", "demands": ["B->C"], "guaranteed_rate_bps": rate_gbps * 1e9,
         "max_loss": 1e-3, "priority": 1},
        {"id": "high", "demands": ["A->C", "D->C"], "guaranteed_rate_bps": rate_gbps * 1e9,
         "max_loss": 1e-3, "priority": 5}])


@pytest.mark.parametrize("rate_gbps", [3.0, 6.0])
def test_admission_equals_brute_force_over_the_min_cut(rate_gbps: float) -> None:
    """Two slices share the one 10 Gbit/s link into C: every admission set is checked
    against networkx max flow, and the plan admits, in priority order, what fits."""
    network = _cut_network(rate_gbps)
    net = compile_network(network)
    g = _nx_graph(net)
    idx = network.node_index
    for s in "ABD":
        g.add_edge("S", idx[s], capacity=float("inf"))
    cut = nx.maximum_flow_value(g, "S", idx["C"])
    rates = {"low": rate_gbps * 1e9, "high": rate_gbps * 1e9}
    background = 3 * 1e8  # the other demands into C

    def fits(chosen: list[str]) -> bool:
        return sum(rates[c] for c in chosen) + background <= cut

    greedy: list[str] = []
    for sid in ("high", "low"):  # priority order
        if fits([*greedy, sid]):
            greedy.append(sid)
    plan = plan_slices(network)
    assert sorted(plan.admitted) == sorted(greedy)
    for v in plan.verdicts:
        assert not v.never_admissible  # alone, each fits the cut
        if not v.admitted:
            assert v.binding is not None and v.binding.kind == "sla"


def _pairs_maxflow(g: nx.DiGraph, sources: list[int], sinks: list[int]) -> float:
    h = g.copy()
    for s in sources:
        h.add_edge("S", s, capacity=float("inf"))
    for t in sinks:
        h.add_edge(t, "T", capacity=float("inf"))
    return float(nx.maximum_flow_value(h, "S", "T"))


@pytest.mark.parametrize("seed", range(6))
def test_random_slices_agree_with_the_networkx_bounds(seed: int) -> None:
    """Admitted slices fit every cut and fastest path networkx finds (every single failure
    too with n-1); a slice refused on a bound names a cut or path networkx confirms."""
    rng = np.random.default_rng(100 + seed)
    network = _with_lengths(ring_network(seed, 8, 4, demand_fraction=1.0), seed)
    net = compile_network(network)
    survive = Survive.N1 if seed % 2 else Survive.NONE
    g = _nx_graph(net)
    records = []
    for k in range(3):
        ends = [f"n{int(x)}" for x in rng.choice(8, size=2, replace=False)]
        a, b = network.node_index[ends[0]], network.node_index[ends[1]]
        cut = min(_pairs_maxflow(_nx_graph(net, down), [a], [b]) for down in (
            [None, *net.link_ids] if survive is Survive.N1 else [None]))
        fast = nx.shortest_path_length(g, a, b, weight="delay")
        records.append({"id": f"s{k}", "demands": [f"{ends[0]}->{ends[1]}"],
                        "guaranteed_rate_bps": float(np.exp(rng.uniform(-3, 0.4))) * cut,
                        "max_delay_s": float(rng.uniform(0.7, 3.0)) * fast, "priority": -k})
    plan = plan_slices(network.with_slices(records), survive=survive)
    failures = [None, *net.link_ids] if survive is Survive.N1 else [None]
    for v, s in zip(plan.verdicts, plan.slices, strict=True):
        src, dst = net.demand_src[s.index], net.demand_dst[s.index]
        if v.admitted:
            for down in failures:
                gd = _nx_graph(net, down)
                for i in range(s.index.size):
                    assert s.rate_bps[i] <= _pairs_maxflow(gd, [src[i]], [dst[i]]) * (1 + 1e-9)
                    assert nx.shortest_path_length(gd, int(src[i]), int(dst[i]),
                                                   weight="delay") <= s.spec.max_delay_s
            assert v.normal is not None and v.normal.ok
        elif v.never_admissible:
            b = v.binding
            assert b is not None and b.kind in ("min-cut", "propagation", "connectivity")
            gd = _nx_graph(net, b.failure)
            pairs = list(zip(src.tolist(), dst.tolist(), strict=True))
            if b.kind == "min-cut":
                candidates = [_pairs_maxflow(gd, [p], [q]) for p, q in pairs]
                candidates += [_pairs_maxflow(gd, [p], sorted({q for pp, q in pairs if pp == p}))
                               for p in {p for p, _ in pairs}]
                candidates += [_pairs_maxflow(gd, sorted({p for p, qq in pairs if qq == q}), [q])
                               for q in {q for _, q in pairs}]
                assert b.value is not None and b.limit is not None and b.value > b.limit
                assert min(abs(c - b.limit) for c in candidates) <= 1e-6 * b.limit
            elif b.kind == "propagation":
                paths = [nx.shortest_path_length(gd, p, q, weight="delay") for p, q in pairs
                         if nx.has_path(gd, p, q)]
                assert b.value is not None and s.spec.max_delay_s is not None
                assert b.value > s.spec.max_delay_s
                assert min(abs(d - b.value) for d in paths) <= 1e-12
    assert {v.slice for v in plan.verdicts} == {"s0", "s1", "s2"}


def test_the_marked_network_moves_the_peaks_with_the_guaranteed_rates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A slice scaled up to its guarantee: the marked network's on-off demand keeps its
    shape (peak x the same factor, as the verdicts queued it), and it saves and loads.
    Before, the peak stayed put below the new rate and the saved file did not load."""
    from nettwin.io.formats import NetworkFormat, load_network, save_network
    from tests.conftest import onoff_ring

    net = onoff_ring(capacity_bps=1e8, by_peak=True)
    net = net.with_slices([{"id": "s", "demands": ["d1"], "guaranteed_rate_bps": 1.5e7,
                            "max_delay_s": 0.05}])
    marked = plan_slices(net).marked_network()
    assert marked.demand(0).peak_rate_bps == pytest.approx(3e7)
    save_network(marked, tmp_path / "m.yaml", NetworkFormat.NATIVE)
    assert load_network(tmp_path / "m.yaml").demand(0).peak_rate_bps == pytest.approx(3e7)
