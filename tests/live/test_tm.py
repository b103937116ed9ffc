"""Traffic matrix from counters: the routing matrix against the engine, exact recovery where
the counters determine the matrix, real measured matrices, fidelity and drift."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.estimate import estimate_tm, estimation_errors, pair_rates, routing_matrix
from nettwin.examples import example_path
from nettwin.io import load_network, load_traffic
from nettwin.live import LiveTwin, Message
from nettwin.live.simulated import counter_records
from nettwin.model import build_network
from tests.conftest import data_path


def _true_vector(compiled, rm) -> np.ndarray:  # type: ignore[no-untyped-def]
    idx = {(int(s), int(d)): p for p, (s, d) in enumerate(zip(rm.src, rm.dst, strict=True))}
    x = np.zeros(rm.src.size)
    for s, d, r in zip(compiled.demand_src, compiled.demand_dst, compiled.demand_rate_bps,
                       strict=True):
        x[idx[(int(s), int(d))]] += r
    return x


@pytest.mark.parametrize("failed", [None, "Denver--Kansas-City", "Chicago--Indianapolis"])
def test_routing_matrix_reproduces_the_engine_loads(failed: str | None) -> None:
    net = load_network(example_path())
    c = compile_network(net)
    up = c.arc_up.copy()
    if failed is not None and failed in net.links:
        i = list(net.links).index(failed)
        up[[2 * i, 2 * i + 1]] = False
    rm = routing_matrix(c, up)
    np.testing.assert_array_equal(pair_rates(c, rm), _true_vector(c, rm))
    sim = simulate(c, arc_up=up)
    np.testing.assert_allclose(rm.a @ _true_vector(c, rm), sim.arc_load_bps, rtol=1e-9,
                               atol=1e-3)


def test_a_full_mesh_is_recovered_exactly() -> None:
    # with a direct link per pair, every pair has an arc of its own: the counters pin the
    # matrix down and the estimate must find it, whatever the (wrong) gravity prior says
    nodes = "abcd"
    links = [{"id": f"{u}{v}", "a": u, "b": v, "capacity_ab_bps": 1e10,
              "capacity_ba_bps": 1e10} for i, u in enumerate(nodes) for v in nodes[i + 1:]]
    rng = np.random.default_rng(7)
    demands = [{"src": u, "dst": v, "rate_bps": float(rng.uniform(1e6, 1e9))}
               for u in nodes for v in nodes if u != v]
    c = compile_network(build_network("mesh", [{"id": n} for n in nodes], links, demands))
    rm = routing_matrix(c)
    x = _true_vector(c, rm)
    est = estimate_tm(rm, simulate(c).arc_load_bps, c.arc_src, c.arc_dst, c.n_nodes,
                      mu=1e-4)
    np.testing.assert_allclose(est.rate_bps, x, rtol=1e-3)


def test_tomography_beats_gravity_on_measured_abilene_matrices() -> None:
    base = load_network(data_path("sndlib", "xml", "abilene.xml"))
    files = sorted(data_path("traffic", "abilene-zhang-5min").glob("*.xml"))[::400][:4]
    assert len(files) == 4
    for f in files:
        c = compile_network(load_traffic(base, f))
        rm = routing_matrix(c)
        x = _true_vector(c, rm)
        out_, in_ = np.bincount(rm.src, x, c.n_nodes), np.bincount(rm.dst, x, c.n_nodes)
        est = estimate_tm(rm, simulate(c).arc_load_bps, c.arc_src, c.arc_dst, c.n_nodes,
                          node_out_bps=out_, node_in_bps=in_)
        np.testing.assert_allclose(rm.a @ est.rate_bps, rm.a @ x, rtol=0.01,
                                   atol=1e-3 * x.max())  # it explains the counters
        ours = estimation_errors(x, est.rate_bps)["weighted_error"]
        gravity = estimation_errors(x, est.prior_bps)["weighted_error"]
        assert ours < gravity, f.name
        assert est.std_bps is not None and (est.std_bps >= 0).all()


def test_fidelity_is_high_when_the_model_is_right_and_drift_raises_alarms() -> None:
    net = load_network(example_path())
    c = compile_network(net)
    twin = LiveTwin(net)
    for recs in counter_records(net, simulate(c).arc_load_bps, start=1e9, interval_s=60,
                                steps=2):
        twin.process([Message(r) for r in recs])
    assert twin.fidelity().score > 0.97
    assert not twin.check_drift().alarms_raised
    accepted = twin.refresh_tm()
    # a silent failure: the real network reroutes around a cut nobody reported (the cut
    # link's counters just stop growing, no status); the twin still routes over it
    i = list(net.links).index("Denver--Kansas-City")
    up = c.arc_up.copy()
    up[[2 * i, 2 * i + 1]] = False
    rerouted = simulate(c, arc_up=up).arc_load_bps
    twin2 = LiveTwin(net, drift_every_s=None)  # checked by hand below
    auto = LiveTwin(net)  # checks itself every 60 s of data time
    twin2.tm = auto.tm = accepted
    for recs in counter_records(net, rerouted, start=1e9, interval_s=60, steps=2):
        for t in (twin2, auto):
            t.process([Message({k: v for k, v in r.items() if k != "oper_status"})
                       for r in recs])
    fid = twin2.fidelity()
    assert fid.score < twin.fidelity().score
    raised = twin2.check_drift(fid).alarms_raised
    assert raised and all(a[1] == "modelDrift" for a in raised)
    assert {a[0] for a in raised} >= {"Denver--Kansas-City (Denver->Kansas-City)",
                                      "Denver--Kansas-City (Kansas-City->Denver)"}
    assert {k for k in auto.state.alarms if k[1] == "modelDrift"} == {
        (a[0], a[1]) for a in raised}  # the same alarms, raised by the twin itself
    # once told (the link is down), the model fits again
    twin2.process([Message({"kind": "event", "time": 1e9 + 121, "object": "Denver--Kansas-City",
                            "event": "link_down"})])
    told = twin2.fidelity()
    assert not told.drifting and told.score > fid.score
    cleared = twin2.check_drift().alarms_cleared
    assert {a[0] for a in cleared} == {a[0] for a in raised}


def test_scenarios_run_as_of_a_past_instant(tmp_path: Path) -> None:
    from nettwin.live import Store
    from nettwin.scenarios import parse_scenario, run_whatif

    net = dataclasses.replace(load_network(example_path()), name="asof")
    c = compile_network(net)
    twin = LiveTwin(net, Store(f"sqlite:///{tmp_path / 't.db'}"))
    for recs in counter_records(net, simulate(c).arc_load_bps, start=1e9, interval_s=60,
                                steps=2):
        twin.process([Message(r) for r in recs])
    twin.process([Message({"kind": "event", "time": 1e9 + 200, "object": "Denver--Kansas-City",
                           "event": "link_down"})])
    then = twin.network_at(1e9 + 150)
    assert then.links["Denver--Kansas-City"].oper_up
    assert not twin.network_at(1e9 + 250).links["Denver--Kansas-City"].oper_up
    # the estimated matrix reproduces the measured loads of that instant
    sim = simulate(compile_network(then))
    np.testing.assert_allclose(sim.arc_load_bps, simulate(c).arc_load_bps, rtol=0.03,
                               atol=1e-3 * sim.arc_load_bps.max())
    result = run_whatif(then, parse_scenario({"changes": [{"fail_node": "Denver"}]}))
    assert len(result.diff.demands_rerouted) > 0


def test_a_network_too_large_to_estimate_runs_live_on_the_plan_at_the_measured_level(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # above the dense routing matrix's limit the live basis is the plan's demands scaled by
    # one factor fitted to the counters: traffic measured at 1.3 x the plan gives 1.3
    import nettwin.live.twin as twin_module

    net = load_network(example_path())
    c = compile_network(net)
    monkeypatch.setattr(twin_module, "MAX_ROUTING_CELLS", 10)
    twin = LiveTwin(net)
    assert not twin.can_estimate()
    for recs in counter_records(net, 1.3 * simulate(c).arc_load_bps, start=1e9,
                                interval_s=60, steps=2):
        twin.process([Message(r) for r in recs])
    now = twin.network_now()
    assert now is not None
    np.testing.assert_allclose(now.demands.rate_bps, 1.3 * net.demands.rate_bps, rtol=1e-9)
    assert twin.maybe_check() is None  # no estimate, no drift check on such a network


@pytest.mark.parametrize("peak", [False, True])
@pytest.mark.parametrize("large", [False, True])
def test_the_live_basis_keeps_the_plans_bursty_arrivals(large: bool, peak: bool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Counters measured at 0.8 x a plan whose service rides an on-off demand: the live
    network (estimated matrix, or the plan at the measured level on a network too large
    to estimate) keeps each demand's arrival process, its peak re-rated with it, so the
    service's delay is the plan's at 0.8 x its traffic. Before, the estimated live basis
    dropped the processes (all Poisson: 0.7 ms where the plan said 14 ms)."""
    import nettwin.live.twin as twin_module
    from nettwin.engine.options import ArrivalModel, SimulationOptions
    from tests.conftest import onoff_ring

    net = onoff_ring(by_peak=peak)  # by its peak: the peak must move with the rate
    c = compile_network(net)
    if large:
        monkeypatch.setattr(twin_module, "MAX_ROUTING_CELLS", 10)
    twin = LiveTwin(net)
    assert twin.can_estimate() is not large
    for recs in counter_records(net, 0.8 * simulate(c).arc_load_bps, start=1e9,
                                interval_s=60, steps=2):
        twin.process([Message(r) for r in recs])
    now = twin.network_now()
    assert now is not None and now.demands.arrivals is not None
    live = simulate(compile_network(now)).services.worst_delay_s[0]
    want = simulate(c, demand_rate_bps=0.8 * c.demand_rate_bps).services.worst_delay_s[0]
    assert live == pytest.approx(want, rel=0.02)
    poisson = SimulationOptions(arrival_model=ArrivalModel.POISSON)
    assert live > 5 * simulate(c, poisson, demand_rate_bps=0.8 * c.demand_rate_bps
                               ).services.worst_delay_s[0]


@pytest.mark.parametrize("level", [0.8, 1.0])
def test_live_sla_checks_queue_the_plans_bursty_demands(level: float) -> None:
    """The live state's SLA check under the measured loads queues the links that the
    plan's on-off demand crosses as bursts (as simulate does), the bursts' moments scaled
    with the measured rate: the service's delay is simulate's at the measured level (3.0 ms
    at 0.8 x, 14 ms at the plan, where the 5-ms SLA alarm is raised). Before, every link
    was queued as Poisson (0.4-0.7 ms, no alarm)."""
    from tests.conftest import onoff_ring

    net = onoff_ring()
    c = compile_network(net)
    twin = LiveTwin(net, assess_services=True)
    for recs in counter_records(net, level * simulate(c).arc_load_bps, start=1e9,
                                interval_s=60, steps=3):
        twin.process([Message(r) for r in recs])
    want = simulate(c, demand_rate_bps=level * c.demand_rate_bps).services
    got = twin.state.services
    assert got is not None
    assert got.worst_delay_s[0] == pytest.approx(want.worst_delay_s[0], rel=1e-3)
    assert bool(got.violated[0]) is bool(want.violated[0]) is (level == 1.0)
