"""Cascades against a hand-worked chain, Monte Carlo against closed-form probabilities,
and a Dask LocalCluster against the local run."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from nettwin import build_network
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.scenarios import RiskModel, parse_scenario, run_cascade, run_risk, run_sweep
from nettwin.scenarios.risk import wilson_interval


def _diamond():  # type: ignore[no-untyped-def]
    nodes = [{"id": x} for x in "ABC"]
    links = [{"id": "ab1", "a": "A", "b": "B", "capacity_bps": 10e9, "metric": 1},
             {"id": "ab2", "a": "A", "b": "B", "capacity_bps": 10e9, "metric": 1},
             {"id": "ac", "a": "A", "b": "C", "capacity_bps": 4e9, "metric": 5},
             {"id": "cb", "a": "C", "b": "B", "capacity_bps": 4e9, "metric": 5}]
    return build_network("diamond", nodes, links, [{"src": "A", "dst": "B", "rate_bps": 12e9}])


def test_cascade_follows_the_hand_worked_chain() -> None:
    # 12 Gbit/s A->B split 6+6 over ab1/ab2. Cut ab1: ab2 carries 12 (120 %) and trips;
    # the detour A-C-B then carries 12 on 4 Gbit/s links (300 %) and both trip: all lost.
    result = run_cascade(_diamond(), parse_scenario({"changes": [{"fail_link": "ab1"}]}),
                         trip_utilisation=1.0, trip_delay_s=2.0)
    chain = [(t.round, t.time_s, t.link, round(t.utilisation, 6)) for t in result.trips]
    assert chain == [(1, 2.0, "ab2", 1.2), (2, 4.0, "ac", 3.0), (2, 4.0, "cb", 3.0)]
    assert result.lost_bps == pytest.approx(12e9) and result.converged
    calm = run_cascade(_diamond(), parse_scenario({"changes": [{"fail_link": "ac"}]}))
    assert calm.trips == () and calm.lost_bps == 0.0


def test_monte_carlo_matches_closed_form_probabilities() -> None:
    # Two parallel links, each down with probability 0.3 (MTBF 7, MTTR 3): traffic is lost
    # only when both are down, P = 0.09; a link is overloaded when exactly one is down.
    net = build_network("pair", [{"id": "A"}, {"id": "B"}], [
        {"id": f"l{i}", "a": "A", "b": "B", "capacity_bps": 10e9, "metric": 1,
         "attributes": {"mtbf_h": 7.0, "mttr_h": 3.0}} for i in (1, 2)],
        [{"src": "A", "dst": "B", "rate_bps": 12e9}])
    model = RiskModel(include_nodes=False)
    result = run_risk(net, model, samples=20_000, seed=7)
    s = result.summary()
    lo, hi = s["p_traffic_lost_ci95"]
    assert lo <= 0.09 <= hi
    lo, hi = s["p_overload_ci95"]
    assert lo <= 2 * 0.3 * 0.7 <= hi
    again = run_risk(net, model, samples=20_000, seed=7)
    np.testing.assert_array_equal(result.max_utilisation, again.max_utilisation)


def test_growth_scales_utilisation_and_services_are_checked() -> None:
    net = load_network(example_path())
    result = run_risk(net, RiskModel(growth_sigma=0.3, include_nodes=False), samples=400,
                      seed=3)
    from nettwin import compile_network, simulate

    base = simulate(compile_network(net)).kpis()["max_utilisation"]
    no_failure = result.failed_elements == 0
    np.testing.assert_allclose(result.max_utilisation[no_failure],
                               base * result.growth[no_failure], rtol=1e-9)
    # with nothing down, each service is violated exactly when a full simulation at that
    # growth says so (the SLA check of the engine, run from scratch per sample)
    compiled = compile_network(net)
    assert result.service_ids == compiled.service_ids and no_failure.sum() > 100
    for i in np.flatnonzero(no_failure):
        run = simulate(compiled, demand_rate_bps=compiled.demand_rate_bps * result.growth[i])
        np.testing.assert_array_equal(result.service_violated[i], run.services.violated)
    assert result.service_violated[no_failure].any()  # growth does break some SLA


def _triangle():  # type: ignore[no-untyped-def]
    """A-B direct (1 ms, down 20 % of the time) or round C (2 x 20 ms, each down 10 %)."""
    def link(lid: str, a: str, b: str, metric: int, delay_s: float, mtbf_h: float,
             mttr_h: float) -> dict[str, object]:
        return {"id": lid, "a": a, "b": b, "capacity_bps": 10e9, "metric": metric,
                "delay_s": delay_s, "attributes": {"mtbf_h": mtbf_h, "mttr_h": mttr_h}}

    return build_network("triangle", [{"id": x} for x in "ABC"], [
        link("ab", "A", "B", 1, 0.001, 8.0, 2.0), link("ac", "A", "C", 5, 0.02, 9.0, 1.0),
        link("cb", "C", "B", 5, 0.02, 9.0, 1.0)],
        [{"src": "A", "dst": "B", "rate_bps": 1e6}, {"src": "A", "dst": "C", "rate_bps": 1e6}],
        [{"id": "fast", "demands": ["A->B"], "max_delay_s": 0.01, "max_loss": 0.01},
         {"id": "reach", "demands": ["A->C"], "max_delay_s": 1.0, "max_loss": 0.01}])


def triangle_probabilities() -> dict[str, float]:
    """By enumeration of the 8 up/down states: 'fast' (10 ms) needs the direct link, the
    detour takes 40 ms; 'reach' only needs a path A->C; traffic is lost when either demand
    has no path."""
    p_down = {"ab": 0.2, "ac": 0.1, "cb": 0.1}
    out = {"fast": 0.0, "reach": 0.0, "lost": 0.0}
    for ab, ac, cb in itertools.product((True, False), repeat=3):  # True: up
        p = math.prod(1 - p_down[k] if up else p_down[k]
                      for k, up in (("ab", ab), ("ac", ac), ("cb", cb)))
        a_to_b = ab or (ac and cb)
        a_to_c = ac or (ab and cb)
        out["fast"] += p * (not ab)
        out["reach"] += p * (not a_to_c)
        out["lost"] += p * (not (a_to_b and a_to_c))
    return out


def test_service_violation_matches_enumerated_availability() -> None:
    want = triangle_probabilities()
    assert want["fast"] == pytest.approx(0.2) and want["reach"] == pytest.approx(0.028)
    s = run_risk(_triangle(), RiskModel(include_nodes=False), samples=20_000,
                 seed=11).summary()
    for sid in ("fast", "reach"):
        lo, hi = s["services"][sid]["ci95"]
        assert lo <= want[sid] <= hi, (sid, s["services"][sid])
        # and the interval is tight enough to tell a wrong availability apart
        assert hi - lo < 0.25 * want[sid]
    lo, hi = s["p_traffic_lost_ci95"]
    assert lo <= want["lost"] <= hi


def test_wilson_interval_textbook_value() -> None:
    lo, hi = wilson_interval(10, 100)  # 10 % of 100: Wilson 95 % CI [5.52 %, 17.44 %]
    assert lo == pytest.approx(0.0552, abs=1e-4) and hi == pytest.approx(0.1744, abs=1e-4)


def test_dask_local_cluster_gives_identical_sweep() -> None:
    pytest.importorskip("dask.distributed")
    net = load_network(example_path())
    local = run_sweep(net, links=True, nodes=True)
    remote = run_sweep(net, links=True, nodes=True, scheduler="local")
    for name in ("max_utilisation", "max_utilisation_arc", "lost_bps", "overloaded_arcs",
                 "arc_worst_utilisation", "arc_worst_set"):
        np.testing.assert_array_equal(getattr(local.outcome, name),
                                      getattr(remote.outcome, name))


def test_dask_local_cluster_gives_identical_risk() -> None:
    pytest.importorskip("dask.distributed")
    net = load_network(example_path())
    model = RiskModel(fiber_cuts_per_1000km_year=40, growth_sigma=0.2)
    local = run_risk(net, model, samples=300, seed=5)
    remote = run_risk(net, model, samples=300, seed=5, scheduler="local")
    np.testing.assert_array_equal(local.max_utilisation, remote.max_utilisation)
    np.testing.assert_array_equal(local.unserved_bps, remote.unserved_bps)
    np.testing.assert_array_equal(local.service_violated, remote.service_violated)
