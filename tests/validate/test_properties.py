"""Invariants on random networks: a change that changes nothing finds nothing; without static
routes forwarding never loops and reaches exactly what shortest paths reach."""

from __future__ import annotations

from itertools import pairwise

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings

from nettwin import compile_network
from nettwin.model import Network
from nettwin.scenarios.changes import Direction, Scenario, SetMetric
from nettwin.validate import ChangeSet, Grade, Survive, validate_change
from nettwin.validate.addressing import plan_addresses
from nettwin.validate.forwarding import build_forwarding, make_probes, reach_of
from tests.conftest import networks


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_a_no_op_change_finds_nothing(network: Network) -> None:
    lk = next(iter(network.links.values()))
    change = ChangeSet("same", Scenario("same", (SetMetric(lk.id, lk.metric_ab, Direction.AB),)))
    v = validate_change(network, change, survive=Survive.N1)
    f = v.forwarding
    assert f.probes_changed == 0 and not f.reachability_lost and not f.reachability_gained
    assert not f.new_loops and not f.new_blackholes and f.asymmetric_count == 0
    assert not v.survival.made_worse
    assert v.after == v.before
    if v.before.max_utilisation <= 1.0:
        assert v.grade is Grade.SAFE, v.reasons


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_ospf_alone_never_loops_and_reaches_what_networkx_reaches(network: Network) -> None:
    c = compile_network(network)
    plan = plan_addresses(network)
    state = build_forwarding(c, c.arc_up, plan, (), make_probes(plan, []))
    g = nx.DiGraph()
    g.add_nodes_from(range(c.n_nodes))
    g.add_edges_from(zip(c.arc_src[c.arc_up].tolist(), c.arc_dst[c.arc_up].tolist(),
                         strict=True))
    for t in range(c.n_nodes):
        reach = reach_of(state, t)
        assert not reach.loops.any()
        expected = np.zeros(c.n_nodes, bool)
        expected[list(nx.ancestors(g, t) | {t})] = True
        np.testing.assert_array_equal(reach.delivers, expected)
        np.testing.assert_array_equal(reach.drops, ~expected)


def _shortest_paths(network: Network, change: SetMetric) -> nx.DiGraph:
    g = nx.DiGraph()
    for lk in network.links.values():
        ab = change.metric if lk.id == change.link and change.direction is Direction.AB \
            else lk.metric_ab
        for u, v, w in ((lk.a, lk.b, ab), (lk.b, lk.a, lk.metric_ba)):
            if not g.has_edge(u, v) or g[u][v]["w"] > w:
                g.add_edge(u, v, w=w)
    return g


def _check_asymmetry_examples(network: Network, change: SetMetric) -> int:
    """Each asymmetric pair's example paths are shortest paths (networkx) that are not
    mirror images of each other: the example itself shows the asymmetry."""
    v = validate_change(network, ChangeSet("c", Scenario("c", (change,))), survive=Survive.NONE)
    g = _shortest_paths(network, change)
    for f in v.forwarding.asymmetric:
        for path in (f.path_ab, f.path_ba):
            w = sum(g[x][y]["w"] for x, y in pairwise(path))
            assert w == nx.shortest_path_length(g, path[0], path[-1], weight="w"), f
        assert list(f.path_ab) != list(reversed(f.path_ba)), f
    return len(v.forwarding.asymmetric)


def test_asymmetry_example_shows_two_different_paths() -> None:
    """Abilene, Seattle -> Sunnyvale raised one way: New-York reaches Seattle over two equal
    paths, Seattle New-York over one; the example must not be the shared one mirrored."""
    from nettwin.examples import abilene

    change = SetMetric("Seattle--Sunnyvale", 900, Direction.AB)
    assert _check_asymmetry_examples(abilene(), change) > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_asymmetry_examples_are_shortest_and_differ(network: Network) -> None:
    pairs = {frozenset((lk.a, lk.b)) for lk in network.links.values()}
    if len(pairs) < len(network.links):
        return  # parallel links: two different links can join the same routers
    lk = next(iter(network.links.values()))
    _check_asymmetry_examples(network, SetMetric(lk.id, lk.metric_ab + 7, Direction.AB))
