"""engine.upstream against brute force: node x's DAG toward t uses arc u->v exactly when
d(x, u) + w(u, v) + d(v, t) = d(x, t) (scipy's Dijkstra for the distances)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from nettwin import compile_network
from nettwin.engine.incremental import prepare_baseline
from nettwin.engine.upstream import _mark_one_dag
from tests.conftest import random_network


@pytest.mark.parametrize("seed", range(6))
def test_marks_equal_brute_force(seed: int) -> None:
    net = random_network(seed, 12, 24, max_metric=3)
    c = compile_network(net)
    base = prepare_baseline(c)
    n, rng = c.n_nodes, np.random.default_rng(seed)
    # parallel links: keep the cheapest arc per node pair for the distance matrix
    w = np.full((n, n), np.inf)
    np.minimum.at(w, (c.arc_src, c.arc_dst), c.arc_metric.astype(float))
    d = dijkstra(csr_matrix(np.where(np.isfinite(w), w, 0)), directed=True)
    _, _, in_src, _, in_out = base.csr
    bits_all = base.dag_bits()
    stack, found = np.empty(n, np.int64), np.empty(n, np.int64)
    for _ in range(5):
        arcs = rng.choice(c.n_arcs, int(rng.integers(1, 4)), replace=False).astype(np.int64)
        for j, t in enumerate(c.destinations.tolist()):
            mark = np.zeros(n, bool)
            n_found = _mark_one_dag(base.out_pos[arcs], c.arc_src[arcs], bits_all[j], c.in_ptr,
                                    in_src, in_out, mark, stack, found)
            assert sorted(found[:n_found].tolist()) == np.flatnonzero(mark).tolist()
            want = np.zeros(n, bool)
            for a in arcs.tolist():
                u, v, m = int(c.arc_src[a]), int(c.arc_dst[a]), float(c.arc_metric[a])
                want |= np.isfinite(d[:, t]) & (d[:, u] + m + d[v, t] == d[:, t])
            np.testing.assert_array_equal(mark, want)


@pytest.mark.parametrize("seed", range(4))
def test_link_components_equal_scipy(seed: int) -> None:
    """Two nodes share a label exactly when scipy's undirected components join them."""
    from scipy.sparse.csgraph import connected_components

    from nettwin.engine.upstream import link_components

    net = random_network(seed, 30, 34, max_metric=3)
    c = compile_network(net)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        ok = rng.random(c.n_arcs) < 0.6
        up = np.flatnonzero(ok)
        graph = csr_matrix((np.ones(up.size), (c.arc_src[up], c.arc_dst[up])),
                           shape=(c.n_nodes, c.n_nodes))
        _n, want = connected_components(graph, directed=False)
        got = link_components(c.n_nodes, ok, c.arc_src, c.arc_dst)
        np.testing.assert_array_equal(got[:, None] == got[None, :], want[:, None] == want[None, :])


@pytest.mark.parametrize(("seed", "fraction"), [(0, 0.7), (1, 0.7), (2, 1.0), (3, 1.0)])
def test_failure_outcome_equals_brute_force(seed: int, fraction: float) -> None:
    """The demands a failure reroutes and cuts off are those whose source's DAG uses a failed
    arc (brute force from scipy's distances), split by whether the links left up still join
    source and destination; the same whether the marked sources' demands are found at their
    position (full matrices), searched for (partial and full) or every demand is read."""
    from nettwin.engine.upstream import failure_outcome, link_components, sorted_and_routed

    net = random_network(seed, 14, 26, max_metric=3, demand_fraction=fraction)
    c = compile_network(net)
    base = prepare_baseline(c)
    n, rng = c.n_nodes, np.random.default_rng(seed)
    w = np.full((n, n), np.inf)
    np.minimum.at(w, (c.arc_src, c.arc_dst), c.arc_metric.astype(float))
    d = dijkstra(csr_matrix(np.where(np.isfinite(w), w, 0)), directed=True)
    routed = np.isfinite(d[c.demand_src, c.demand_dst])
    by_source = sorted_and_routed(c.dest_ptr, c.dest_demand, c.demand_src, c.demand_dst,
                                  routed)
    for j in range(c.destinations.size):  # the flags, from their definitions
        dem = c.dest_demand[c.dest_ptr[j]:c.dest_ptr[j + 1]]
        src, t = c.demand_src[dem], int(c.destinations[j])
        in_order = bool(routed[dem].all() and np.all(np.diff(src) >= 0))
        each = np.array([i + 1 if i >= t else i for i in range(dem.size)], np.int64)
        assert by_source[j] == (0 if not in_order else 2 if dem.size and np.array_equal(
            src, each) else 1)
    if fraction == 1.0 and routed.all():  # a full matrix, all routed: found at position
        assert (by_source == 2).all()
    _, _, in_src, _, in_out = base.csr
    dests = np.arange(c.destinations.size)
    for _ in range(6):
        arcs = rng.choice(c.n_arcs, int(rng.integers(1, 4)), replace=False).astype(np.int64)
        up = c.arc_up.copy()
        up[arcs] = False
        comp = link_components(n, up, c.arc_src, c.arc_dst)
        uses = np.zeros(c.n_demands, bool)
        for a in arcs.tolist():
            u, v, m = int(c.arc_src[a]), int(c.arc_dst[a]), float(c.arc_metric[a])
            s, t = c.demand_src, c.demand_dst
            uses |= routed & (d[s, u] + m + d[v, t] == d[s, t])
        joined = comp[c.demand_src] == comp[c.demand_dst]
        for flags in (by_source, np.minimum(by_source, 1), np.zeros_like(by_source)):
            re, lost, back = failure_outcome(
                base.out_pos[arcs], c.arc_src[arcs], dests, base.dag_bits(), c.in_ptr, in_src,
                in_out, c.dest_ptr, c.dest_demand, c.demand_src, c.demand_dst, comp, routed,
                flags)
            np.testing.assert_array_equal(np.sort(re), np.flatnonzero(uses & joined))
            np.testing.assert_array_equal(np.sort(lost), np.flatnonzero(uses & ~joined))
            assert back.size == 0  # nothing was unrouted before that a failure could restore
