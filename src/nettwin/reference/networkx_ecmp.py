"""ECMP routing the slow, obvious way with networkx: the oracle for the engine."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import networkx as nx
import numpy as np

from nettwin.model import Network


def to_multidigraph(network: Network, arc_up: np.ndarray | None = None) -> nx.MultiDiGraph:
    """One edge per usable arc, keyed by arc number (link i: 2i is a->b, 2i+1 is b->a)."""
    g = nx.MultiDiGraph()
    g.add_nodes_from(network.nodes)
    for i, link in enumerate(network.links.values()):
        for arc, (u, v, w) in ((2 * i, (link.a, link.b, link.metric_ab)),
                               (2 * i + 1, (link.b, link.a, link.metric_ba))):
            usable = link.is_up if arc_up is None else bool(arc_up[arc])
            if usable:
                g.add_edge(u, v, key=arc, weight=w)
    return g


def _next_hops(g: nx.MultiDiGraph, dist: dict[str, float], u: str) -> list[tuple[int, str]]:
    return [(key, v) for _, v, key, w in g.out_edges(u, keys=True, data="weight")
            if v in dist and w + dist[v] == dist[u]]


@dataclass
class ReferenceResult:
    arc_load_bps: np.ndarray
    routed: np.ndarray


def reference_ecmp(network: Network, arc_up: np.ndarray | None = None,
                   demand_rate_bps: np.ndarray | None = None) -> ReferenceResult:
    """Arc loads under ECMP, computed per destination with networkx Dijkstra and dicts."""
    g = to_multidigraph(network, arc_up)
    rev = g.reverse(copy=False)
    ids = network.node_ids
    table = network.demands
    rate = table.rate_bps if demand_rate_bps is None else demand_rate_bps
    load = np.zeros(2 * len(network.links))
    routed = np.zeros(len(table), bool)
    by_dst: dict[int, list[int]] = defaultdict(list)
    for i, d in enumerate(table.dst.tolist()):
        by_dst[d].append(i)
    for d, members in by_dst.items():
        t = ids[d]
        dist = nx.single_source_dijkstra_path_length(rev, t, weight="weight")
        flow: dict[str, float] = defaultdict(float)
        for i in members:
            s = ids[int(table.src[i])]
            if s in dist:
                routed[i] = True
                flow[s] += float(rate[i])
        for u in sorted(dist, key=dist.__getitem__, reverse=True):
            if u == t or flow.get(u, 0.0) == 0.0:
                continue
            hops = _next_hops(g, dist, u)
            share = flow[u] / len(hops)
            for arc, v in hops:
                load[arc] += share
                flow[v] += share
    return ReferenceResult(load, routed)


def enumerate_ecmp_paths(network: Network, src: str, dst: str,
                         arc_up: np.ndarray | None = None) -> Iterator[tuple[float, list[int]]]:
    """Every ECMP path from src to dst as (probability, arcs), by brute-force recursion."""
    g = to_multidigraph(network, arc_up)
    dist = nx.single_source_dijkstra_path_length(g.reverse(copy=False), dst, weight="weight")
    if src not in dist:
        return

    def walk(u: str, p: float, arcs: list[int]) -> Iterator[tuple[float, list[int]]]:
        if u == dst:
            yield p, arcs
            return
        hops = _next_hops(g, dist, u)
        for arc, v in hops:
            yield from walk(v, p / len(hops), [*arcs, arc])

    yield from walk(src, 1.0, [])
