"""ECMP routing kernels (numba): per-destination shortest paths, load push, path metrics.

This module holds pass 1's push and its drivers (``route_all``) and the DAG bitsets; the
shortest distances are in ``engine.shortest_paths``, pass 2 in ``engine.path_metrics``, the
per-class push thinned by losses in ``engine.thinned``.

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

``push_columns`` pushes several demand-rate columns at once over a pass 1 already made (its
distances and settle order): the bursty demands' rate-process moments, three columns that
took three Dijkstra passes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from nettwin.engine.shortest_paths import (
    DIAL_BUCKETS_PER_NODE,
    DIAL_MIN_NODES,
    DIAL_SCAN_PER_NODE,
    INT32_DIST_LIMIT,
    UNREACHABLE,
    _dial32,
    _dijkstra,
    _dijkstra32,
    _farthest32,
)
from nettwin.engine.threads import claim_next, parallel_region, threads_for


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


@njit(cache=True, nogil=True)
def push_columns(dist_all, order_all, count_all, dest_ptr, dest_demand, demand_src, rates,
                 out_ptr, out_arc, out_dst, out_metric, out_ok):
    """Arc loads (arcs x k) of the ``k`` demand-rate columns ``rates`` (k x demands), routed
    as a pass 1 already routed their destinations (its distances, settle order and counts
    per destination row): each row's traffic pushed down its ECMP DAG farthest first, every
    column in the one walk. Three moment columns of the bursty demands cost one walk of the
    rows instead of three Dijkstra passes. ``out_metric``: the metric at each out-CSR
    position."""
    k = rates.shape[0]
    n = dist_all.shape[1]
    load = np.zeros((out_arc.shape[0], k))
    flow = np.zeros((n, k))
    hops = np.empty(max(1, int(np.diff(out_ptr).max())) if n else 1, np.int64)
    for j in range(dist_all.shape[0]):
        dist = dist_all[j]
        order = order_all[j]
        for p in range(dest_ptr[j], dest_ptr[j + 1]):
            d = dest_demand[p]
            s = demand_src[d]
            if dist[s] != UNREACHABLE:  # a source cut off routes nothing (as pass 1)
                for c in range(k):
                    flow[s, c] += rates[c, d]
        for i in range(count_all[j] - 1, 0, -1):
            u = order[i]
            du = dist[u]
            nh = 0  # the next hops' out-CSR positions, gathered in one scan
            for q in range(out_ptr[u], out_ptr[u + 1]):
                if out_ok[q]:
                    dv = dist[out_dst[q]]
                    if dv != UNREACHABLE and dv + out_metric[q] == du:
                        hops[nh] = q
                        nh += 1
            for c in range(k):
                share = flow[u, c] / max(nh, 1)
                flow[u, c] = 0.0
                for h in range(nh):
                    q = hops[h]
                    load[out_arc[q], c] += share
                    flow[out_dst[q], c] += share
        for c in range(k):  # what reached the destination
            flow[order[0], c] = 0.0
    return load


def dag_words(n_arcs: int) -> int:
    """uint64 words of one destination's DAG bitset."""
    return (n_arcs + 63) // 64


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
