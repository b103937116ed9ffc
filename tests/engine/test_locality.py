"""The locality renumbering changes where the repair's rows live, never what it computes:
every output equals the same run in the network's own numbering (and a random one)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nettwin import compile_network
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import affected_destinations, failure_loads, prepare_baseline
from nettwin.engine.locality import locality_order
from nettwin.engine.simulate import route
from nettwin.model import Network
from tests.conftest import networks

REL = 1e-12


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=40)
@given(networks(), st.integers(0, 2**32 - 1))
def test_renumbered_sweep_equals_the_unrenumbered_one(network: Network, seed: int) -> None:
    c = compile_network(network)
    rng = np.random.default_rng(seed)
    m, n = c.n_arcs, c.n_nodes
    sets = [np.array([a]) for a in range(m)]
    sets += [rng.choice(m, size=min(m, 3), replace=False) for _ in range(5)]
    sets += [np.flatnonzero((c.arc_src == v) | (c.arc_dst == v)) for v in range(n)]
    plain = prepare_baseline(c, node_order=np.arange(n))
    scale = max(1.0, float(c.demand_rate_bps.sum()))
    expected = evaluate_failure_sets(plain, sets)
    for order in (None, rng.permutation(n)):
        base = prepare_baseline(c, node_order=order)
        np.testing.assert_array_equal(base.load_bps, plain.load_bps)
        np.testing.assert_array_equal(base.dag_ptr, plain.dag_ptr)
        np.testing.assert_array_equal(base.dag_dest, plain.dag_dest)
        got = evaluate_failure_sets(base, sets)
        np.testing.assert_allclose(got.max_utilisation, expected.max_utilisation, rtol=REL,
                                   atol=REL)
        np.testing.assert_allclose(got.lost_bps, expected.lost_bps, rtol=REL, atol=REL * scale)
        np.testing.assert_array_equal(got.overloaded_arcs, expected.overloaded_arcs)
        np.testing.assert_allclose(got.arc_worst_utilisation, expected.arc_worst_utilisation,
                                   rtol=REL, atol=REL)
        for arcs in sets[m:]:
            np.testing.assert_array_equal(affected_destinations(base, arcs),
                                          affected_destinations(plain, arcs))
            load, lost = failure_loads(base, arcs)
            load0, lost0 = failure_loads(plain, arcs)
            np.testing.assert_allclose(load, load0, rtol=REL, atol=REL * scale)
            assert abs(lost - lost0) <= REL * scale


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=40)
@given(networks(), st.integers(0, 2**32 - 1))
def test_rows_in_the_network_numbering_are_routings_own(network: Network, seed: int) -> None:
    c = compile_network(network)
    full = route(c, c.arc_up, c.demand_rate_bps, keep_flow=True, keep_dag=True)
    base = prepare_baseline(c, node_order=np.random.default_rng(seed).permutation(c.n_nodes))
    s = base.state
    np.testing.assert_array_equal(s.dist, full.dist)
    np.testing.assert_array_equal(s.flow, full.flow)
    np.testing.assert_array_equal(s.count, full.count)
    np.testing.assert_array_equal(base.dag_bits(), full.dag_bits)
    rows = np.arange(c.destinations.shape[0])
    dist, order, count = base.state_rows(rows)
    np.testing.assert_array_equal(dist, full.dist)
    np.testing.assert_array_equal(count, full.count)
    for j in rows:
        np.testing.assert_array_equal(order[j, :count[j]], full.order[j, :count[j]])
        np.testing.assert_array_equal(s.order[j, :count[j]], full.order[j, :count[j]])
    np.testing.assert_array_equal(base.node_dist(rows[:, None], np.arange(c.n_nodes)[None, :]),
                                  full.dist)


@settings(deadline=None, max_examples=30)
@given(networks())
def test_locality_order_is_a_permutation(network: Network) -> None:
    c = compile_network(network)
    np.testing.assert_array_equal(np.sort(locality_order(c)), np.arange(c.n_nodes))
