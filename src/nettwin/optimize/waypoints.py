"""Segment-routing waypoints on top of IGP metrics: a demand s->t may be sent s->w->t
(two segments) or s->w1->w2->t (three), each segment following the IGP shortest path.

Greedy, like the waypoint heuristics of Bhatia et al. and Parham et al.: take the hottest
arc, the demands that load it most, and for each every waypoint (pair) at once in a numba
kernel; apply the best change of the maximum utilisation (then of a soft maximum). Adding a
path to loads raises only the arcs on it, so a candidate costs the length of its path.

Segments are limited to unique shortest paths (no ECMP split inside a waypointed demand): the
result is then one explicit path per demand, exactly what the explicit-paths file
(``qos-simulate --paths``) pins, and re-simulating it gives the same loads. Paths visit no
node twice (loop-free) and end at the demand's destination.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numba import njit

from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.shortest_paths import UNREACHABLE, shortest_distances_to
from nettwin.optimize.objective import SOFT_POWER


@njit(cache=True)
def all_distances(n, in_ptr, in_arc, arc_src, metric, ok):
    """dist[y, x]: IGP distance from x to y, for every pair."""
    dist = np.empty((n, n), np.int64)
    order = np.empty(n, np.int32)
    heap = np.empty(n, np.int32)
    pos = np.empty(n, np.int32)
    nh = np.empty(n, np.int32)
    in_src = arc_src[in_arc]
    in_met = metric[in_arc]
    in_ok = ok[in_arc]
    for y in range(n):
        shortest_distances_to(y, in_ptr, in_src, in_met, in_ok, dist[y], order, heap, pos, nh)
    return dist


@njit(cache=True, nogil=True)
def unique_path(x, y, dist_y, out_ptr, out_arc, arc_dst, metric, ok, path):
    """The arcs of the unique shortest path x->y into ``path``; returns its length, or -1
    when y is unreachable or some node on the way has equal-cost next hops."""
    k = 0
    u = x
    if dist_y[x] == UNREACHABLE:
        return -1
    while u != y:
        nxt = -1
        for q in range(out_ptr[u], out_ptr[u + 1]):
            a = out_arc[q]
            v = arc_dst[a]
            if ok[a] and dist_y[v] != UNREACHABLE and dist_y[v] + metric[a] == dist_y[u]:
                if nxt >= 0:
                    return -1
                nxt = a
        path[k] = nxt
        k += 1
        u = arc_dst[nxt]
    return k


@njit(cache=True, nogil=True)
def ecmp_fraction(x, y, dist_y, out_ptr, out_arc, arc_dst, metric, ok, node_f, arc_f):
    """Fraction of x->y traffic on every arc under ECMP (into ``arc_f``, zeroed first).
    Nodes are visited in decreasing distance to y (a selection over the few reached)."""
    n = dist_y.shape[0]
    arc_f[:] = 0.0
    node_f[:] = 0.0
    node_f[x] = 1.0
    active = np.zeros(n, np.bool_)
    active[x] = True
    while True:
        u = -1
        for v in range(n):
            if active[v] and (u < 0 or dist_y[v] > dist_y[u]):
                u = v
        if u < 0 or u == y:
            break
        active[u] = False
        k = 0
        for q in range(out_ptr[u], out_ptr[u + 1]):
            a = out_arc[q]
            v = arc_dst[a]
            if ok[a] and dist_y[v] != UNREACHABLE and dist_y[v] + metric[a] == dist_y[u]:
                k += 1
        share = node_f[u] / k
        for q in range(out_ptr[u], out_ptr[u + 1]):
            a = out_arc[q]
            v = arc_dst[a]
            if ok[a] and dist_y[v] != UNREACHABLE and dist_y[v] + metric[a] == dist_y[u]:
                arc_f[a] += share
                node_f[v] += share
                active[v] = True


@njit(cache=True)
def best_waypoints(s, t, rate, segments, base, capacity, ref, dist, out_ptr, out_arc, arc_src,
                   arc_dst, metric, ok):
    """Best waypoint(s) for one demand given ``base`` (loads without it): returns
    (mlu, soft, w1, w2) with w2 = -1 for two segments; mlu = inf when nothing fits."""
    n = dist.shape[0]
    m = base.shape[0]
    util = base / capacity
    top = 0.0
    soft0 = 0.0
    for a in range(m):
        top = max(top, util[a])
        soft0 += (util[a] / ref) ** SOFT_POWER
    p1 = np.empty(n, np.int64)
    p2 = np.empty(n, np.int64)
    p3 = np.empty(n, np.int64)
    seen = np.zeros(n, np.int64)
    stamp = 0
    best = (np.inf, np.inf, -1, -1)
    n_mid = n if segments >= 3 else 1
    for w1 in range(n):
        if w1 in (s, t):
            continue
        k1 = unique_path(s, w1, dist[w1], out_ptr, out_arc, arc_dst, metric, ok, p1)
        if k1 < 0:
            continue
        for i2 in range(n_mid):
            w2 = i2 if segments >= 3 else -1
            if w2 in (s, t, w1):
                continue
            if w2 < 0:
                k2 = unique_path(w1, t, dist[t], out_ptr, out_arc, arc_dst, metric, ok, p2)
                k3 = 0
            else:
                k2 = unique_path(w1, w2, dist[w2], out_ptr, out_arc, arc_dst, metric, ok, p2)
                k3 = unique_path(w2, t, dist[t], out_ptr, out_arc, arc_dst, metric, ok, p3)
            if k2 < 0 or k3 < 0:
                continue
            stamp += 1
            seen[s] = stamp
            loop = False
            mlu = top
            soft = soft0
            for seg in range(3):
                path = p1 if seg == 0 else (p2 if seg == 1 else p3)
                k = k1 if seg == 0 else (k2 if seg == 1 else k3)
                for i in range(k):
                    a = path[i]
                    v = arc_dst[a]
                    if seen[v] == stamp:
                        loop = True
                    seen[v] = stamp
                    u = (base[a] + rate) / capacity[a]
                    mlu = max(mlu, u)
                    soft += (u / ref) ** SOFT_POWER - (util[a] / ref) ** SOFT_POWER
            if loop:
                continue
            if mlu < best[0] or (mlu == best[0] and soft < best[1]):
                best = (mlu, soft, w1, w2)
    return best


@njit(cache=True)
def load_on_arc(hot, dests, dest_ptr, dest_demand, demand_src, rate, pinned, dist, out_ptr,
                out_arc, arc_dst, metric, ok):
    """Traffic of each (unpinned) demand that crosses arc ``hot`` under ECMP: per
    destination, the fraction of each node's traffic through ``hot``, nearest first."""
    n = dist.shape[0]
    through = np.zeros(n)
    out = np.zeros(rate.shape[0])
    order = np.empty(n, np.int64)
    for j in range(dests.shape[0]):
        t = dests[j]
        dist_t = dist[t]
        order[:] = np.argsort(dist_t)
        for i in range(n):
            u = order[i]
            through[u] = 0.0
            if u == t or dist_t[u] == UNREACHABLE:
                continue
            k = 0
            acc = 0.0
            for q in range(out_ptr[u], out_ptr[u + 1]):
                a = out_arc[q]
                v = arc_dst[a]
                if ok[a] and dist_t[v] != UNREACHABLE and dist_t[v] + metric[a] == dist_t[u]:
                    k += 1
                    acc += through[v] + (1.0 if a == hot else 0.0)
            through[u] = acc / k
        for q in range(dest_ptr[j], dest_ptr[j + 1]):
            d = dest_demand[q]
            if not pinned[d]:
                out[d] = rate[d] * through[demand_src[d]]
    return out


@dataclass(frozen=True)
class Waypoints:
    """Demand d goes via ``nodes`` (waypoints, in order) over the arcs ``arcs``."""

    demand: int
    nodes: tuple[int, ...]
    arcs: tuple[int, ...]


def path_arcs(net: CompiledNetwork, dist: np.ndarray, metric: np.ndarray, ok: np.ndarray,
              s: int, t: int, waypoints: tuple[int, ...]) -> tuple[int, ...]:
    hops = (s, *waypoints, t)
    arcs: list[int] = []
    buf = np.empty(net.n_nodes, np.int64)
    for x, y in itertools.pairwise(hops):
        k = unique_path(x, y, dist[y], net.out_ptr, net.out_arc, net.arc_dst, metric, ok, buf)
        arcs += buf[:k].tolist()
    return tuple(arcs)


def via_nodes(net: CompiledNetwork, s: int, arcs: tuple[int, ...]) -> list[int]:
    return [s] + [int(net.arc_dst[a]) for a in arcs]
