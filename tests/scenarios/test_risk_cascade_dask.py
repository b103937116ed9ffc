"""Cascades against a hand-worked chain, Monte Carlo against closed-form probabilities,
and a Dask LocalCluster against the local run."""

from __future__ import annotations

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
    assert result.service_violated.shape == (400, 3)


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
