"""Every failure set of a sweep evaluated incrementally: per set its worst utilisation, lost
traffic and overloaded arcs, per arc its worst case over all sets.

Each set repairs only the destinations whose DAG it cuts (``engine.destination_repair``'s
per-destination kernel). With enough work (``engine.threads``) one worker per thread claims
the next set as it finishes one (``claim_next``), else one worker takes them all in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from nettwin.engine.destination_repair import (
    _destination_delta,
    _prefetch_first_reads,
    _scratch,
)
from nettwin.engine.incremental import Baseline, CsrArcs, csr_arcs, incremental_work
from nettwin.engine.threads import claim_next, parallel_region, threads_for


@njit(cache=True, nogil=True)
def _evaluate_set(failed, dests, dag_ptr, dag_dest, seen, dist_all, flow_all, bits_all, ok_base,
                  ok_new, out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc, in_src, in_met,
                  in_out,
                  arc_src, arc_dst, metric, mark,
                  new_dist, base_d, fl, nodes, settled, hkeys, hvals, hops, dload, touched_mark,
                  touched, n_touched):
    """Load differences of one failure set over the destinations whose DAG it cuts;
    returns the traffic that became unroutable. ``seen`` is scratch (bool per destination)."""
    for f in range(failed.shape[0]):
        ok_new[failed[f]] = False
    lost = 0.0
    for f in range(failed.shape[0]):
        a = failed[f]
        for k in range(dag_ptr[a], dag_ptr[a + 1]):
            j = dag_dest[k]
            if seen[j]:
                continue
            seen[j] = True
            if k + 1 < dag_ptr[a + 1]:  # the next destination's rows, while this one's repair runs
                nxt = dag_dest[k + 1]
                _prefetch_first_reads(dist_all[nxt], flow_all[nxt], bits_all[nxt], failed,
                                      arc_src, arc_dst, out_ptr)
            lost += _destination_delta(dests[j], dist_all[j], flow_all[j], bits_all[j], failed,
                                       ok_base,
                                       ok_new, out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc,
                                       in_src, in_met, in_out, arc_src,
                                       arc_dst, metric,
                                       mark, new_dist, base_d, fl, nodes, settled, hkeys,
                                       hvals, hops, dload, touched_mark, touched, n_touched)
    for f in range(failed.shape[0]):
        a = failed[f]
        ok_new[a] = ok_base[a]
        for k in range(dag_ptr[a], dag_ptr[a + 1]):
            seen[dag_dest[k]] = False
    return lost


@njit(cache=True, nogil=True)
def _sweep_chunk(set_ptr, set_arcs, dests, dag_ptr, dag_dest, dist_all, flow_all, bits_all,
                 ok_base, out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc, in_src, in_met,
                 in_out,
                 arc_src, arc_dst, metric, base_load,
                 capacity, base_util, by_util, base_over, max_util, max_util_arc, lost,
                 overloaded, chunk_worst, chunk_set, counter):
    """sweep_sets for the failure sets this worker claims one at a time from ``counter``
    (``claim_next``: in increasing order, all of them for a lone worker); per-arc worst case
    into chunk_*."""
    n = dist_all.shape[1]
    m = arc_src.shape[0]
    n_sets = set_ptr.shape[0] - 1
    chunk_worst[:] = base_util
    (mark, new_dist, base_d, fl, nodes, settled, hkeys, hvals, hops, touched_mark,
     touched, n_touched) = _scratch(n, m)
    dload = np.zeros(m)
    ok_new = ok_base.copy()
    seen = np.zeros(dests.shape[0], np.bool_)
    i: int = claim_next(counter)  # type: ignore[call-arg]
    while i < n_sets:
        failed = set_arcs[set_ptr[i]:set_ptr[i + 1]]
        lost[i] = _evaluate_set(failed, dests, dag_ptr, dag_dest, seen, dist_all, flow_all,
                                bits_all,
                                ok_base, ok_new, out_ptr, out_arc, out_dst, out_met, in_ptr,
                                in_arc, in_src, in_met, in_out, arc_src,
                                arc_dst, metric, mark, new_dist, base_d, fl, nodes, settled,
                                hkeys, hvals, hops, dload, touched_mark, touched, n_touched)
        best = 0.0
        best_arc = -1
        over = base_over
        for k in range(n_touched[0]):
            a = touched[k]
            u = (base_load[a] + dload[a]) / capacity[a]
            u = max(u, 0.0)  # rounding of a fully withdrawn load
            if base_util[a] > 1.0:
                over -= 1
            if u > 1.0:
                over += 1
            if u > best:
                best = u
                best_arc = a
            if u > chunk_worst[a]:
                chunk_worst[a] = u
                chunk_set[a] = i
        for k in range(m):  # the most utilised arc the failure left alone
            a = by_util[k]
            if not touched_mark[a] and ok_base[a]:
                failed_here = False
                for f in range(failed.shape[0]):
                    if failed[f] == a:
                        failed_here = True
                if failed_here:
                    continue
                if base_util[a] > best:
                    best = base_util[a]
                    best_arc = a
                break
        max_util[i] = best
        max_util_arc[i] = best_arc
        overloaded[i] = over
        for k in range(n_touched[0]):
            a = touched[k]
            dload[a] = 0.0
            touched_mark[a] = False
        n_touched[0] = 0
        i = claim_next(counter)


@njit(cache=True, nogil=True)
def _sweep_serial(set_ptr, set_arcs, dests, dag_ptr, dag_dest, dist_all, flow_all, bits_all,
                  ok_base,
                  out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc, in_src, in_met, in_out,
                  arc_src,
                  arc_dst, metric, base_load,
                  capacity, base_util, by_util, base_over, max_util, max_util_arc, lost,
                  overloaded, chunk_worst, chunk_set):
    _sweep_chunk(set_ptr, set_arcs, dests, dag_ptr, dag_dest, dist_all, flow_all, bits_all,
                 ok_base, out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc, in_src, in_met,
                 in_out, arc_src, arc_dst, metric, base_load, capacity, base_util, by_util,
                 base_over, max_util, max_util_arc, lost, overloaded, chunk_worst[0],
                 chunk_set[0], np.zeros(1, np.int64))


@njit(cache=True, parallel=True)
def _sweep_parallel(set_ptr, set_arcs, dests, dag_ptr, dag_dest, dist_all, flow_all, bits_all,
                    ok_base,
                    out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc, in_src, in_met, in_out,
                    arc_src,
                    arc_dst, metric, base_load,
                    capacity, base_util, by_util, base_over, max_util, max_util_arc, lost,
                    overloaded, chunk_worst, chunk_set):
    counter = np.zeros(1, np.int64)
    for c in prange(chunk_worst.shape[0]):  # one worker per thread, claiming sets
        _sweep_chunk(set_ptr, set_arcs, dests, dag_ptr, dag_dest, dist_all, flow_all,
                     bits_all, ok_base, out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc,
                     in_src, in_met, in_out, arc_src, arc_dst, metric, base_load, capacity,
                     base_util, by_util, base_over, max_util, max_util_arc, lost, overloaded,
                     chunk_worst[c], chunk_set[c], counter)


def sweep_sets(set_ptr: np.ndarray, set_arcs: np.ndarray, dests: np.ndarray,
               dag_ptr: np.ndarray, dag_dest: np.ndarray, dist_all: np.ndarray,
               flow_all: np.ndarray, bits_all: np.ndarray, ok_base: np.ndarray, out_ptr: np.ndarray,
               out_arc: np.ndarray, in_ptr: np.ndarray, in_arc: np.ndarray,
               arc_src: np.ndarray, arc_dst: np.ndarray, metric: np.ndarray,
               base_load: np.ndarray, capacity: np.ndarray,
               max_util: np.ndarray, max_util_arc: np.ndarray, lost: np.ndarray,
               overloaded: np.ndarray, worst_util: np.ndarray, worst_set: np.ndarray,
               csr: CsrArcs | None = None) -> None:
    """Evaluate every failure set; per set: max utilisation (and where), lost traffic,
    overloaded arcs; per arc: worst utilisation over all sets and the set causing it.
    Serial below the work crossover (engine.threads), else one worker a thread.
    ``csr``: ``csr_arcs`` of the graph (made here when not given)."""
    m = arc_src.shape[0]
    out_dst, out_met, in_src, in_met, in_out = csr or csr_arcs(out_arc, in_arc, arc_src,
                                                               arc_dst, metric)
    base_util = base_load / capacity
    by_util = np.argsort(-base_util)
    base_over = int((base_util > 1.0).sum())
    threads = threads_for(incremental_work(set_arcs, dag_ptr, dist_all.shape[1], m))
    # parallel: one worker per thread, each claiming the next set (a set's repair takes
    # milliseconds on a large network: the claim is free, and a thread the OS delays holds
    # up one set, not a fixed share); the two threads then repair neighbouring sets at once
    chunks = max(1, min(set_ptr.shape[0] - 1, threads))
    chunk_worst = np.empty((chunks, m))
    chunk_set = np.full((chunks, m), -1, np.int64)
    args = (set_ptr, set_arcs, dests, dag_ptr, dag_dest, dist_all, flow_all, bits_all, ok_base,
            out_ptr,
            out_arc, out_dst, out_met, in_ptr, in_arc, in_src, in_met, in_out, arc_src, arc_dst,
            metric,
            base_load, capacity, base_util, by_util, base_over, max_util, max_util_arc, lost,
            overloaded, chunk_worst,
            chunk_set)
    if threads == 1:
        _sweep_serial(*args)
    else:
        with parallel_region(threads):
            _sweep_parallel(*args)
    better = chunk_worst > base_util[None, :]
    worst_util[:] = base_util
    worst_set[:] = -1
    for c in range(chunks):  # on a tie the first set wins, as in a serial sweep
        tie = (chunk_worst[c] == worst_util) & (chunk_set[c] < worst_set)
        take = better[c] & ((chunk_worst[c] > worst_util) | tie)
        worst_util[take] = chunk_worst[c, take]
        worst_set[take] = chunk_set[c, take]


@dataclass(frozen=True, eq=False)
class SetOutcome:
    """Per failure set (arrays over sets) and per arc (worst case over all sets)."""

    max_utilisation: np.ndarray
    max_utilisation_arc: np.ndarray
    lost_bps: np.ndarray
    overloaded_arcs: np.ndarray
    arc_worst_utilisation: np.ndarray
    arc_worst_set: np.ndarray  # -1: no failure raises the arc above its baseline


def pack_sets(sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """CSR of failure sets: arcs of set i are set_arcs[set_ptr[i]:set_ptr[i+1]]."""
    ptr = np.zeros(len(sets) + 1, np.int64)
    ptr[1:] = np.cumsum([len(s) for s in sets])
    arcs = np.concatenate(sets).astype(np.int64) if sets else np.zeros(0, np.int64)
    return ptr, arcs


def evaluate_failure_sets(base: Baseline, sets: list[np.ndarray]) -> SetOutcome:
    """Exact outcome of each failure set (arc numbers), evaluated incrementally."""
    net, s, g = base.net, base.local_state, base.local
    ptr, arcs = pack_sets(sets)
    k = len(sets)
    out = SetOutcome(np.zeros(k), np.zeros(k, np.int64), np.zeros(k), np.zeros(k, np.int64),
                     np.zeros(net.n_arcs), np.zeros(net.n_arcs, np.int64))
    sweep_sets(ptr, arcs, g.destinations, base.dag_ptr, base.dag_dest, s.dist, s.flow,
               base.local_dag_bits(), base.arc_up, g.out_ptr,
               g.out_arc, g.in_ptr, g.in_arc, g.arc_src, g.arc_dst, net.arc_metric,
               s.load_bps, net.arc_capacity_bps, out.max_utilisation,
               out.max_utilisation_arc, out.lost_bps, out.overloaded_arcs,
               out.arc_worst_utilisation, out.arc_worst_set, base.local_csr)
    return out
