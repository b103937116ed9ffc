"""Single-failure survival for the energy environment: which awake links, if they failed,
would cut some traffic off (the awake graph's bridges that separate a demand's ends)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def count_cut_links(n, out_ptr, out_arc, arc_dst, arc_up, demand_src, demand_dst, rate):
    """Number of links (arc pairs 2i, 2i+1) whose loss would leave a demand with traffic
    and a path today without one. Reachability from one end of each awake link with that
    link removed (links are treated as undirected: both arcs sleep and fail together)."""
    m = arc_dst.shape[0]
    seen = np.zeros(n, np.int64)
    stack = np.empty(n, np.int64)
    # components of the awake graph now: a demand across components is already cut
    comp = np.full(n, -1, np.int64)
    for root in range(n):
        if comp[root] >= 0:
            continue
        comp[root] = root
        top = 0
        stack[0] = root
        while top >= 0:
            u = stack[top]
            top -= 1
            for q in range(out_ptr[u], out_ptr[u + 1]):
                a = out_arc[q]
                v = arc_dst[a]
                if arc_up[a] and comp[v] < 0:
                    comp[v] = root
                    top += 1
                    stack[top] = v
    cut = 0
    stamp = 0
    for link in range(m // 2):
        a0 = 2 * link
        if not (arc_up[a0] or arc_up[a0 + 1]):
            continue
        stamp += 1
        start = arc_dst[a0 + 1]  # the link's a-end
        seen[start] = stamp
        top = 0
        stack[0] = start
        while top >= 0:
            u = stack[top]
            top -= 1
            for q in range(out_ptr[u], out_ptr[u + 1]):
                a = out_arc[q]
                if a == a0 or a == a0 + 1 or not arc_up[a]:
                    continue
                v = arc_dst[a]
                if seen[v] != stamp:
                    seen[v] = stamp
                    top += 1
                    stack[top] = v
        if seen[arc_dst[a0]] == stamp:
            continue  # the other end is still reachable: not a bridge
        for d in range(demand_src.shape[0]):
            s = demand_src[d]
            t = demand_dst[d]
            if rate[d] > 0 and comp[s] == comp[t] and comp[s] == comp[start] \
                    and (seen[s] == stamp) != (seen[t] == stamp):
                cut += 1
                break
    return cut
