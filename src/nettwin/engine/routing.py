"""ECMP routing kernels (numba): per-destination shortest paths, load push, path metrics.

OSPF/IS-IS semantics: for destination t, node u forwards over every arc u->v with
metric(u->v) + d(v, t) = d(u, t) and splits its traffic evenly over those next hops.
Metrics are integers, so equal cost is exact equality, as on a router.

Two passes over the destinations, each serial for small jobs and parallel above the
measured crossover (``engine.threads``): one numba ``prange`` iteration per thread, each
claiming destination chunks (pass 1) or blocks (pass 2) until none is left
(``engine.threads.claim_next``), so a thread the OS delays holds up one unit of work:

1. shortest distances on the reversed graph (Dijkstra, indexed 4-ary heap) that also links
   each node's equal-cost next hops as it finds them, then a farthest-first push of each
   node's traffic toward t along those links (no second scan of the arcs); arc loads are
   summed per chunk, then reduced. The DAG is kept as a bitset per destination. When the
   distances fit in int32 (nearly always) a fast path runs: heap keys packed with their
   node, arcs down compacted away, and a bucket queue instead of the heap on large networks
   with small metrics (``_dijkstra32``, ``_dial32``).
2. once arc delays and losses are known, the same DAG gives per node the delay averaged
   over the ECMP split, the worst-path delay, the delivery probability and the mean hops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

from nettwin.engine.threads import claim_next, parallel_region, threads_for

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


@njit(cache=True, nogil=True)
def push_dag_to(order, count, nh, head, nxt, in_arc, in_dst, in_to_out, flow, load, bits):
    """Push ``flow`` down the ECMP DAG that ``_dijkstra`` linked (farthest node first, each
    node's traffic split evenly over its next hops) into ``load``; with a non-empty ``bits``
    also mark the DAG's arcs there (bit = position in the out-CSR)."""
    track = bits.shape[0] > 0
    if track:
        bits[:] = 0
    for k in range(count - 1, 0, -1):
        u = order[k]
        f = flow[u]
        if f != 0.0:
            share = f / nh[u]
            q = head[u]
            while q >= 0:
                load[in_arc[q]] += share
                flow[in_dst[q]] += share
                q = nxt[q]
        if track:
            q = head[u]
            while q >= 0:
                p = in_to_out[q]
                bits[p >> 6] |= np.uint64(1) << np.uint64(p & 63)
                q = nxt[q]


@njit(cache=True, nogil=True)
def push_load_to(dist, order, count, nh, flow, out_ptr, out_arc, out_dst, out_metric, out_ok,
                 load):
    """Push ``flow`` (traffic per node toward the destination) down the ECMP DAG into ``load``.

    Nodes are visited farthest first, so a node's flow is complete before it is split over
    its ``nh`` equal-cost next hops (out-arcs gathered in CSR order).
    """
    for k in range(count - 1, 0, -1):
        u = order[k]
        f = flow[u]
        if f == 0.0:
            continue
        du = dist[u]
        share = f / nh[u]
        for j in range(out_ptr[u], out_ptr[u + 1]):
            if out_ok[j]:
                v = out_dst[j]
                dv = dist[v]
                if dv != UNREACHABLE and dv + out_metric[j] == du:
                    load[out_arc[j]] += share
                    flow[v] += share


@njit(cache=True, nogil=True)
def _route_chunk(c, n_chunks, n, destinations, dest_ptr, dest_demand, demand_src, demand_rate,
                 in_ptr, in_src, in_metric, in_ok, in_arc, in_dst, in_to_out, dist_all,
                 order_all, count_all, flow_all, bits_all, load):
    """Pass 1 for destinations c, c + n_chunks, ...: loads summed into ``load``."""
    n_in = in_src.shape[0]
    flow = np.zeros(n)
    heap = np.empty(n, np.int32)
    pos = np.empty(n, np.int32)
    nh = np.empty(n, np.int32)
    head = np.empty(n, np.int32)
    nxt = np.empty(n_in, np.int32)
    no_bits = np.empty(0, np.uint64)
    keep_bits = bits_all.shape[0] > 0
    for j in range(c, destinations.shape[0], n_chunks):
        t = destinations[j]
        dist = dist_all[j]
        order = order_all[j]
        count = _dijkstra(t, in_ptr, in_src, in_metric, in_ok, dist, order, heap, pos, nh, head,
                          nxt, True)
        count_all[j] = count
        for k in range(dest_ptr[j], dest_ptr[j + 1]):
            d = dest_demand[k]
            flow[demand_src[d]] += demand_rate[d]
        push_dag_to(order, count, nh, head, nxt, in_arc, in_dst, in_to_out, flow, load,
                    bits_all[j] if keep_bits else no_bits)
        if flow_all.shape[0] > 0:
            flow_all[j, :] = flow
        for k in range(count):
            flow[order[k]] = 0.0
        for k in range(dest_ptr[j], dest_ptr[j + 1]):
            flow[demand_src[dest_demand[k]]] = 0.0  # unreachable sources too


@njit(cache=True, parallel=True)
def _route_parallel(n_chunks, n, destinations, dest_ptr, dest_demand, demand_src, demand_rate,
                    in_ptr, in_src, in_metric, in_ok, in_arc, in_dst, in_to_out, dist_all,
                    order_all, count_all, flow_all, bits_all):
    loads = np.zeros((n_chunks, in_src.shape[0]))
    for c in prange(n_chunks):
        _route_chunk(c, n_chunks, n, destinations, dest_ptr, dest_demand, demand_src,
                     demand_rate, in_ptr, in_src, in_metric, in_ok, in_arc, in_dst, in_to_out,
                     dist_all, order_all, count_all, flow_all, bits_all, loads[c])
    total = np.zeros(in_src.shape[0])
    for c in range(n_chunks):
        total += loads[c]
    return total


@njit(cache=True, nogil=True)
def _route_serial(n, destinations, dest_ptr, dest_demand, demand_src, demand_rate, in_ptr,
                  in_src, in_metric, in_ok, in_arc, in_dst, in_to_out, dist_all, order_all,
                  count_all, flow_all, bits_all):
    total = np.zeros(in_src.shape[0])
    _route_chunk(0, 1, n, destinations, dest_ptr, dest_demand, demand_src, demand_rate, in_ptr,
                 in_src, in_metric, in_ok, in_arc, in_dst, in_to_out, dist_all, order_all,
                 count_all, flow_all, bits_all, total)
    return total


@njit(cache=True, nogil=True)
def _route_chunk32(c, n_chunks, n, destinations, dest_ptr, dest_demand, demand_src,
                   demand_rate, ptr, pack, c_arc, c_dst, c_to_out, n_buckets, dist_all,
                   order_all, count_all, flow_all, bits_all, load):
    """``_route_chunk`` on the fast path (``_dijkstra32``, or ``_dial32`` with a non-zero
    ``n_buckets``); the push marks the DAG's bits in the same walk of a node's next hops."""
    m = pack.shape[0] // 2
    flow = np.zeros(n)
    dist = np.empty(n, np.int32)
    keys = np.empty(n, np.int64)
    pos = np.empty(n, np.int32)
    nh = np.empty(n, np.int32)
    head = np.empty(n, np.int32)
    nxt = np.empty(max(m, 1), np.int32)
    bucket = np.empty(n_buckets, np.int32)
    entry_next = np.empty(m + 1 if n_buckets else 0, np.int32)
    entry_node = np.empty(m + 1 if n_buckets else 0, np.int32)
    keep_bits = bits_all.shape[0] > 0
    keep_flow = flow_all.shape[0] > 0
    one = np.uint64(1)
    for j in range(c, destinations.shape[0], n_chunks):
        t = destinations[j]
        order = order_all[j]
        if n_buckets:
            count = _dial32(t, ptr, pack, n_buckets, dist, order, bucket, entry_next,
                            entry_node, nh, head, nxt)
        else:
            count = _dijkstra32(t, ptr, pack, dist, order, keys, pos, nh, head, nxt)
        count_all[j] = count
        row = dist_all[j]
        for x in range(n):  # every node reached is settled: the queue ran empty
            row[x] = dist[x] if dist[x] != INT32_DIST_LIMIT else UNREACHABLE
        for k in range(dest_ptr[j], dest_ptr[j + 1]):
            d = dest_demand[k]
            flow[demand_src[d]] += demand_rate[d]
        if keep_bits:
            bits = bits_all[j]
            bits[:] = 0
        for k in range(count - 1, 0, -1):
            u = order[k]
            share = flow[u] / nh[u]
            q = head[u]
            while q >= 0:
                load[c_arc[q]] += share
                flow[c_dst[q]] += share
                if keep_bits:
                    p = c_to_out[q]
                    bits[p >> 6] |= one << np.uint64(p & 63)
                q = nxt[q]
        if keep_flow:
            flow_all[j, :] = flow
        for k in range(count):
            flow[order[k]] = 0.0
        for k in range(dest_ptr[j], dest_ptr[j + 1]):
            flow[demand_src[dest_demand[k]]] = 0.0  # unreachable sources too


@njit(cache=True, parallel=True)
def _route32_parallel(n_workers, n_chunks, n, destinations, dest_ptr, dest_demand, demand_src,
                      demand_rate, ptr, pack, c_arc, c_dst, c_to_out, n_buckets, m, dist_all,
                      order_all, count_all, flow_all, bits_all):
    """Chunks dealt out one at a time to ``n_workers`` threads (``claim_next``); each chunk
    sums its own loads and the chunks are added in order, so the loads do not depend on
    which thread ran what."""
    loads = np.zeros((n_chunks, m))
    counter = np.zeros(1, np.int64)
    for _w in prange(n_workers):
        while True:
            mine: int = claim_next(counter)  # type: ignore[call-arg]
            if mine >= n_chunks:
                break
            _route_chunk32(mine, n_chunks, n, destinations, dest_ptr, dest_demand, demand_src,
                           demand_rate, ptr, pack, c_arc, c_dst, c_to_out, n_buckets, dist_all,
                           order_all, count_all, flow_all, bits_all, loads[mine])
    total = np.zeros(m)
    for c in range(n_chunks):
        total += loads[c]
    return total


@njit(cache=True, nogil=True)
def _route32_serial(n, destinations, dest_ptr, dest_demand, demand_src, demand_rate, ptr, pack,
                    c_arc, c_dst, c_to_out, n_buckets, m, dist_all, order_all, count_all,
                    flow_all, bits_all):
    total = np.zeros(m)
    _route_chunk32(0, 1, n, destinations, dest_ptr, dest_demand, demand_src, demand_rate, ptr,
                   pack, c_arc, c_dst, c_to_out, n_buckets, dist_all, order_all, count_all,
                   flow_all, bits_all, total)
    return total


def in_to_out_positions(in_arc: np.ndarray, out_ptr: np.ndarray,
                        out_arc: np.ndarray) -> np.ndarray:
    """For each in-CSR position, the out-CSR position of the same arc."""
    where = np.empty(out_arc.size, np.int32)
    where[out_arc] = np.arange(out_arc.size, dtype=np.int32)
    out: np.ndarray = where[in_arc]
    return out


def route_all(n: int, destinations: np.ndarray, dest_ptr: np.ndarray, dest_demand: np.ndarray,
              demand_src: np.ndarray, demand_rate: np.ndarray, in_ptr: np.ndarray,
              in_arc: np.ndarray, out_ptr: np.ndarray, out_arc: np.ndarray,
              arc_src: np.ndarray, arc_dst: np.ndarray, arc_metric: np.ndarray,
              arc_ok: np.ndarray, n_chunks: int, dist_all: np.ndarray, order_all: np.ndarray,
              count_all: np.ndarray, flow_all: np.ndarray,
              bits_all: np.ndarray | None = None) -> np.ndarray:
    """Pass 1 for every destination: distances (kept for pass 2) and summed arc loads.

    With a non-empty ``flow_all`` (destinations x nodes) the traffic each node forwards
    toward each destination is kept too: the baseline an incremental failure sweep starts
    from. A non-empty ``bits_all`` (destinations x dag_words(m)) gets each destination's
    shortest-path DAG as a bitset over out-CSR positions (pass 2 walks only those arcs).
    Serial below the work crossover (engine.threads), else ``n_chunks`` chunks in parallel.
    """
    in_ok = arc_ok[in_arc]
    in_to_out = in_to_out_positions(in_arc, out_ptr, out_arc)
    bits = np.zeros((0, 0), np.uint64) if bits_all is None else bits_all
    threads = threads_for(float(destinations.shape[0]) * arc_src.shape[0])
    up_metric = arc_metric[arc_ok]
    if up_metric.size == 0 or (up_metric.min() >= 0 and int(up_metric.max()) * max(n - 1, 1)
                               < INT32_DIST_LIMIT):
        keep = np.flatnonzero(in_ok)
        up_before = np.zeros(in_ok.size + 1, np.int64)  # up in-arcs before each position
        np.cumsum(in_ok, out=up_before[1:])
        ptr = up_before[in_ptr]
        c_arc = in_arc[keep]
        pack = np.empty(2 * keep.size, np.int32)
        pack[0::2] = arc_src[c_arc]
        pack[1::2] = arc_metric[c_arc]
        largest = int(up_metric.max()) if up_metric.size else 0
        n_buckets = 1 << largest.bit_length()  # a power of two above the largest metric
        if (n < DIAL_MIN_NODES or n_buckets > DIAL_BUCKETS_PER_NODE * n
                or destinations.shape[0] == 0
                or _farthest32(int(destinations[0]), n, ptr, pack) > DIAL_SCAN_PER_NODE * n):
            n_buckets = 0  # the heap
        args = (n, destinations, dest_ptr, dest_demand, demand_src, demand_rate, ptr, pack,
                c_arc, arc_dst[c_arc], in_to_out[keep], n_buckets, arc_src.shape[0])
        if threads == 1:
            return _route32_serial(*args, dist_all, order_all,  # type: ignore[no-any-return]
                                   count_all, flow_all, bits)
        with parallel_region(threads):
            return _route32_parallel(threads, n_chunks, *args,  # type: ignore[no-any-return]
                                     dist_all, order_all, count_all, flow_all, bits)
    in_src = arc_src[in_arc]
    in_metric = arc_metric[in_arc]
    in_dst = arc_dst[in_arc]
    if threads == 1:
        load: np.ndarray = _route_serial(
            n, destinations, dest_ptr, dest_demand, demand_src, demand_rate, in_ptr, in_src,
            in_metric, in_ok, in_arc, in_dst, in_to_out, dist_all, order_all, count_all,
            flow_all, bits)
    else:
        with parallel_region(threads):
            load = _route_parallel(
                n_chunks, n, destinations, dest_ptr, dest_demand, demand_src, demand_rate,
                in_ptr, in_src, in_metric, in_ok, in_arc, in_dst, in_to_out, dist_all,
                order_all, count_all, flow_all, bits)
    return load


def dag_words(n_arcs: int) -> int:
    """uint64 words of one destination's DAG bitset."""
    return (n_arcs + 63) // 64


@dataclass(frozen=True, eq=False)
class Turns:
    """Every (in-arc, out-arc) pair through a node, numbered node by node: node u's block of
    indeg(u) x outdeg(u) pairs starts at ``pair_ptr[u]``; pair (a, b) sits at
    ``pair_ptr[u] + in_pos[a] * outdeg(u) + (b's place among u's out-arcs)``."""

    pair_ptr: np.ndarray
    in_pos: np.ndarray
    out_pos: np.ndarray
    arc_in: np.ndarray  # [pairs]
    arc_out: np.ndarray  # [pairs]

    def pair(self, arc_in: np.ndarray, arc_out: np.ndarray, arc_dst: np.ndarray,
             out_ptr: np.ndarray) -> np.ndarray:
        """Index of the pairs (arc_in[i], arc_out[i]); arc_out must leave where arc_in ends."""
        u = arc_dst[arc_in]
        index: np.ndarray = (self.pair_ptr[u] + self.in_pos[arc_in] * (out_ptr[u + 1]
                                                                       - out_ptr[u])
                             + self.out_pos[arc_out])
        return index


def turn_index(in_ptr: np.ndarray, in_arc: np.ndarray, out_ptr: np.ndarray,
               out_arc: np.ndarray) -> Turns:
    n = in_ptr.size - 1
    indeg, outdeg = np.diff(in_ptr), np.diff(out_ptr)
    pair_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(indeg * outdeg, out=pair_ptr[1:])
    in_pos = np.zeros(in_arc.size, np.int64)
    out_pos = np.zeros(out_arc.size, np.int64)
    arc_in = np.empty(pair_ptr[-1], np.int64)
    arc_out = np.empty(pair_ptr[-1], np.int64)
    for u in range(n):
        ins = in_arc[in_ptr[u]:in_ptr[u + 1]]
        outs = out_arc[out_ptr[u]:out_ptr[u + 1]]
        in_pos[ins] = np.arange(ins.size)
        out_pos[outs] = np.arange(outs.size)
        arc_in[pair_ptr[u]:pair_ptr[u + 1]] = np.repeat(ins, outs.size)
        arc_out[pair_ptr[u]:pair_ptr[u + 1]] = np.tile(outs, ins.size)
    return Turns(pair_ptr, in_pos, out_pos, arc_in, arc_out)


@njit(cache=True, nogil=True)
def _thinned_chunk(c, n_chunks, n, destinations, dest_ptr, dest_demand, demand_src,
                   demand_rate, in_ptr, in_arc, out_ptr, out_arc, out_dst, out_metric, out_ok,
                   arc_pass, dist_all, order_all, count_all, pair_ptr, in_pos, loads, turns):
    """push_thinned_all for destinations c, c + n_chunks, ..."""
    m = out_arc.shape[0]
    n_pairs = pair_ptr[n]
    n_dest = destinations.shape[0]
    flow = np.zeros(n)
    inflow = np.zeros(m)
    for j in range(c, n_dest, n_chunks):
        dist = dist_all[j]
        order = order_all[j]
        count = count_all[j]
        for k in range(dest_ptr[j], dest_ptr[j + 1]):
            d = dest_demand[k]
            if dist[demand_src[d]] != UNREACHABLE:
                flow[demand_src[d]] += demand_rate[d]
        for k in range(count - 1, 0, -1):
            u = order[k]
            f = flow[u]
            flow[u] = 0.0
            if f == 0.0:
                continue
            du = dist[u]
            hops = 0
            for q in range(out_ptr[u], out_ptr[u + 1]):
                if out_ok[q] and dist[out_dst[q]] != UNREACHABLE \
                        and dist[out_dst[q]] + out_metric[q] == du:
                    hops += 1
            share = f / hops
            outdeg = out_ptr[u + 1] - out_ptr[u]
            for q in range(out_ptr[u], out_ptr[u + 1]):
                v = out_dst[q]
                if out_ok[q] and dist[v] != UNREACHABLE and dist[v] + out_metric[q] == du:
                    passed = share * arc_pass[out_arc[q]]
                    loads[out_arc[q]] += share
                    flow[v] += passed
                    inflow[out_arc[q]] += passed
                    if n_pairs == 0:
                        continue
                    # what came in on each in-arc leaves evenly over the next hops
                    base = pair_ptr[u] + (q - out_ptr[u])
                    for r in range(in_ptr[u], in_ptr[u + 1]):
                        a_in = in_arc[r]
                        if inflow[a_in] > 0.0:
                            turns[base + in_pos[a_in] * outdeg] += inflow[a_in] / hops
        for k in range(count):  # inflow lives on the arcs into the DAG's nodes
            u = order[k]
            for r in range(in_ptr[u], in_ptr[u + 1]):
                inflow[in_arc[r]] = 0.0
        flow[destinations[j]] = 0.0


@njit(cache=True, parallel=True)
def _thinned_parallel(n, destinations, dest_ptr, dest_demand, demand_src, demand_rate, in_ptr,
                      in_arc, out_ptr, out_arc, out_dst, out_metric, out_ok, arc_pass, dist_all,
                      order_all, count_all, n_chunks, pair_ptr, in_pos):
    m = out_arc.shape[0]
    n_pairs = pair_ptr[n]
    loads = np.zeros((n_chunks, m))
    turns = np.zeros((n_chunks, n_pairs))
    for c in prange(n_chunks):
        _thinned_chunk(c, n_chunks, n, destinations, dest_ptr, dest_demand, demand_src,
                       demand_rate, in_ptr, in_arc, out_ptr, out_arc, out_dst, out_metric,
                       out_ok, arc_pass, dist_all, order_all, count_all, pair_ptr, in_pos,
                       loads[c], turns[c])
    total_loads = np.zeros(m)
    total_turns = np.zeros(n_pairs)
    for c in range(n_chunks):
        total_loads += loads[c]
        total_turns += turns[c]
    return total_loads, total_turns


@njit(cache=True, nogil=True)
def _thinned_serial(n, destinations, dest_ptr, dest_demand, demand_src, demand_rate, in_ptr,
                    in_arc, out_ptr, out_arc, out_dst, out_metric, out_ok, arc_pass, dist_all,
                    order_all, count_all, pair_ptr, in_pos):
    loads = np.zeros(out_arc.shape[0])
    turns = np.zeros(pair_ptr[n])
    _thinned_chunk(0, 1, n, destinations, dest_ptr, dest_demand, demand_src, demand_rate,
                   in_ptr, in_arc, out_ptr, out_arc, out_dst, out_metric, out_ok, arc_pass,
                   dist_all, order_all, count_all, pair_ptr, in_pos, loads, turns)
    return loads, turns


def push_thinned_all(n: int, destinations: np.ndarray, dest_ptr: np.ndarray,
                     dest_demand: np.ndarray, demand_src: np.ndarray, demand_rate: np.ndarray,
                     in_ptr: np.ndarray, in_arc: np.ndarray, out_ptr: np.ndarray,
                     out_arc: np.ndarray, arc_dst: np.ndarray, arc_metric: np.ndarray,
                     arc_ok: np.ndarray, arc_pass: np.ndarray, dist_all: np.ndarray,
                     order_all: np.ndarray, count_all: np.ndarray, n_chunks: int,
                     pair_ptr: np.ndarray, in_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pass 1 again on the DAGs pass 1 found, each arc passing on only ``arc_pass`` of what
    reaches it. Returns the load that reaches every arc and the traffic that arrives on one
    arc and leaves on the next, for every pair of arcs through a node (numbered as
    ``turn_index`` does; a ``pair_ptr`` of zeros skips them)."""
    out_dst = arc_dst[out_arc]
    out_metric = arc_metric[out_arc]
    out_ok = arc_ok[out_arc]
    args = (n, destinations, dest_ptr, dest_demand, demand_src, demand_rate, in_ptr, in_arc,
            out_ptr, out_arc, out_dst, out_metric, out_ok, arc_pass, dist_all, order_all,
            count_all)
    threads = threads_for(float(destinations.shape[0]) * arc_dst.shape[0])
    if threads == 1:
        return _thinned_serial(*args, pair_ptr, in_pos)  # type: ignore[no-any-return]
    with parallel_region(threads):
        return _thinned_parallel(*args, n_chunks, pair_ptr, in_pos)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True)
def node_metrics_to(t, dist, order, count, out_ptr, out_dst, out_metric, out_ok, out_delay,
                    out_pass, out_sig, mean_d, worst_d, surv, hops, sig):
    """Per node toward ``t``: delay over the ECMP split, worst-path delay, delivery
    probability, mean hops and a path signature (the split-weighted sum of arc hashes:
    equal signatures mean the same paths with the same split), nearest nodes first so each
    reads finished successors. Out-arc attributes come gathered in CSR order."""
    mean_d[t] = 0.0
    worst_d[t] = 0.0
    surv[t] = 1.0
    hops[t] = 0.0
    sig[t] = 0.0
    for k in range(1, count):
        u = order[k]
        du = dist[u]
        cnt = 0
        s_mean = 0.0
        s_worst = 0.0
        s_surv = 0.0
        s_hops = 0.0
        s_sig = 0.0
        for q in range(out_ptr[u], out_ptr[u + 1]):
            if out_ok[q]:
                v = out_dst[q]
                dv = dist[v]
                if dv != UNREACHABLE and dv + out_metric[q] == du:
                    cnt += 1
                    s_mean += out_delay[q] + mean_d[v]
                    w = out_delay[q] + worst_d[v]
                    s_worst = max(s_worst, w)
                    s_surv += out_pass[q] * surv[v]
                    s_hops += 1.0 + hops[v]
                    s_sig += out_sig[q] + sig[v]
        mean_d[u] = s_mean / cnt
        sig[u] = s_sig / cnt
        worst_d[u] = s_worst
        surv[u] = s_surv / cnt
        hops[u] = s_hops / cnt


@njit(cache=True, nogil=True, inline="always")
def _span_bits(bits, lo, hi):
    """Bits ``lo .. hi - 1`` (at most 64) of a bitset as the low bits of one word."""
    w0 = lo >> 6
    shift = lo & 63
    x = bits[w0] >> np.uint64(shift)
    if shift != 0 and (hi - 1) >> 6 != w0:
        x |= bits[w0 + 1] << np.uint64(64 - shift)
    width = hi - lo
    if width < 64:
        x &= (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    return x


# Pass 2 keeps each node's five metrics toward a destination side by side in one record of
# NODE_RECORD floats (a cache line): a node reads its next hops' records whole, and a
# demand's results are one record (fields below) instead of five arrays' entries.
NODE_RECORD = 8
MEAN, WORST, SURV, HOPS, SIG, STAMP = 0, 1, 2, 3, 4, 5


@njit(cache=True, nogil=True)
def _node_metrics_dag_to(t, order, count, bits, out_ptr, out_dst, out_delay, out_pass, out_sig,
                         rec, stamp):
    """node_metrics_to over a DAG given as a bitset of out-CSR positions (route_all's), into
    ``rec[node]`` (fields MEAN .. SIG); the nodes that reach ``t`` get ``stamp`` in STAMP
    (the records of the others are left as they were: an older stamp says unreachable).

    A node's out-arcs are consecutive bits: they are read a word at a time and only the set
    ones visited (trailing-zero count), instead of testing every out-arc's bit. A single
    next hop (most nodes) needs no division: the sums are the values."""
    rec[t, MEAN] = 0.0
    rec[t, WORST] = 0.0
    rec[t, SURV] = 1.0
    rec[t, HOPS] = 0.0
    rec[t, SIG] = 0.0
    rec[t, STAMP] = stamp
    one = np.uint64(1)
    for k in range(1, count):
        u = order[k]
        rec[u, STAMP] = stamp
        lo = out_ptr[u]
        hi = out_ptr[u + 1]
        cnt = 0
        s_mean = 0.0
        s_worst = 0.0
        s_surv = 0.0
        s_hops = 0.0
        s_sig = 0.0
        while lo < hi:
            top = min(hi, lo + 64)
            w = _span_bits(bits, lo, top)
            while w != 0:
                q = lo + trailing_zeros(w)  # type: ignore[call-arg]
                w &= w - one
                v = out_dst[q]
                cnt += 1
                s_mean += out_delay[q] + rec[v, MEAN]
                x = out_delay[q] + rec[v, WORST]
                s_worst = max(s_worst, x)
                s_surv += out_pass[q] * rec[v, SURV]
                s_hops += 1.0 + rec[v, HOPS]
                s_sig += out_sig[q] + rec[v, SIG]
            lo = top
        rec[u, WORST] = s_worst
        if cnt == 1:
            rec[u, MEAN] = s_mean
            rec[u, SIG] = s_sig
            rec[u, SURV] = s_surv
            rec[u, HOPS] = s_hops
        else:
            rec[u, MEAN] = s_mean / cnt
            rec[u, SIG] = s_sig / cnt
            rec[u, SURV] = s_surv / cnt
            rec[u, HOPS] = s_hops / cnt


# Pass 2 takes destinations in blocks of this many consecutive rows and writes their demands'
# results round-robin (the r-th demand of each destination in turn): a full matrix lists its
# demands source by source, so a round's demands sit next to each other in every per-demand
# output array (the same pages and cache lines) instead of one destination's demands lying
# a row of the matrix apart. Measured at 1,000 nodes: the writes took 21 ms instead of 35.
METRICS_BLOCK = 16


@njit(cache=True, nogil=True)
def _metrics_block(blk, destinations, dest_ptr, dest_demand, demand_src, out_ptr, out_dst,
                   out_delay, out_pass, out_sig, bits_all, order_all, count_all, recs,
                   delay_mean, delay_worst, delivered, hops_mean, signature, routed):
    """Pass 2 for the METRICS_BLOCK destinations of block ``blk`` (``recs``: the caller's
    scratch, node records per destination of the block)."""
    width = METRICS_BLOCK
    first = blk * width
    last = min(first + width, destinations.shape[0])
    longest = 0
    for j in range(first, last):
        _node_metrics_dag_to(destinations[j], order_all[j], count_all[j], bits_all[j], out_ptr,
                             out_dst, out_delay, out_pass, out_sig, recs[j - first], j + 1.0)
        longest = max(longest, dest_ptr[j + 1] - dest_ptr[j])
    for r in range(longest):
        for j in range(first, last):
            k = dest_ptr[j] + r
            if k >= dest_ptr[j + 1]:
                continue
            d = dest_demand[k]
            rec = recs[j - first, demand_src[d]]
            if rec[STAMP] != j + 1.0:  # the source does not reach the destination
                routed[d] = False
                delay_mean[d] = np.inf
                delay_worst[d] = np.inf
                delivered[d] = 0.0
                hops_mean[d] = np.nan
                signature[d] = np.nan
            else:
                routed[d] = True
                delay_mean[d] = rec[MEAN]
                delay_worst[d] = rec[WORST]
                delivered[d] = rec[SURV]
                hops_mean[d] = rec[HOPS]
                signature[d] = rec[SIG]


@njit(cache=True, nogil=True)
def _metrics_chunk(c, n_chunks, n, destinations, dest_ptr, dest_demand, demand_src, out_ptr,
                   out_dst, out_delay, out_pass, out_sig, bits_all, order_all, count_all,
                   delay_mean, delay_worst, delivered, hops_mean, signature, routed,
                   counter):
    """Pass 2 for the blocks of METRICS_BLOCK destinations c, c + n_chunks, ...; with a
    non-empty ``counter``, for the blocks this thread claims from it instead."""
    width = METRICS_BLOCK
    recs = np.zeros((width, n, NODE_RECORD))
    n_blocks = (destinations.shape[0] + width - 1) // width
    claim = counter.shape[0] > 0
    blk = claim_next(counter) if claim else c  # type: ignore[call-arg]
    while blk < n_blocks:
        _metrics_block(blk, destinations, dest_ptr, dest_demand, demand_src, out_ptr, out_dst,
                       out_delay, out_pass, out_sig, bits_all, order_all, count_all, recs,
                       delay_mean, delay_worst, delivered, hops_mean, signature, routed)
        blk = claim_next(counter) if claim else blk + n_chunks  # type: ignore[call-arg]


@njit(cache=True, parallel=True)
def _metrics_parallel(n_workers, n, destinations, dest_ptr, dest_demand, demand_src, out_ptr,
                      out_dst, out_delay, out_pass, out_sig, bits_all, order_all, count_all,
                      delay_mean, delay_worst, delivered, hops_mean, signature,
                      routed):
    """Blocks dealt out one at a time (``claim_next``): every demand's results are its own,
    so which thread runs which block changes nothing but the time."""
    counter = np.zeros(1, np.int64)
    for _w in prange(n_workers):
        _metrics_chunk(0, 1, n, destinations, dest_ptr, dest_demand, demand_src,
                       out_ptr, out_dst, out_delay, out_pass, out_sig, bits_all, order_all,
                       count_all, delay_mean, delay_worst, delivered, hops_mean,
                       signature, routed, counter)


@njit(cache=True, nogil=True)
def dag_bitsets(dist_all, out_ptr, out_dst, out_metric, out_ok):
    """Each destination's shortest-path DAG as a bitset over out-CSR positions, from the
    distances (for callers that routed without keeping route_all's bitsets)."""
    n_dest, n = dist_all.shape
    m = out_dst.shape[0]
    bits_all = np.zeros((n_dest, (m + 63) // 64), np.uint64)
    for j in range(n_dest):
        dist = dist_all[j]
        bits = bits_all[j]
        for u in range(n):
            du = dist[u]
            if du == UNREACHABLE:
                continue
            for q in range(out_ptr[u], out_ptr[u + 1]):
                dv = dist[out_dst[q]]
                if out_ok[q] and dv != UNREACHABLE and dv + out_metric[q] == du:
                    bits[q >> 6] |= np.uint64(1) << np.uint64(q & 63)
    return bits_all


def path_metrics_all(n: int, destinations: np.ndarray, dest_ptr: np.ndarray,
                     dest_demand: np.ndarray, demand_src: np.ndarray, out_ptr: np.ndarray,
                     out_arc: np.ndarray, arc_dst: np.ndarray, arc_metric: np.ndarray,
                     arc_ok: np.ndarray, arc_delay: np.ndarray, arc_pass: np.ndarray,
                     arc_sig: np.ndarray, dist_all: np.ndarray, order_all: np.ndarray,
                     count_all: np.ndarray, n_chunks: int, delay_mean: np.ndarray,
                     delay_worst: np.ndarray, delivered: np.ndarray, hops_mean: np.ndarray,
                     signature: np.ndarray, routed: np.ndarray,
                     bits_all: np.ndarray | None = None) -> None:
    """Pass 2: per demand, delay over the ECMP split, worst-path delay, delivery, mean hops.

    ``bits_all``: the DAG bitsets route_all kept (rebuilt from the distances when absent).
    ``n_chunks`` is not needed any more (the parallel kernel deals out blocks of
    destinations as threads become free); kept so that callers need not change.
    """
    out_dst = arc_dst[out_arc]
    if bits_all is None or bits_all.shape[0] != destinations.shape[0]:
        bits_all = dag_bitsets(dist_all, out_ptr, out_dst, arc_metric[out_arc],
                               arc_ok[out_arc])
    args = (n, destinations, dest_ptr, dest_demand, demand_src, out_ptr, out_dst,
            arc_delay[out_arc], arc_pass[out_arc], arc_sig[out_arc], bits_all, order_all,
            count_all, delay_mean, delay_worst, delivered, hops_mean, signature,
            routed)
    threads = threads_for(float(destinations.shape[0]) * arc_dst.shape[0])
    if threads == 1:
        _metrics_chunk(0, 1, *args, np.zeros(0, np.int64))
    else:
        with parallel_region(threads):
            _metrics_parallel(threads, *args)
