"""ECMP routing kernels (numba): per-destination shortest paths, load push, path metrics.

OSPF/IS-IS semantics: for destination t, node u forwards over every arc u->v with
metric(u->v) + d(v, t) = d(u, t) and splits its traffic evenly over those next hops.
Metrics are integers, so equal cost is exact equality, as on a router.

Two passes over the destinations, both parallel (numba ``prange`` over destination chunks):

1. shortest distances on the reversed graph (Dijkstra, indexed 4-ary heap) and a farthest-first
   push of each node's traffic toward t; arc loads are summed per chunk, then reduced.
2. once arc delays and losses are known, the same DAG gives per node the delay averaged
   over the ECMP split, the worst-path delay, the delivery probability and the mean hops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

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
def shortest_distances_to(t, in_ptr, in_src, in_metric, in_ok, dist, order, heap, pos, nh):
    """Distances from every node to ``t``; ``order`` gets the settled nodes, nearest first.

    Dijkstra on the reversed graph with an indexed 4-ary heap (decrease-key, at most n
    entries). The in-arcs' tails, metrics and states come gathered in CSR order, so the
    relaxation loop reads memory sequentially. ``nh`` gets each node's number of equal-cost
    next hops, counted as its shortest distance is confirmed. Returns how many nodes reach
    ``t``; ``dist`` is UNREACHABLE for the others.
    """
    dist[:] = UNREACHABLE
    nh[:] = 0
    pos[:] = -1  # -1: never queued, -2: settled
    dist[t] = 0
    heap[0] = t
    pos[t] = 0
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
            elif nd < dist[u]:
                dist[u] = nd
                nh[u] = 1
                if pos[u] == -1:
                    heap[size] = u
                    pos[u] = size
                    size += 1
                _sift_up(heap, pos, dist, pos[u])
    return count


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


@njit(cache=True, parallel=True)
def route_all(n, destinations, dest_ptr, dest_demand, demand_src, demand_rate,
              in_ptr, in_arc, out_ptr, out_arc, arc_src, arc_dst, arc_metric, arc_ok,
              n_chunks, dist_all, order_all, count_all, flow_all):
    """Pass 1 for every destination: distances (kept for pass 2) and summed arc loads.

    With a non-empty ``flow_all`` (destinations x nodes) the traffic each node forwards
    toward each destination is kept too: the baseline an incremental failure sweep starts from.
    """
    m = arc_src.shape[0]
    loads = np.zeros((n_chunks, m))
    in_src = arc_src[in_arc]
    in_metric = arc_metric[in_arc]
    in_ok = arc_ok[in_arc]
    out_dst = arc_dst[out_arc]
    out_metric = arc_metric[out_arc]
    out_ok = arc_ok[out_arc]
    n_dest = destinations.shape[0]
    for c in prange(n_chunks):
        flow = np.zeros(n)
        heap = np.empty(n, np.int32)
        pos = np.empty(n, np.int32)
        nh = np.empty(n, np.int32)
        for j in range(c, n_dest, n_chunks):
            t = destinations[j]
            dist = dist_all[j]
            order = order_all[j]
            count = shortest_distances_to(t, in_ptr, in_src, in_metric, in_ok, dist, order,
                                          heap, pos, nh)
            count_all[j] = count
            for k in range(dest_ptr[j], dest_ptr[j + 1]):
                d = dest_demand[k]
                flow[demand_src[d]] += demand_rate[d]
            push_load_to(dist, order, count, nh, flow, out_ptr, out_arc, out_dst, out_metric,
                         out_ok, loads[c])
            if flow_all.shape[0] > 0:
                flow_all[j, :] = flow
            for k in range(count):
                flow[order[k]] = 0.0
            for k in range(dest_ptr[j], dest_ptr[j + 1]):
                flow[demand_src[dest_demand[k]]] = 0.0  # unreachable sources too
    total = np.zeros(m)
    for c in range(n_chunks):
        total += loads[c]
    return total


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


@njit(cache=True, parallel=True)
def push_thinned_all(n, destinations, dest_ptr, dest_demand, demand_src, demand_rate, in_ptr,
                     in_arc, out_ptr, out_arc, arc_dst, arc_metric, arc_ok, arc_pass, dist_all,
                     order_all, count_all, n_chunks, pair_ptr, in_pos):
    """Pass 1 again on the DAGs pass 1 found, each arc passing on only ``arc_pass`` of what
    reaches it. Returns the load that reaches every arc and the traffic that arrives on one
    arc and leaves on the next, for every pair of arcs through a node (numbered as
    ``turn_index`` does; a ``pair_ptr`` of zeros skips them)."""
    m = arc_dst.shape[0]
    n_pairs = pair_ptr[n]
    loads = np.zeros((n_chunks, m))
    turns = np.zeros((n_chunks, n_pairs))
    out_dst = arc_dst[out_arc]
    out_metric = arc_metric[out_arc]
    out_ok = arc_ok[out_arc]
    n_dest = destinations.shape[0]
    for c in prange(n_chunks):
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
                        loads[c, out_arc[q]] += share
                        flow[v] += passed
                        inflow[out_arc[q]] += passed
                        if n_pairs == 0:
                            continue
                        # what came in on each in-arc leaves evenly over the next hops
                        base = pair_ptr[u] + (q - out_ptr[u])
                        for r in range(in_ptr[u], in_ptr[u + 1]):
                            a_in = in_arc[r]
                            if inflow[a_in] > 0.0:
                                turns[c, base + in_pos[a_in] * outdeg] += inflow[a_in] / hops
            for k in range(count):  # inflow lives on the arcs into the DAG's nodes
                u = order[k]
                for r in range(in_ptr[u], in_ptr[u + 1]):
                    inflow[in_arc[r]] = 0.0
            flow[destinations[j]] = 0.0
    total_loads = np.zeros(m)
    total_turns = np.zeros(n_pairs)
    for c in range(n_chunks):
        total_loads += loads[c]
        total_turns += turns[c]
    return total_loads, total_turns


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


@njit(cache=True, parallel=True)
def path_metrics_all(n, destinations, dest_ptr, dest_demand, demand_src, out_ptr, out_arc,
                     arc_dst, arc_metric, arc_ok, arc_delay, arc_pass, arc_sig, dist_all,
                     order_all, count_all, n_chunks, delay_mean, delay_worst, delivered,
                     hops_mean, signature, routed):
    """Pass 2: per demand, delay over the ECMP split, worst-path delay, delivery, mean hops."""
    n_dest = destinations.shape[0]
    out_dst = arc_dst[out_arc]
    out_metric = arc_metric[out_arc]
    out_ok = arc_ok[out_arc]
    out_delay = arc_delay[out_arc]
    out_pass = arc_pass[out_arc]
    out_sig = arc_sig[out_arc]
    for c in prange(n_chunks):
        mean_d = np.zeros(n)
        worst_d = np.zeros(n)
        surv = np.ones(n)
        hops = np.zeros(n)
        sig = np.zeros(n)
        for j in range(c, n_dest, n_chunks):
            dist = dist_all[j]
            node_metrics_to(destinations[j], dist, order_all[j], count_all[j], out_ptr, out_dst,
                            out_metric, out_ok, out_delay, out_pass, out_sig, mean_d, worst_d,
                            surv, hops, sig)
            for k in range(dest_ptr[j], dest_ptr[j + 1]):
                d = dest_demand[k]
                s = demand_src[d]
                if dist[s] == UNREACHABLE:
                    routed[d] = False
                    delay_mean[d] = np.inf
                    delay_worst[d] = np.inf
                    delivered[d] = 0.0
                    hops_mean[d] = np.nan
                    signature[d] = np.nan
                else:
                    routed[d] = True
                    delay_mean[d] = mean_d[s]
                    delay_worst[d] = worst_d[s]
                    delivered[d] = surv[s]
                    hops_mean[d] = hops[s]
                    signature[d] = sig[s]
