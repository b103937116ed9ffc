"""Repair one destination's routing after metric changes, touching only what changes.

The failure sweep's Ramalingam–Reps repair (``engine.destination_repair``) generalised
from failed arcs to metric changes in both directions. For destination t with old distances D, old
metrics W and new metrics W':

1. Increases: nodes whose distance grows (set A), nearest first: a candidate (the tail of an
   increased DAG arc, or a DAG predecessor of a node put in A) stays out of A when some arc to
   a node outside A still gives D[y] + W'(x, y) <= D[x].
2. New distances: A's nodes seeded from arcs leaving A, tails of decreased arcs seeded when
   the cheaper arc beats their distance, then Dijkstra over the reversed arcs with W'. Every
   node keeps D as an upper bound, so this is exact (dynamic Dijkstra).
3. R, the nodes whose next hops may change: nodes whose distance changed, their
   in-neighbours, and the tails of changed arcs.
4. Loads: R's nodes withdraw their old split; then, farthest (new distance) first, R's nodes
   push all their traffic down the new DAG and every other node reached pushes only the
   difference it received, over its unchanged next hops.

Work is proportional to the nodes and arcs around the change, not to the network.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from nettwin.engine.destination_repair import _pq_pop, _pq_push
from nettwin.engine.shortest_paths import UNREACHABLE

CAND, IN_A, QUEUED, LOWER, RESEND = 16, 2, 4, 8, 1  # mark bits


@njit(cache=True, nogil=True)
def _new_dist(x, dist, mark, nd):
    return nd[x] if mark[x] & (IN_A | LOWER) else dist[x]


@njit(cache=True, nogil=True)
def _queue(y, dist, flow, mark, nd, fl, nodes, count, hkeys, hvals, size):
    """Put y in the push queue (farthest first) with its old traffic; returns (count, size)."""
    if mark[y] == 0:
        nodes[count] = y
        count += 1
    mark[y] |= QUEUED
    fl[y] = flow[y]
    size = _pq_push(hkeys, hvals, size, -_new_dist(y, dist, mark, nd), y)
    return count, size


@njit(cache=True, nogil=True)
def repair_destination(t, dist, flow, lo, hi, move_arc, met_old, met_new, ok, out_ptr, out_arc,
                       in_ptr, in_arc, arc_src, arc_dst, mark, nd, fl, nodes, hkeys, hvals,
                       load, write):
    """Add destination t's load differences for the metric change (arcs move_arc[lo:hi],
    ``met_new`` holding their new metrics) to ``load``; with ``write`` also update ``dist``
    and ``flow`` in place. Scratch arrays come clean and are left clean."""
    count = 0
    size = 0
    # 1. nodes whose distance grows
    for p in range(lo, hi):
        a = move_arc[p]
        if not ok[a] or met_new[a] <= met_old[a]:
            continue
        u = arc_src[a]
        dv = dist[arc_dst[a]]
        if dv != UNREACHABLE and dist[u] != UNREACHABLE and dv + met_old[a] == dist[u] \
                and (mark[u] & CAND) == 0:
            if mark[u] == 0:
                nodes[count] = u
                count += 1
            mark[u] |= CAND
            size = _pq_push(hkeys, hvals, size, dist[u], u)
    while size > 0:
        _, x, size = _pq_pop(hkeys, hvals, size)
        survives = False
        for q in range(out_ptr[x], out_ptr[x + 1]):
            b = out_arc[q]
            y = arc_dst[b]
            if ok[b] and (mark[y] & IN_A) == 0 and dist[y] != UNREACHABLE \
                    and dist[y] + met_new[b] <= dist[x]:
                survives = True
                break
        if survives:
            continue
        mark[x] |= IN_A
        for q in range(in_ptr[x], in_ptr[x + 1]):
            c = in_arc[q]
            z = arc_src[c]
            if ok[c] and (mark[z] & CAND) == 0 and dist[z] != UNREACHABLE \
                    and dist[x] + met_old[c] == dist[z]:
                if mark[z] == 0:
                    nodes[count] = z
                    count += 1
                mark[z] |= CAND
                size = _pq_push(hkeys, hvals, size, dist[z], z)
    # 2. new distances
    size = 0
    for i in range(count):
        x = nodes[i]
        if mark[x] & IN_A:
            best = UNREACHABLE
            for q in range(out_ptr[x], out_ptr[x + 1]):
                b = out_arc[q]
                y = arc_dst[b]
                if ok[b] and (mark[y] & IN_A) == 0 and dist[y] != UNREACHABLE:
                    best = min(best, dist[y] + met_new[b])
            nd[x] = best
            if best != UNREACHABLE:
                size = _pq_push(hkeys, hvals, size, best, x)
    for p in range(lo, hi):
        a = move_arc[p]
        if not ok[a] or met_new[a] >= met_old[a]:
            continue
        u = arc_src[a]
        v = arc_dst[a]
        if (mark[v] & IN_A) or (mark[u] & IN_A) or dist[v] == UNREACHABLE:
            continue
        c = dist[v] + met_new[a]
        if c < _new_dist(u, dist, mark, nd):
            if mark[u] == 0:
                nodes[count] = u
                count += 1
            mark[u] |= LOWER
            nd[u] = c
            size = _pq_push(hkeys, hvals, size, c, u)
    while size > 0:
        d, x, size = _pq_pop(hkeys, hvals, size)
        if d > _new_dist(x, dist, mark, nd):
            continue
        for q in range(in_ptr[x], in_ptr[x + 1]):
            c = in_arc[q]
            if not ok[c]:
                continue
            z = arc_src[c]
            cand = d + met_new[c]
            if cand < _new_dist(z, dist, mark, nd):
                if mark[z] == 0:
                    nodes[count] = z
                    count += 1
                if (mark[z] & IN_A) == 0:
                    mark[z] |= LOWER
                nd[z] = cand
                size = _pq_push(hkeys, hvals, size, cand, z)
    # 3. nodes whose next hops may change
    changed = count
    for i in range(changed):
        x = nodes[i]
        if mark[x] & (IN_A | LOWER):
            mark[x] |= RESEND
            for q in range(in_ptr[x], in_ptr[x + 1]):
                c = in_arc[q]
                z = arc_src[c]
                if ok[c] and dist[z] != UNREACHABLE:
                    if mark[z] == 0:
                        nodes[count] = z
                        count += 1
                    mark[z] |= RESEND
    for p in range(lo, hi):
        a = move_arc[p]
        u = arc_src[a]
        if ok[a] and dist[u] != UNREACHABLE:
            if mark[u] == 0:
                nodes[count] = u
                count += 1
            mark[u] |= RESEND
    # 4a. withdraw the old split of every node in R
    size = 0
    n_r = count
    for i in range(n_r):
        x = nodes[i]
        if (mark[x] & RESEND) and (mark[x] & QUEUED) == 0:
            count, size = _queue(x, dist, flow, mark, nd, fl, nodes, count, hkeys, hvals, size)
    for i in range(n_r):
        x = nodes[i]
        if (mark[x] & RESEND) == 0 or x == t or flow[x] == 0.0 or dist[x] == UNREACHABLE:
            continue
        k_old = 0
        for q in range(out_ptr[x], out_ptr[x + 1]):
            b = out_arc[q]
            y = arc_dst[b]
            if ok[b] and dist[y] != UNREACHABLE and dist[y] + met_old[b] == dist[x]:
                k_old += 1
        share = flow[x] / k_old
        for q in range(out_ptr[x], out_ptr[x + 1]):
            b = out_arc[q]
            y = arc_dst[b]
            if ok[b] and dist[y] != UNREACHABLE and dist[y] + met_old[b] == dist[x]:
                if (mark[y] & QUEUED) == 0:
                    count, size = _queue(y, dist, flow, mark, nd, fl, nodes, count, hkeys,
                                         hvals, size)
                fl[y] -= share
                load[b] -= share
    # 4b. push down the new DAG, farthest first
    while size > 0:
        key, x, size = _pq_pop(hkeys, hvals, size)
        dx = -key
        if x == t or dx == UNREACHABLE:
            continue
        f = fl[x] if mark[x] & RESEND else fl[x] - flow[x]
        if f == 0.0:
            continue
        k_new = 0
        for q in range(out_ptr[x], out_ptr[x + 1]):
            b = out_arc[q]
            dy = _new_dist(arc_dst[b], dist, mark, nd)
            if ok[b] and dy != UNREACHABLE and dy + met_new[b] == dx:
                k_new += 1
        share = f / k_new
        for q in range(out_ptr[x], out_ptr[x + 1]):
            b = out_arc[q]
            y = arc_dst[b]
            dy = _new_dist(y, dist, mark, nd)
            if ok[b] and dy != UNREACHABLE and dy + met_new[b] == dx:
                if (mark[y] & QUEUED) == 0:
                    count, size = _queue(y, dist, flow, mark, nd, fl, nodes, count, hkeys,
                                         hvals, size)
                fl[y] += share
                load[b] += share
    # 5. keep the new state (commit) and clean the scratch
    for i in range(count):
        x = nodes[i]
        if write:
            if mark[x] & (IN_A | LOWER):
                dist[x] = nd[x]
            if mark[x] & QUEUED:
                flow[x] = fl[x]
        mark[x] = 0
        nd[x] = UNREACHABLE
        fl[x] = 0.0


@njit(cache=True, nogil=True)
def repair_scratch(n, m):
    """Clean scratch arrays for repair_destination (one set per thread)."""
    return (np.zeros(n, np.int8), np.full(n, UNREACHABLE, np.int64), np.zeros(n),
            np.empty(n, np.int32), np.empty(n + m + 1, np.int64), np.empty(n + m + 1, np.int32))
