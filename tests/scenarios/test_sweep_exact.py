"""Every incremental sweep result equals a full recomputation (to 1e-9)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nettwin import compile_network, simulate
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import failure_loads, prepare_baseline
from nettwin.io import load_network, load_traffic
from nettwin.model import Network
from nettwin.model.gravity import gravity_demands
from nettwin.scenarios.sweep import plan_link_pairs, run_sweep
from tests.conftest import data_path, networks

REL = 1e-9


def assert_every_failure_exact(network: Network, failure_sets: list[np.ndarray]) -> None:
    compiled = compile_network(network)
    base = prepare_baseline(compiled)
    outcome = evaluate_failure_sets(base, failure_sets)
    base_lost = simulate(compiled).unroutable_bps
    scale = max(1.0, float(compiled.demand_rate_bps.sum()))
    worst = compiled.arc_up * 0.0 + base.load_bps / compiled.arc_capacity_bps
    for i, arcs in enumerate(failure_sets):
        ok = compiled.arc_up.copy()
        ok[arcs] = False
        full = simulate(compiled, arc_up=ok)
        load, lost = failure_loads(base, arcs)
        np.testing.assert_allclose(load, full.arc_load_bps, rtol=REL, atol=REL * scale)
        assert lost + base_lost == pytest.approx(full.unroutable_bps, rel=REL, abs=REL * scale)
        assert outcome.lost_bps[i] == pytest.approx(lost, rel=REL, abs=REL * scale)
        util = full.arc_load_bps / compiled.arc_capacity_bps
        assert outcome.max_utilisation[i] == pytest.approx(util.max(), rel=REL, abs=REL)
        assert outcome.overloaded_arcs[i] == int((util > 1.0 + 1e-12).sum())
        worst = np.maximum(worst, util)
    np.testing.assert_allclose(outcome.arc_worst_utilisation, worst, rtol=REL, atol=REL)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(0, 2**32 - 1))
def test_single_double_and_node_failures_on_random_graphs(network: Network, seed: int) -> None:
    compiled = compile_network(network)
    rng = np.random.default_rng(seed)
    m = compiled.n_arcs
    sets = [np.array([a]) for a in range(m)]
    sets += [np.array([2 * i, 2 * i + 1]) for i in range(m // 2)]
    sets += [rng.choice(m, size=min(m, 3), replace=False) for _ in range(5)]
    sets += [np.flatnonzero((compiled.arc_src == v) | (compiled.arc_dst == v))
             for v in range(compiled.n_nodes)]
    assert_every_failure_exact(network, sets)


@settings(deadline=None)
@given(networks(), st.integers(0, 2**32 - 1))
def test_a_failure_never_shortens_a_path(network: Network, seed: int) -> None:
    from nettwin.engine.simulate import route

    compiled = compile_network(network)
    before = route(compiled, compiled.arc_up, compiled.demand_rate_bps)
    ok = compiled.arc_up & (np.random.default_rng(seed).random(compiled.n_arcs) > 0.3)
    after = route(compiled, ok, compiled.demand_rate_bps)
    assert (after.dist >= before.dist).all()  # unreachable is the largest int64


def test_geant_measured_traffic_all_link_and_node_failures() -> None:
    net = load_network(data_path("sndlib", "xml", "geant.xml"))
    net = load_traffic(net, data_path("traffic", "geant-uhlig-15min",
                                      "demandMatrix-geant-uhlig-15min-20050505-1400.xml"))
    compiled = compile_network(net)
    sets = [np.array([2 * i, 2 * i + 1]) for i in range(len(net.links))]
    sets += [np.flatnonzero((compiled.arc_src == v) | (compiled.arc_dst == v))
             for v in range(compiled.n_nodes)]
    assert_every_failure_exact(net, sets)


def test_rocketfuel_gravity_all_arc_failures() -> None:
    net = load_network(data_path("rocketfuel", "1755", "weights.intra"))
    net = net.with_demands(gravity_demands(np.linspace(1, 4, len(net.nodes)), 1e11))
    assert_every_failure_exact(net, [np.array([a]) for a in range(2 * len(net.links))])


def test_sweep_services_and_rankings_match_full_runs() -> None:
    from nettwin.examples import example_path

    net = load_network(example_path())
    result = run_sweep(net, links=True, nodes=True, srlgs=True, link_pairs=True)
    compiled = compile_network(net)
    assert len(result.failures) == 14 + 11 + 1 + 91
    for i, failure in enumerate(result.failures):
        ok = compiled.arc_up.copy()
        ok[failure.arcs] = False
        full = simulate(compiled, arc_up=ok)
        np.testing.assert_array_equal(result.service_violations[i], full.services.violated)
    rows = result.failure_rows()
    lost = [r["lost_bps"] for r in rows]
    assert lost == sorted(lost, reverse=True)
    breaking = result.failures_breaking("voice-coast-to-coast")
    assert {f.label for f in breaking} >= {"node New-York", "node Los-Angeles"}


def test_pair_plan_prunes_to_critical_links_and_counts_the_rest() -> None:
    plan = plan_link_pairs(100, list(range(99, -1, -1)), max_pairs=300)
    assert plan.total == 4950 and len(plan.pairs) <= 300
    assert plan.skipped == 4950 - len(plan.pairs)
    assert all(a >= 75 and b >= 75 for a, b in plan.pairs)  # the most critical: 99, 98, ...
    assert plan_link_pairs(10, None, 300).skipped == 0


def test_sweep_risk_and_survival_queue_bursty_demands_as_the_full_engine() -> None:
    """On a ring whose service rides an on-off demand (peak 2x its mean, 50 ms bursts) the
    SLA (5 ms) holds with Poisson queues and breaks with the bursty ones (IPP/M/1, ~14 ms).
    Every single-link failure's verdict in the sweep equals the full engine's; with the
    textbook switch none breaks. Before, the sweep queued every link as Poisson whatever
    the options said."""
    from nettwin.engine.options import ArrivalModel, SimulationOptions
    from nettwin.scenarios.risk import RiskModel, run_risk
    from tests.conftest import onoff_ring

    net = onoff_ring()
    compiled = compile_network(net)
    result = run_sweep(net, compiled=compiled)
    for i, failure in enumerate(result.failures):
        ok = compiled.arc_up.copy()
        ok[failure.arcs] = False
        np.testing.assert_array_equal(result.service_violations[i],
                                      simulate(compiled, arc_up=ok).services.violated)
    assert result.service_violations.all()  # ab down too: d1 goes round, still bursty
    textbook = SimulationOptions(arrival_model=ArrivalModel.POISSON)
    assert not run_sweep(net, textbook, compiled=compiled).service_violations.any()
    risk = run_risk(net, RiskModel(), samples=20, seed=1)
    assert risk.service_violated.all()  # growth or not, s1 breaks in every sample
