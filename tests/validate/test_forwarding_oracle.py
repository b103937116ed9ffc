"""Per-prefix forwarding against a brute-force oracle: a FIB built route by route (networkx
shortest paths for OSPF, longest match then distance), and a walk of every ECMP branch from
every router to every prefix."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from nettwin import compile_network
from nettwin.model import Network
from nettwin.validate.addressing import Prefix, plan_addresses
from nettwin.validate.changeset import StaticRoute
from nettwin.validate.checks import check_forwarding
from nettwin.validate.forwarding import build_forwarding, make_probes, reach_of, trace
from tests.conftest import random_network

LOCAL, DROP = "local", "drop"


def _ospf_dist(network: Network, up: set[str]) -> dict[str, dict[str, float]]:
    """d[owner][router] by networkx on the reversed graph (cheapest parallel arc)."""
    g = nx.DiGraph()
    g.add_nodes_from(network.nodes)
    for lid, lk in network.links.items():
        if lid not in up:
            continue
        for u, v, w in ((lk.a, lk.b, lk.metric_ab), (lk.b, lk.a, lk.metric_ba)):
            if not g.has_edge(v, u) or g[v][u]["weight"] > w:
                g.add_edge(v, u, weight=w)  # reversed: distances *to* the owner
    return {o: nx.single_source_dijkstra_path_length(g, o) for o in network.nodes}


def _arcs(network: Network, up: set[str]) -> list[tuple[str, str, int, str]]:
    out = []
    for lid, lk in network.links.items():
        if lid in up:
            out += [(lk.a, lk.b, lk.metric_ab, lid), (lk.b, lk.a, lk.metric_ba, lid)]
    return out


def oracle_fib(network: Network, up: set[str], routes: list[StaticRoute], address: int
               ) -> dict[str, object]:
    """router -> LOCAL, DROP or the set of next-hop routers, for one destination address."""
    plan = plan_addresses(network)
    ids = network.node_ids
    owned = [(ids[i], p) for i, p in plan.owner_prefixes]
    ends = {addr: (lid, end) for lid, pair in plan.link_end_address.items()
            for end, addr in enumerate(pair)}
    dist = _ospf_dist(network, up)
    arcs = _arcs(network, up)

    def ospf_hops(r: str, o: str) -> set[str] | None:
        d = dist[o]
        if r not in d:
            return None
        return {v for u, v, w, _ in arcs if u == r and v in d and w + d[v] == d[r]}

    def resolve(rt: StaticRoute) -> set[str] | None:
        r = rt.router
        if rt.discard:
            return set()
        if rt.via_link is not None:
            lk = network.links[rt.via_link]
            return {lk.b if lk.a == r else lk.a} if rt.via_link in up else None
        x = rt.via_address
        if x in ends:
            lid, end = ends[x]
            lk = network.links[lid]
            owner = (lk.a, lk.b)[end]
            if r in (lk.a, lk.b):
                if owner == r or lid not in up:
                    return None
                return {owner}
        else:
            hit = [(o, p) for o, p in owned if p.contains(x)]
            if not hit:
                return None
            owner = max(hit, key=lambda h: h[1].length)[0]
        if owner == r:
            return None
        return ospf_hops(r, owner)

    fib: dict[str, object] = {}
    for r in network.nodes:
        # (prefix length, distance, route metric, next hops): zebra breaks a distance tie
        # by the metric; a static route's is 0, an OSPF route's its cost (>= 1)
        candidates: list[tuple[int, int, float, object]] = []
        for o, p in owned:
            if not p.contains(address):
                continue
            if o == r:
                candidates.append((p.length, 0, 0, LOCAL))
            else:
                hops = ospf_hops(r, o)
                if hops is not None:
                    candidates.append((p.length, 110, dist[o][r], hops))
        for rt in routes:
            if rt.router == r and rt.prefix.contains(address):
                hops = resolve(rt)
                if hops is not None:
                    candidates.append((rt.prefix.length, rt.distance, 0, hops))
        if not candidates:
            fib[r] = DROP
            continue
        best = min(candidates, key=lambda c: (-c[0], c[1], c[2]))[:3]
        chosen = [c[3] for c in candidates if c[:3] == best]
        if LOCAL in chosen:
            fib[r] = LOCAL
            continue
        union = set().union(*chosen)  # type: ignore[arg-type]
        fib[r] = union if union else DROP
    return fib


def oracle_walk(fib: dict[str, object], source: str) -> tuple[bool, bool, bool]:
    """(some branch delivers, some branch is dropped, some branch loops), by enumerating
    every branch hop by hop."""
    found = [False, False, False]

    def walk(v: str, path: set[str]) -> None:
        entry = fib[v]
        if entry == LOCAL:
            found[0] = True
            return
        if entry == DROP:
            found[1] = True
            return
        for u in sorted(entry):  # type: ignore[call-overload]
            if u in path:
                found[2] = True
            else:
                walk(u, path | {u})

    walk(source, {source})
    return found[0], found[1], found[2]


def random_case(seed: int) -> tuple[Network, set[str], list[StaticRoute]]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 8))
    network = random_network(seed, n, int(rng.integers(n - 1, 2 * n + 1)), max_metric=3)
    plan = plan_addresses(network)
    ids = network.node_ids
    links = list(network.links.values())
    up = {lk.id for lk in links if rng.random() > 0.15}
    routes = []
    for _ in range(int(rng.integers(0, 3 * n))):
        r = int(rng.integers(n))
        kind = rng.random()
        target = rng.random()
        if target < 0.7:
            prefix = Prefix(plan.owner_prefixes[int(rng.integers(n))][1].network, 32)
        elif target < 0.85:
            prefix = Prefix.parse("10.255.0.0/24")  # covers every loopback
        else:
            prefix = Prefix.parse("0.0.0.0/0")
        distance = int(rng.choice([1, 1, 5, 110, 200]))
        mine = [lk for lk in links if ids[r] in (lk.a, lk.b) and lk.a != lk.b]
        if kind < 0.4 and mine:
            lk = mine[int(rng.integers(len(mine)))]
            peer_end = 1 if lk.a == ids[r] else 0
            addr = plan.link_end_address[lk.id][peer_end]
            routes.append(StaticRoute(ids[r], prefix, distance, via_address=addr))
        elif kind < 0.6 and mine:
            routes.append(StaticRoute(ids[r], prefix, distance,
                                      via_link=mine[int(rng.integers(len(mine)))].id))
        elif kind < 0.9:
            o = int(rng.integers(n))
            routes.append(StaticRoute(ids[r], prefix, distance,
                                      via_address=plan.owner_prefixes[o][1].network))
        else:
            routes.append(StaticRoute(ids[r], prefix, distance, discard=True))
    return network, up, routes


@pytest.mark.parametrize("seed", range(60))
def test_forwarding_equals_brute_force_walk(seed: int) -> None:
    network, up, routes = random_case(seed)
    c = compile_network(network)
    arc_up = np.repeat([lid in up for lid in network.links], 2)
    plan = plan_addresses(network)
    probes = make_probes(plan, routes)
    state = build_forwarding(c, arc_up, plan, tuple(routes), probes)
    for p, probe in enumerate(probes):
        fib = oracle_fib(network, up, routes, probe.address)
        reach = reach_of(state, p)
        for r, nid in enumerate(network.node_ids):
            entry = fib[nid]
            if entry == LOCAL:
                assert state.local[p, r], (probe, nid)
            elif entry == DROP:
                assert state.drop[p, r], (probe, nid)
            else:
                assert {network.node_ids[v] for v in state.successors(p, r)} == entry, (
                    probe.prefix, nid, [str(x) for x in routes])
            delivers, drops, loops = oracle_walk(fib, nid)
            assert (bool(reach.delivers[r]), bool(reach.drops[r]), bool(reach.loops[r])) == (
                delivers, drops, loops), (probe.prefix, nid)
            for goal, possible in (("deliver", delivers), ("drop", drops), ("loop", loops)):
                if not possible:
                    continue
                path = [network.node_ids[v] for v in trace(state, p, r, goal, reach)]
                for u, v in itertools.pairwise(path):
                    assert fib[u] not in (LOCAL, DROP) and v in fib[u]  # type: ignore[operator]
                last = fib[path[-1]]
                if goal == "deliver":
                    assert last == LOCAL
                elif goal == "drop":
                    assert last == DROP
                else:
                    assert path[-1] in path[:-1]


@pytest.mark.parametrize("seed", range(30))
def test_reachability_lost_matches_the_walks(seed: int) -> None:
    """Lost pairs = delivered (some branch) before, no branch delivered after; the 'after'
    state drops a random link and adds the random static routes."""
    network, up, routes = random_case(seed)
    c = compile_network(network)
    plan = plan_addresses(network)
    probes = make_probes(plan, routes)
    all_up = set(network.links)
    before = build_forwarding(c, c.arc_up, plan, (), probes)
    arc_up = np.repeat([lid in up for lid in network.links], 2)
    after = build_forwarding(c, arc_up, plan, tuple(routes), probes)
    report = check_forwarding(before, after)
    expected = set()
    for probe in probes:
        if probe.owner < 0:
            continue
        fb = oracle_fib(network, all_up, [], probe.address)
        fa = oracle_fib(network, up, routes, probe.address)
        for nid in network.node_ids:
            if nid == network.node_ids[probe.owner]:
                continue
            if oracle_walk(fb, nid)[0] and not oracle_walk(fa, nid)[0]:
                expected.add((nid, str(probe.prefix)))
    assert report.reachability_lost_count == len(expected)
    assert {(x.source, x.prefix) for x in report.reachability_lost} == expected
    loops_expected = {str(p.prefix) for p in probes
                      if any(oracle_walk(oracle_fib(network, up, routes, p.address), nid)[2]
                             for nid in network.node_ids)}
    assert {x.prefix for x in report.loops} == loops_expected
