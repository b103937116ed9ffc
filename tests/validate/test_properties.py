"""Invariants on random networks: a change that changes nothing finds nothing; without static
routes forwarding never loops and reaches exactly what shortest paths reach."""

from __future__ import annotations

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
