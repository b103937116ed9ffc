"""Shortest distances toward one destination for the ECMP routing kernels (numba).

Dijkstra on the reversed graph with an indexed 4-ary heap that also links each node's
equal-cost next hops as it finds them (``_dijkstra``); when distances fit in int32 (nearly
always) a fast path with heap keys packed with their node and arcs down compacted away, and a
bucket queue instead of the heap on large networks with small metrics (``_dijkstra32``,
``_dial32``). ``engine.routing`` pushes the traffic down what these find.
"""

from __future__ import annotations

import numpy as np
from numba import njit

UNREACHABLE = np.iinfo(np.int64).max


@njit(cache=True, nogil=True)
def _sift_up(heap, pos, dist, i):
    v = heap[i]
    dv = dist[v]
    while i > 0:
        parent = (i - 1) >> 2
        p = heap[parent]
        if dist[p] <= dv:
            break
        heap[i] = p
        pos[p] = i
        i = parent
    heap[i] = v
    pos[v] = i


@njit(cache=True, nogil=True)
def _sift_down(heap, pos, dist, size):
    v = heap[0]
    dv = dist[v]
    i = 0
    while True:
        first = 4 * i + 1
        if first >= size:
            break
        best = first
        db = dist[heap[first]]
        last = min(first + 4, size)
        for c in range(first + 1, last):
            dc = dist[heap[c]]
            if dc < db:
                best = c
                db = dc
        if dv <= db:
            break
        w = heap[best]
        heap[i] = w
        pos[w] = i
        i = best
    heap[i] = v
    pos[v] = i


@njit(cache=True, nogil=True)
def _dijkstra(t, in_ptr, in_src, in_metric, in_ok, dist, order, heap, pos, nh, head, nxt,
              track):
    """Shortest distances to ``t`` (see shortest_distances_to); with ``track`` each node's
    equal-cost next hops are also linked as in-CSR positions: ``head[u]`` is the first,
    ``nxt[k]`` the one after position ``k``, -1 ends the list (valid for settled nodes)."""
    dist[:] = UNREACHABLE
    nh[:] = 0
    pos[:] = -1  # -1: never queued, -2: settled
    dist[t] = 0
    heap[0] = t
    pos[t] = 0
    if track:
        head[t] = -1
    size = 1
    count = 0
    while size > 0:
        v = heap[0]
        d = dist[v]
        pos[v] = -2
        size -= 1
        if size > 0:
            heap[0] = heap[size]
            pos[heap[0]] = 0
            _sift_down(heap, pos, dist, size)
        order[count] = v
        count += 1
        for k in range(in_ptr[v], in_ptr[v + 1]):
            if not in_ok[k]:
                continue
            u = in_src[k]
            nd = d + in_metric[k]
            if nd == dist[u]:
                nh[u] += 1  # another equal-cost next hop (v settles before u: w >= 1)
                if track:
                    nxt[k] = head[u]
                    head[u] = k
            elif nd < dist[u]:
                dist[u] = nd
                nh[u] = 1
                if track:
                    nxt[k] = -1
                    head[u] = k
                if pos[u] == -1:
                    heap[size] = u
                    pos[u] = size
                    size += 1
                _sift_up(heap, pos, dist, pos[u])
    return count


# Fast path of pass 1 (route_all): when every shortest distance fits in 31 bits (the largest
# up metric times n - 1), distances are int32 and a heap entry is one int64, the distance in
# the high half and the node in the low half, so the heap compares its own keys instead of
# reading dist[] through the node (the indirect loads were most of the heap's cost). Arcs
# down are left out of a compacted copy of the in-CSR whose tails and metrics are
# interleaved (one cache line serves four arcs' relaxations). Same distances and next hops
# as ``_dijkstra``; nodes at equal distance may settle in another order (here by node
# number), which only reorders the floating-point sums of the loads (~1e-16 relative).
INT32_DIST_LIMIT = 2**31 - 1
# The bucket queue (``_dial32``) replaces the heap on networks of DIAL_MIN_NODES or more
# with at most DIAL_BUCKETS_PER_NODE buckets per node (buckets: the largest metric rounded
# up to a power of two) and whose farthest distance from the first destination (one heap
# run finds it) is at most DIAL_SCAN_PER_NODE x nodes: the bucket scan passes every distance
# up to the farthest, so this bounds it against the heap's log n per node (a long ring with
# large metrics keeps the heap). Measured on the synthetic backbones (largest metric ~180,
# 256 buckets), CPU on one thread: loads at 1,000 nodes 105 ms instead of 119, at 2,000
# nodes 460-490 instead of 540-660; the 5,000-node shortest paths 1.8-2.2 s, not 3.0-3.3 s.
DIAL_MIN_NODES = 256
DIAL_BUCKETS_PER_NODE = 1
DIAL_SCAN_PER_NODE = 4
_NODE_MASK = 0xFFFFFFFF


@njit(cache=True, nogil=True, inline="always")
def _key_up(keys, pos, i):
    key = keys[i]
    while i > 0:
        parent = (i - 1) >> 2
        pk = keys[parent]
        if pk <= key:
            break
        keys[i] = pk
        pos[pk & _NODE_MASK] = i
        i = parent
    keys[i] = key
    pos[key & _NODE_MASK] = i


