"""Pass 1 again, per class, on the DAGs pass 1 found: each arc passes on only what its
losses leave (``arc_pass``), and the traffic turning from each arc onto the next through a
node is counted (``Turns``, ``turn_index``) for the per-class queueing engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from nettwin.engine.shortest_paths import UNREACHABLE
from nettwin.engine.threads import parallel_region, threads_for


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
