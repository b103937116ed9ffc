"""GNNet 2020 samples: the parser against the raw files (groundwork for QoS validation)."""

from __future__ import annotations

import numpy as np

from nettwin.io.gnnet import iter_gnnet_samples, read_routing, read_topology
from tests.conftest import data_path


def test_first_dataset_parses_with_consistent_paths_and_traffic() -> None:
    tarball = data_path("gnnet2020", "train", "gnnet_data_set_0_99.tar.gz")
    samples = list(iter_gnnet_samples(tarball))
    assert len(samples) == 100
    for s in samples:
        topo = s.topology
        n = topo.n_nodes
        assert n in (14, 24) and s.n_flows == n * (n - 1)
        for f in range(s.n_flows):
            arcs = s.path_arc[s.path_ptr[f]:s.path_ptr[f + 1]]
            assert topo.src[arcs[0]] == s.src[f] and topo.dst[arcs[-1]] == s.dst[f]
            np.testing.assert_array_equal(topo.dst[arcs[:-1]], topo.src[arcs[1:]])
        # EqLambda (bit/s) = packets per second x mean packet size
        np.testing.assert_allclose(s.rate_bps, s.packets_per_s * s.size_mean_bits, rtol=1e-4)
        assert (s.delay_s > 0).all() and set(np.unique(s.tos)) <= {0, 1, 2}
        assert ((s.drop_fraction >= 0) & (s.drop_fraction <= 1)).all()


def test_topology_and_routing_files() -> None:
    graphs = data_path("gnnet2020", "train", "graphs")
    topo = read_topology(graphs / "graph_nsfnet_wfq_60_30_10.txt")
    assert topo.n_nodes == 14 and topo.src.size == 42
    assert set(topo.policy) == {"WFQ"}
    np.testing.assert_allclose(topo.weights[0], [0.6, 0.3, 0.1])
    assert (topo.queue_packets == 32).all()
    routing = read_routing(next((graphs.parent / "routings").glob("Routing-nsfnet-*.txt")))
    assert routing.shape == (14, 14) and (np.diag(routing) == -1).all()
