"""The engine's ECMP loads and path metrics equal a plain networkx reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nettwin import compile_network, simulate
from nettwin.io import load_network, load_traffic
from nettwin.model import Network
from nettwin.model.gravity import gravity_demands
from nettwin.reference import enumerate_ecmp_paths, reference_ecmp
from tests.conftest import data_path, networks, random_network

REL = 1e-9


def assert_loads_match(network: Network, arc_up: np.ndarray | None = None) -> None:
    compiled = compile_network(network)
    result = simulate(compiled, arc_up=arc_up)
    ref = reference_ecmp(network, arc_up)
    scale = max(1.0, float(network.demands.rate_bps.sum()))
    np.testing.assert_allclose(result.arc_load_bps, ref.arc_load_bps, rtol=REL, atol=REL * scale)
    np.testing.assert_array_equal(result.demand_routed, ref.routed)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(0, 2**32 - 1), st.floats(0.0, 0.5))
def test_loads_equal_networkx_reference_on_random_graphs(network: Network, seed: int,
                                                         fail_fraction: float) -> None:
    arc_up = np.random.default_rng(seed).random(2 * len(network.links)) >= fail_fraction
    assert_loads_match(network, arc_up)


@settings(deadline=None)
@given(networks())
def test_flow_is_conserved_at_every_node(network: Network) -> None:
    compiled = compile_network(network)
    result = simulate(compiled)
    n = compiled.n_nodes
    net_out = np.zeros(n)
    np.add.at(net_out, compiled.arc_src, result.arc_load_bps)
    np.subtract.at(net_out, compiled.arc_dst, result.arc_load_bps)
    routed = result.demand_routed
    expected = np.zeros(n)
    np.add.at(expected, compiled.demand_src[routed], compiled.demand_rate_bps[routed])
    np.subtract.at(expected, compiled.demand_dst[routed], compiled.demand_rate_bps[routed])
    scale = max(1.0, float(compiled.demand_rate_bps.sum()))
    np.testing.assert_allclose(net_out, expected, rtol=0, atol=1e-9 * scale)


@settings(deadline=None)
@given(st.integers(0, 10_000))
def test_path_metrics_equal_brute_force_path_enumeration(seed: int) -> None:
    network = random_network(seed, n=8, m=14, max_metric=2)
    compiled = compile_network(network)
    arc_up = np.random.default_rng(seed).random(compiled.n_arcs) > 0.15
    result = simulate(compiled, arc_up=arc_up)
    ids = network.node_ids
    for i in range(len(network.demands)):
        src, dst = ids[compiled.demand_src[i]], ids[compiled.demand_dst[i]]
        paths = list(enumerate_ecmp_paths(network, src, dst, arc_up))
        if not paths:
            assert not result.demand_routed[i]
            continue
        probs = np.array([p for p, _ in paths])
        assert probs.sum() == pytest.approx(1.0, abs=1e-12)  # split fractions sum to 1
        delays = np.array([result.arc_delay_s[arcs].sum() for _, arcs in paths])
        survive = np.array([np.prod(1.0 - result.arc_loss[arcs]) for _, arcs in paths])
        hops = np.array([len(arcs) for _, arcs in paths])
        assert result.demand_delay_mean_s[i] == pytest.approx(probs @ delays, rel=1e-9)
        assert result.demand_delay_worst_s[i] == pytest.approx(delays.max(), rel=1e-9)
        assert 1.0 - result.demand_loss[i] == pytest.approx(probs @ survive, rel=1e-9)
        assert result.demand_hops_mean[i] == pytest.approx(probs @ hops, rel=1e-9)


def test_unroutable_demands_are_counted_not_routed() -> None:
    network = random_network(3, n=10, m=4)  # sparse: several components
    result = simulate(compile_network(network))
    lost = ~result.demand_routed
    assert lost.any()
    assert result.kpis()["unroutable_bps"] == pytest.approx(
        float(network.demands.rate_bps[lost].sum()))
    assert np.isinf(result.demand_delay_mean_s[lost]).all()
    assert_loads_match(network)


def test_ecmp_splits_evenly_over_parallel_links() -> None:
    from nettwin import build_network

    net = build_network("p", [{"id": "A"}, {"id": "B"}, {"id": "C"}], [
        {"id": "ab1", "a": "A", "b": "B", "capacity_bps": 1e9, "metric": 1},
        {"id": "ab2", "a": "A", "b": "B", "capacity_bps": 1e9, "metric": 1},
        {"id": "ac", "a": "A", "b": "C", "capacity_bps": 1e9, "metric": 1},
        {"id": "cb", "a": "C", "b": "B", "capacity_bps": 1e9, "metric_ab": 1, "metric_ba": 5},
    ], [{"src": "A", "dst": "B", "rate_bps": 300.0}, {"src": "B", "dst": "A", "rate_bps": 90.0}])
    # A->B: two parallel arcs at cost 1; A->C->B costs 2, so it is not used.
    load = simulate(compile_network(net)).arc_load_bps
    assert load.tolist() == [150.0, 45.0, 150.0, 45.0, 0.0, 0.0, 0.0, 0.0]


def test_sndlib_abilene_with_measured_traffic_matches_reference() -> None:
    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    net = load_traffic(net, data_path("traffic", "abilene-zhang-5min",
                                      "demandMatrix-abilene-zhang-5min-20040301-1200.xml"))
    assert_loads_match(net)


def test_geant_with_measured_traffic_matches_reference() -> None:
    net = load_network(data_path("sndlib", "xml", "geant.xml"))
    net = load_traffic(net, data_path("traffic", "geant-uhlig-15min",
                                      "demandMatrix-geant-uhlig-15min-20050505-1400.xml"))
    assert len(net.demands) > 400
    assert_loads_match(net)


def test_repetita_rocketfuel_with_its_demands_matches_reference() -> None:
    from nettwin.io.repetita import import_repetita

    folder = data_path("repetita", "2016RocketFuelUCL")
    net = import_repetita(folder / "rf1755_real_hard.graph",
                          folder / "rf1755_real_hard.0000.demands")
    assert len(net.demands) == 7482
    assert_loads_match(net)


def test_rocketfuel_with_gravity_traffic_and_failures_matches_reference() -> None:
    net = load_network(data_path("rocketfuel", "1221", "weights.intra"))
    table = gravity_demands(np.linspace(1, 3, len(net.nodes)), 50e9)
    net = net.with_demands(table)
    arc_up = np.ones(2 * len(net.links), bool)
    arc_up[::7] = False
    assert_loads_match(net, arc_up)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(0, 2**32 - 1), st.floats(0.0, 0.5))
def test_bucket_queue_loads_equal_networkx_reference(network: Network, seed: int,
                                                     fail_fraction: float) -> None:
    """route_all's bucket queue (chosen on large networks with small metrics) gives the
    reference's loads too: forced here on the small random graphs."""
    from nettwin.engine import routing

    arc_up = np.random.default_rng(seed).random(2 * len(network.links)) >= fail_fraction
    before = routing.DIAL_MIN_NODES, routing.DIAL_BUCKETS_PER_NODE, routing.DIAL_SCAN_PER_NODE
    routing.DIAL_MIN_NODES, routing.DIAL_BUCKETS_PER_NODE, routing.DIAL_SCAN_PER_NODE = 0, 64, 10**6
    try:
        assert_loads_match(network, arc_up)
    finally:
        (routing.DIAL_MIN_NODES, routing.DIAL_BUCKETS_PER_NODE,
         routing.DIAL_SCAN_PER_NODE) = before


