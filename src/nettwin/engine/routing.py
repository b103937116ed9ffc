"""ECMP routing kernels (numba): per-destination shortest paths, load push, path metrics.

OSPF/IS-IS semantics: for destination t, node u forwards over every arc u->v with
metric(u->v) + d(v, t) = d(u, t) and splits its traffic evenly over those next hops.
Metrics are integers, so equal cost is exact equality, as on a router.

Two passes over the destinations, both parallel (numba ``prange`` over destination chunks):

1. shortest distances on the reversed graph (Dijkstra, binary heap) and a farthest-first
   push of each node's traffic toward t; arc loads are summed per chunk, then reduced.
2. once arc delays and losses are known, the same DAG gives per node the delay averaged
   over the ECMP split, the worst-path delay, the delivery probability and the mean hops.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

UNREACHABLE = np.iinfo(np.int64).max


@njit(cache=True, nogil=True)
def _heap_push(keys, vals, size, key, val):
    i = size
    keys[i] = key
    vals[i] = val
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        vals[parent], vals[i] = vals[i], vals[parent]
        i = parent
    return size + 1


@njit(cache=True, nogil=True)
def _heap_pop(keys, vals, size):
    key = keys[0]
    val = vals[0]
    size -= 1
    keys[0] = keys[size]
    vals[0] = vals[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        vals[child], vals[i] = vals[i], vals[child]
        i = child
    return key, val, size


@njit(cache=True, nogil=True)
def shortest_distances_to(t, in_ptr, in_arc, arc_src, arc_metric, arc_ok, dist, order,
                          heap_keys, heap_vals):
    """Distances from every node to ``t``; ``order`` gets the settled nodes, nearest first.

    Returns how many nodes reach ``t``. ``dist`` holds UNREACHABLE for the others.
    """
    dist[:] = UNREACHABLE
    dist[t] = 0
    size = _heap_push(heap_keys, heap_vals, 0, 0, t)
    count = 0
    while size > 0:
        d, v, size = _heap_pop(heap_keys, heap_vals, size)
        if d > dist[v]:
            continue  # stale heap entry
        order[count] = v
        count += 1
        for k in range(in_ptr[v], in_ptr[v + 1]):
            a = in_arc[k]
            if not arc_ok[a]:
                continue
            u = arc_src[a]
            nd = d + arc_metric[a]
            if nd < dist[u]:
                dist[u] = nd
                size = _heap_push(heap_keys, heap_vals, size, nd, u)
    return count


@njit(cache=True, nogil=True)
def push_load_to(dist, order, count, flow, out_ptr, out_arc, arc_dst, arc_metric, arc_ok,
                 load):
    """Push ``flow`` (traffic per node toward the destination) down the ECMP DAG into ``load``.

    Nodes are visited farthest first, so a node's flow is complete before it is split.
    """
    for k in range(count - 1, 0, -1):
        u = order[k]
        f = flow[u]
        if f == 0.0:
            continue
        du = dist[u]
        hops = 0
        for j in range(out_ptr[u], out_ptr[u + 1]):
            a = out_arc[j]
            if arc_ok[a]:
                dv = dist[arc_dst[a]]
                if dv != UNREACHABLE and dv + arc_metric[a] == du:
                    hops += 1
        share = f / hops
        for j in range(out_ptr[u], out_ptr[u + 1]):
            a = out_arc[j]
            if arc_ok[a]:
                v = arc_dst[a]
                dv = dist[v]
                if dv != UNREACHABLE and dv + arc_metric[a] == du:
                    load[a] += share
                    flow[v] += share


@njit(cache=True, parallel=True)
def route_all(n, destinations, dest_ptr, dest_demand, demand_src, demand_rate,
              in_ptr, in_arc, out_ptr, out_arc, arc_src, arc_dst, arc_metric, arc_ok,
              n_chunks, dist_all, order_all, count_all):
    """Pass 1 for every destination: distances (kept for pass 2) and summed arc loads."""
    m = arc_src.shape[0]
    loads = np.zeros((n_chunks, m))
    n_dest = destinations.shape[0]
    for c in prange(n_chunks):
        flow = np.zeros(n)
        heap_keys = np.empty(m + 1, np.int64)
        heap_vals = np.empty(m + 1, np.int32)
        for j in range(c, n_dest, n_chunks):
            t = destinations[j]
            dist = dist_all[j]
            order = order_all[j]
            count = shortest_distances_to(t, in_ptr, in_arc, arc_src, arc_metric, arc_ok,
                                          dist, order, heap_keys, heap_vals)
            count_all[j] = count
            for k in range(dest_ptr[j], dest_ptr[j + 1]):
                d = dest_demand[k]
                flow[demand_src[d]] += demand_rate[d]
            push_load_to(dist, order, count, flow, out_ptr, out_arc, arc_dst, arc_metric,
                         arc_ok, loads[c])
            for k in range(count):
                flow[order[k]] = 0.0
            for k in range(dest_ptr[j], dest_ptr[j + 1]):
                flow[demand_src[dest_demand[k]]] = 0.0  # unreachable sources too
    total = np.zeros(m)
    for c in range(n_chunks):
        total += loads[c]
    return total


@njit(cache=True, parallel=True)
def path_metrics_all(n, destinations, dest_ptr, dest_demand, demand_src, out_ptr, out_arc,
                     arc_dst, arc_metric, arc_ok, arc_delay, arc_pass, dist_all, order_all,
                     count_all, n_chunks, delay_mean, delay_worst, delivered, hops_mean,
                     routed):
    """Pass 2: per demand, delay over the ECMP split, worst-path delay, delivery, mean hops."""
    n_dest = destinations.shape[0]
    for c in prange(n_chunks):
        mean_d = np.zeros(n)
        worst_d = np.zeros(n)
        surv = np.ones(n)
        hops = np.zeros(n)
        for j in range(c, n_dest, n_chunks):
            t = destinations[j]
            dist = dist_all[j]
            order = order_all[j]
            mean_d[t] = 0.0
            worst_d[t] = 0.0
            surv[t] = 1.0
            hops[t] = 0.0
            for k in range(1, count_all[j]):
                u = order[k]
                du = dist[u]
                cnt = 0
                s_mean = 0.0
                s_worst = 0.0
                s_surv = 0.0
                s_hops = 0.0
                for q in range(out_ptr[u], out_ptr[u + 1]):
                    a = out_arc[q]
                    if arc_ok[a]:
                        v = arc_dst[a]
                        dv = dist[v]
                        if dv != UNREACHABLE and dv + arc_metric[a] == du:
                            cnt += 1
                            s_mean += arc_delay[a] + mean_d[v]
                            w = arc_delay[a] + worst_d[v]
                            s_worst = max(s_worst, w)
                            s_surv += arc_pass[a] * surv[v]
                            s_hops += 1.0 + hops[v]
                mean_d[u] = s_mean / cnt
                worst_d[u] = s_worst
                surv[u] = s_surv / cnt
                hops[u] = s_hops / cnt
            for k in range(dest_ptr[j], dest_ptr[j + 1]):
                d = dest_demand[k]
                s = demand_src[d]
                if dist[s] == UNREACHABLE:
                    routed[d] = False
                    delay_mean[d] = np.inf
                    delay_worst[d] = np.inf
                    delivered[d] = 0.0
                    hops_mean[d] = np.nan
                else:
                    routed[d] = True
                    delay_mean[d] = mean_d[s]
                    delay_worst[d] = worst_d[s]
                    delivered[d] = surv[s]
                    hops_mean[d] = hops[s]
