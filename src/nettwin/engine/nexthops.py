"""ECMP next hops as OSPF computes them: from router u towards t, every up arc (u, v) with
cost(u, v) + d(v, t) = d(u, t), cost being the metric of the arc leaving u (confirmed
against FRR on these machines). All-pairs distances by scipy's Dijkstra: this serves
comparisons with real routers and small networks, the kernels serve the traffic."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from nettwin.engine.compiled import CompiledNetwork


def distances_to(net: CompiledNetwork, arc_up: np.ndarray | None = None,
                 targets: np.ndarray | None = None) -> np.ndarray:
    """``d[j, u]``: shortest metric from node u to ``targets[j]`` (inf: unreachable)."""
    up = net.arc_up if arc_up is None else arc_up
    n = net.n_nodes
    ok = np.flatnonzero(up)
    targets = np.arange(n) if targets is None else np.asarray(targets)
    # one weight per ordered node pair: the cheapest of parallel arcs
    keys = net.arc_src[ok].astype(np.int64) * n + net.arc_dst[ok]
    order = np.lexsort((net.arc_metric[ok], keys))
    first = np.ones(order.size, bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    sel = ok[order[first]]
    reverse = csr_matrix((net.arc_metric[sel].astype(float), (net.arc_dst[sel],
                                                                net.arc_src[sel])),
                         shape=(n, n))
    dist: np.ndarray = np.atleast_2d(np.asarray(dijkstra(reverse, indices=targets), float))
    return dist


def dag_arcs(net: CompiledNetwork, dist: np.ndarray, arc_up: np.ndarray | None = None
             ) -> np.ndarray:
    """Arcs on a shortest path towards the target whose distances ``dist`` (per node) are."""
    up = net.arc_up if arc_up is None else arc_up
    ok = np.flatnonzero(up)
    src, dst = net.arc_src[ok], net.arc_dst[ok]
    on = np.isfinite(dist[src]) & (dist[src] == net.arc_metric[ok] + dist[dst])
    arcs: np.ndarray = ok[on]
    return arcs


def ecmp_next_hops(net: CompiledNetwork, arc_up: np.ndarray | None = None
                   ) -> dict[tuple[int, int], list[int]]:
    """(router, destination) -> the arcs it forwards on (node positions, arc indices)."""
    dist = distances_to(net, arc_up)
    out: dict[tuple[int, int], list[int]] = {}
    for t in range(net.n_nodes):
        for arc in dag_arcs(net, dist[t], arc_up).tolist():
            out.setdefault((int(net.arc_src[arc]), t), []).append(arc)
    return out
