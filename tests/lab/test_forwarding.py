"""The twin's side of the lab's forwarding comparison, without root: the next hops the lab's
kernels must show, against networkx's shortest paths on the lab's topology as it stands
(links and routers failed by hand taken out), and the twin network the lab state gives."""

from __future__ import annotations

import networkx as nx
import pytest

from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.lab.forwarding import diff_next_hops, expected_next_hops, network_of
from nettwin.lab.frr import LabError, plan_lab

NET = load_network(example_path())


def _oracle(plan, down: set[str]) -> dict[tuple[str, str], set[str]]:  # type: ignore[no-untyped-def]
    g = nx.DiGraph()
    g.add_nodes_from(n.id for n in plan.nodes)
    for lk in plan.links:
        if lk.id not in down:
            g.add_edge(lk.a, lk.b, weight=lk.cost_ab, link=lk.id)
            g.add_edge(lk.b, lk.a, weight=lk.cost_ba, link=lk.id)
    dist = dict(nx.all_pairs_dijkstra_path_length(g))
    out: dict[tuple[str, str], set[str]] = {}
    for s in g:
        for t in dist[s]:
            if s == t:
                continue
            out[(s, t)] = {g[s][v]["link"] for v in g[s]
                           if t in dist[v] and g[s][v]["weight"] + dist[v][t] == dist[s][t]}
    return out


@pytest.mark.parametrize(("links", "nodes"), [((), ()), (("Denver--Kansas-City",), ()),
                                              ((), ("Indianapolis",)),
                                              (("Seattle--Denver", "Houston--Atlanta"),
                                               ("Chicago",))])
def test_expected_next_hops_follow_ospf_on_the_lab_as_it_stands(
        links: tuple[str, ...], nodes: tuple[str, ...]) -> None:
    plan = plan_lab(NET, "t")
    plan.down_links += links
    plan.down_nodes += nodes
    down = set(links) | {lk.id for n in nodes for lk in plan.links_of(n)}
    expected = expected_next_hops(plan)
    assert expected == _oracle(plan, down)
    for n in nodes:  # a lost router reaches nothing and nothing reaches it
        assert not [k for k in expected if n in k]


def test_the_twin_knows_injected_faults_only_when_asked() -> None:
    plan = plan_lab(NET, "t")
    plan.down_nodes.append("Denver")
    plan.rate_factor["Chicago--Indianapolis"] = 0.25
    now, built = network_of(plan), network_of(plan, injected=False)
    denver = {lid for lid, lk in NET.links.items() if "Denver" in (lk.a, lk.b)}
    assert {lid for lid, lk in now.links.items() if not lk.is_up} == denver
    assert all(lk.is_up for lk in built.links.values())
    ci = NET.links["Chicago--Indianapolis"]
    assert now.links["Chicago--Indianapolis"].capacity_ab_bps == pytest.approx(
        0.25 * ci.capacity_ab_bps)
    assert built.links["Chicago--Indianapolis"].capacity_ab_bps == pytest.approx(
        ci.capacity_ab_bps)


def test_differences_name_the_pair_and_both_sides() -> None:
    twin = {("A", "B"): {"A--B"}, ("A", "C"): {"A--B", "A--C"}}
    kernel = {("A", "B"): {"A--B"}, ("A", "C"): {"A--C"}, ("B", "C"): {"B--C"}}
    diff = diff_next_hops(twin, kernel)
    assert [(m.router, m.destination, m.predicted, m.kernel) for m in diff] == [
        ("A", "C", ("A--B", "A--C"), ("A--C",)), ("B", "C", None, ("B--C",))]


def test_unknown_routers_and_links_are_named() -> None:
    plan = plan_lab(NET, "t")
    with pytest.raises(LabError, match="no router 'Nowhere'"):
        plan.links_of("Nowhere")
    with pytest.raises(LabError, match="no link 'X--Y'"):
        plan.link("X--Y")
