"""Explicit-path detours for the failure-recovery agent: which demand to move off a hot arc,
and the shortest path (by IGP metric) that avoids the arc's link."""

from __future__ import annotations

import numpy as np
from numba import njit

from nettwin.engine.shortest_paths import UNREACHABLE, shortest_distances_to


@njit(cache=True, nogil=True)
def largest_demand_through(arc, destinations, dest_ptr, dest_demand, demand_src, rate, in_ptr,
                           in_arc, arc_src, arc_dst, metric, ok, dist_all, skip):
    """The demand with the highest rate whose ECMP routing puts traffic on ``arc`` (its
    source reaches the arc's tail on the destination's shortest-path DAG); -1 if none.
    Demands flagged in ``skip`` are passed over."""
    n = dist_all.shape[1]
    u = arc_src[arc]
    v = arc_dst[arc]
    mark = np.zeros(n, np.bool_)
    stack = np.empty(n, np.int64)
    best = -1
    best_rate = 0.0
    for j in range(destinations.shape[0]):
        dist = dist_all[j]
        if not ok[arc] or dist[v] == UNREACHABLE or dist[u] == UNREACHABLE \
                or dist[v] + metric[arc] != dist[u]:
            continue
        mark[:] = False
        mark[u] = True
        top = 0
        stack[0] = u
        while top >= 0:
            x = stack[top]
            top -= 1
            for q in range(in_ptr[x], in_ptr[x + 1]):
                b = in_arc[q]
                y = arc_src[b]
                if ok[b] and not mark[y] and dist[y] != UNREACHABLE \
                        and dist[x] + metric[b] == dist[y]:
                    mark[y] = True
                    top += 1
                    stack[top] = y
        for k in range(dest_ptr[j], dest_ptr[j + 1]):
            d = dest_demand[k]
            if mark[demand_src[d]] and not skip[d] and rate[d] > best_rate:
                best = d
                best_rate = rate[d]
    return best


@njit(cache=True, nogil=True)
def shortest_path_avoiding(s, t, avoid_a, avoid_b, in_ptr, in_arc, out_ptr, out_arc, arc_src,
                           arc_dst, metric, ok, path):
    """Arcs of a shortest path s -> t that uses neither ``avoid_a`` nor ``avoid_b`` (the first
    equal-cost next hop at each node) into ``path``; returns its length, -1 if none."""
    n = in_ptr.shape[0] - 1
    usable = ok.copy()
    usable[avoid_a] = False
    usable[avoid_b] = False
    dist = np.empty(n, np.int64)
    order = np.empty(n, np.int32)
    heap = np.empty(n, np.int32)
    pos = np.empty(n, np.int32)
    nh = np.empty(n, np.int32)
    shortest_distances_to(t, in_ptr, arc_src[in_arc], metric[in_arc], usable[in_arc], dist,
                          order, heap, pos, nh)
    if dist[s] == UNREACHABLE:
        return -1
    x = s
    hops = 0
    while x != t:
        for q in range(out_ptr[x], out_ptr[x + 1]):
            a = out_arc[q]
            y = arc_dst[a]
            if usable[a] and dist[y] != UNREACHABLE and dist[y] + metric[a] == dist[x]:
                path[hops] = a
                hops += 1
                x = y
                break
    return hops