@pytest.mark.parametrize("seed", [0, 1])
def test_metrics_too_large_for_int32_distances_match_reference(seed: int) -> None:
    """IS-IS wide metrics on 150 nodes: distances may pass 2**31, the int64 kernels route."""
    from nettwin.model.fields import MAX_IGP_METRIC

    network = random_network(seed, n=150, m=450, max_metric=MAX_IGP_METRIC,
                             demand_fraction=0.05)
    arc_up = np.random.default_rng(seed).random(900) > 0.1
    assert_loads_match(network, arc_up)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(0, 2**32 - 1), st.floats(0.0, 0.4))
def test_columns_pushed_over_a_routing_equal_networkx_loads(network: Network, seed: int,
                                                            fail_fraction: float) -> None:
    """``push_columns`` (the bursty moments' push: several demand-rate columns down one
    routing pass's DAGs) gives each column the networkx reference's loads, links down and
    sources cut off included; a column of signed values (third moments) is pushed alike."""
    from nettwin.engine.routing import push_columns
    from nettwin.engine.simulate import route

    c = compile_network(network)
    rng = np.random.default_rng(seed)
    arc_up = rng.random(c.n_arcs) >= fail_fraction
    cols = rng.random((3, c.n_demands)) * 1e6
    cols[2] -= 5e5
    state = route(c, arc_up, cols[0])
    got = push_columns(state.dist, state.order, state.count, c.dest_ptr, c.dest_demand,
                       c.demand_src, cols, c.out_ptr, c.out_arc, c.arc_dst[c.out_arc],
                       c.arc_metric[c.out_arc], arc_up[c.out_arc])
    for k in range(2):
        ref = reference_ecmp(network, arc_up, cols[k]).arc_load_bps
        np.testing.assert_allclose(got[:, k], ref, rtol=REL, atol=REL * 1e6 * c.n_demands)
    np.testing.assert_allclose(got[:, 0], state.load_bps, rtol=1e-12, atol=1e-6)
    signed = route(c, arc_up, cols[2]).load_bps  # the engine's pass 1, itself the oracle's
    np.testing.assert_allclose(got[:, 2], signed, rtol=1e-12, atol=1e-6)