@njit(cache=True, nogil=True, inline="always")
def _key_down(keys, pos, size):
    key = keys[0]
    i = 0
    while True:
        first = 4 * i + 1
        if first >= size:
            break
        best = first
        bk = keys[first]
        last = min(first + 4, size)
        for c in range(first + 1, last):
            ck = keys[c]
            if ck < bk:
                best = c
                bk = ck
        if key <= bk:
            break
        keys[i] = bk
        pos[bk & _NODE_MASK] = i
        i = best
    keys[i] = key
    pos[key & _NODE_MASK] = i


@njit(cache=True, nogil=True)
def _dijkstra32(t, ptr, pack, dist, order, keys, pos, nh, head, nxt):
    """``_dijkstra`` (tracking next hops) on the compacted in-CSR: ``pack`` holds each up
    in-arc's tail and metric side by side; ``dist`` is int32 (INT32_DIST_LIMIT: unreached)."""
    dist[:] = INT32_DIST_LIMIT
    pos[:] = -1  # -1: never queued, -2: settled
    dist[t] = 0
    keys[0] = np.int64(t)
    pos[t] = 0
    head[t] = -1
    size = 1
    count = 0
    while size > 0:
        key = keys[0]
        v = np.int32(key & _NODE_MASK)
        d = np.int32(key >> 32)
        pos[v] = -2
        size -= 1
        if size > 0:
            keys[0] = keys[size]
            _key_down(keys, pos, size)
        order[count] = v
        count += 1
        for k in range(ptr[v], ptr[v + 1]):
            u = pack[2 * k]
            nd = d + pack[2 * k + 1]
            du = dist[u]
            if nd > du:
                continue
            if nd == du:
                nh[u] += 1  # another equal-cost next hop (v settles before u: w >= 1)
                nxt[k] = head[u]
                head[u] = k
            else:
                dist[u] = nd
                nh[u] = 1
                nxt[k] = -1
                head[u] = k
                p = pos[u]
                if p == -1:
                    p = size
                    size += 1
                keys[p] = (np.int64(nd) << 32) | u
                _key_up(keys, pos, p)
    return count


@njit(cache=True, nogil=True)
def _dial32(t, ptr, pack, n_buckets, dist, order, bucket, entry_next, entry_node, nh, head,
            nxt):
    """``_dijkstra32`` with a bucket queue (Dial): ``n_buckets`` (a power of two above the
    largest metric) circular buckets of distances; a node found nearer is queued again and
    its stale entry skipped when met. No comparisons; the scan passes every distance up to
    the farthest node's, so this suits small metrics on large networks (route_all picks)."""
    mask = n_buckets - 1
    dist[:] = INT32_DIST_LIMIT
    bucket[:] = -1
    dist[t] = 0
    entry_node[0] = t
    entry_next[0] = -1
    bucket[0] = 0
    entries = 1
    queued = 1
    head[t] = -1
    count = 0
    d = 0
    while queued > 0:
        e = bucket[d & mask]
        if e < 0:
            d += 1
            continue
        bucket[d & mask] = entry_next[e]
        queued -= 1
        v = entry_node[e]
        if dist[v] != d:
            continue  # queued again nearer: settled already
        order[count] = v
        count += 1
        for k in range(ptr[v], ptr[v + 1]):
            u = pack[2 * k]
            nd = d + pack[2 * k + 1]
            du = dist[u]
            if nd > du:
                continue
            if nd == du:
                nh[u] += 1
                nxt[k] = head[u]
                head[u] = k
            else:
                dist[u] = nd
                nh[u] = 1
                nxt[k] = -1
                head[u] = k
                b = nd & mask
                entry_node[entries] = u
                entry_next[entries] = bucket[b]
                bucket[b] = entries
                entries += 1
                queued += 1
    return count


@njit(cache=True, nogil=True)
def _farthest32(t, n, ptr, pack):
    """The largest shortest distance to ``t`` (one ``_dijkstra32`` run): how far a bucket
    queue's scan would go for a destination like it."""
    dist = np.empty(n, np.int32)
    order = np.empty(n, np.int32)
    m = pack.shape[0] // 2
    count = _dijkstra32(t, ptr, pack, dist, order, np.empty(n, np.int64), np.empty(n, np.int32),
                        np.empty(n, np.int32), np.empty(n, np.int32), np.empty(max(m, 1), np.int32))
    return dist[order[count - 1]]


@njit(cache=True, nogil=True)
def shortest_distances_to(t, in_ptr, in_src, in_metric, in_ok, dist, order, heap, pos, nh):
    """Distances from every node to ``t``; ``order`` gets the settled nodes, nearest first.

    Dijkstra on the reversed graph with an indexed 4-ary heap (decrease-key, at most n
    entries). The in-arcs' tails, metrics and states come gathered in CSR order, so the
    relaxation loop reads memory sequentially. ``nh`` gets each node's number of equal-cost
    next hops, counted as its shortest distance is confirmed. Returns how many nodes reach
    ``t``; ``dist`` is UNREACHABLE for the others.
    """
    none = np.empty(0, np.int32)
    return _dijkstra(t, in_ptr, in_src, in_metric, in_ok, dist, order, heap, pos, nh, none,
                     none, False)
