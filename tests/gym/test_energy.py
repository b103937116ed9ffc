"""Single-failure survival in the energy environment equals a brute-force networkx check."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from nettwin.engine import compile_network
from nettwin.gym.energy import count_cut_links
from tests.conftest import random_network


def brute_force_cut_links(net, up: np.ndarray, rate: np.ndarray) -> int:  # type: ignore[no-untyped-def]
    graph = nx.MultiGraph()
    graph.add_nodes_from(range(net.n_nodes))
    for i in range(net.n_arcs // 2):
        if up[2 * i] or up[2 * i + 1]:
            graph.add_edge(int(net.arc_src[2 * i]), int(net.arc_dst[2 * i]), key=i)
    pairs = [(int(s), int(t)) for s, t, r in zip(net.demand_src, net.demand_dst, rate,
                                                 strict=True) if r > 0]
    connected = [p for p in pairs if nx.has_path(graph, *p)]
    cut = 0
    for a, b, key in list(graph.edges(keys=True)):
        graph.remove_edge(a, b, key)
        if any(not nx.has_path(graph, s, t) for s, t in connected):
            cut += 1
        graph.add_edge(a, b, key=key)
    return cut


@pytest.mark.parametrize("seed", range(8))
def test_cut_links_equal_brute_force(seed: int) -> None:
    network = random_network(seed, 10, 16)
    net = compile_network(network)
    rng = np.random.default_rng(seed)
    up = (rng.random(net.n_arcs // 2) > 0.3).repeat(2)
    rate = net.demand_rate_bps * (rng.random(net.n_demands) > 0.2)
    got = count_cut_links(net.n_nodes, net.out_ptr, net.out_arc, net.arc_dst, up,
                          net.demand_src, net.demand_dst, rate)
    assert got == brute_force_cut_links(net, up, rate)


def test_survival_penalty_counts_only_what_sleeping_made_fragile() -> None:
    import gymnasium

    import nettwin.gym  # noqa: F401
    from nettwin.model import build_network

    nodes = [{"id": x} for x in "abcd"]
    links = [{"id": f"{a}{b}", "a": a, "b": b, "capacity_bps": 1e9, "metric": 1}
             for a, b in ("ab", "bc", "ca", "cd")]  # a triangle and a pendant d
    demands = [{"src": s, "dst": t, "rate_bps": 1e6} for s in "abcd" for t in "abcd" if s != t]
    network = build_network("pendant", nodes, links, demands)
    env = gymnasium.make("nettwin/Energy-v0", network=network, change_cost=0.0, seed=0)
    env.reset()
    _, reward, _, _, info = env.step(0)
    assert info["single_failure_cut_links"] == 1  # cd: the topology's own bridge
    assert reward == pytest.approx(0.0)
    _, reward, _, _, info = env.step(1)  # sleep ab: the triangle becomes a path
    assert info["single_failure_cut_links"] == 3
    assert reward == pytest.approx(1 / 4 - 1.0)  # a quarter of the links asleep, fragile
