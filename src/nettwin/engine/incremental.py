"""Exact incremental failure evaluation: a failure touches few destinations and few nodes.

Baseline per destination t (kept from one full run): distances, settle order and the traffic
each node forwards toward t. For a set of failed arcs:

1. t is affected only if a failed arc lies on t's shortest-path DAG.
2. In t, the nodes whose distance grows (set A) are found Ramalingam–Reps style: visit
   candidates (tails of failed DAG arcs, then DAG predecessors of nodes put in A) nearest
   first; a node joins A when none of its next hops survives outside A.
3. A's new distances: seeded from surviving arcs leaving A, then Dijkstra inside A.
4. Load differences: the nodes whose next-hop set changes (R = every candidate) withdraw
   their old contributions (as step 2 visits them); then, farthest (new distance) first, R
   nodes push all their traffic down the new DAG and every other node reached pushes only
   the difference it received, over its unchanged next hops. Nodes cut off from t lose
   their traffic.

The result equals a full recomputation (tests check it to 1e-9) at a small fraction of the
cost. Many failure sets at once: ``engine.failure_sets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import njit, prange, types
from numba.core import cgutils
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.locality import (
    LocalGraph,
    local_graph,
    out_positions,
    rows_to_local,
    rows_to_network,
)
from nettwin.engine.routing import UNREACHABLE, dag_bitsets
from nettwin.engine.simulate import RoutingState, route
from nettwin.engine.threads import engine_threads, parallel_region, threads_for
from nettwin.engine.upstream import _on_dag

CsrArcs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def csr_arcs(out_arc: np.ndarray, in_arc: np.ndarray, arc_src: np.ndarray, arc_dst: np.ndarray,
             metric: np.ndarray) -> CsrArcs:
    """Head and metric of the arc at each out-CSR position; tail, metric and out-CSR
    position of the arc at each in-CSR position: the repair reads a node's arcs sequentially
    instead of through ``out_arc``/``in_arc``, and tests an in-arc's DAG membership in the
    destination's bitset instead of reading its tail's distance."""
    out_pos = np.empty(out_arc.shape[0], np.int64)
    out_pos[out_arc] = np.arange(out_arc.shape[0])
    return (np.ascontiguousarray(arc_dst[out_arc]), np.ascontiguousarray(metric[out_arc]),
            np.ascontiguousarray(arc_src[in_arc]), np.ascontiguousarray(metric[in_arc]),
            out_pos[in_arc])


@dataclass(frozen=True, eq=False)
class Baseline:
    """Everything an incremental sweep needs from the no-failure run. The per-destination
    rows are kept in ``local``'s node numbering (``engine.locality``: the repair's walks
    touch nearby memory); ``state``, ``dag_bits()``, ``csr`` and ``out_pos`` give them in
    the network's numbering."""

    net: CompiledNetwork
    arc_up: np.ndarray
    demand_rate_bps: np.ndarray
    local: LocalGraph
    local_state: RoutingState  # rows over local node numbers and local out-CSR positions
    dag_ptr: np.ndarray  # int64[m+1]: destinations whose DAG uses arc a are
    dag_dest: np.ndarray  # int32[...]: dag_dest[dag_ptr[a]:dag_ptr[a+1]] (indices)

    @property
    def load_bps(self) -> np.ndarray:
        return self.local_state.load_bps

    @cached_property
    def state(self) -> RoutingState:
        """The routing state in the network's numbering: a copy of every row, made on first
        use (``state_rows``/``node_dist`` read a few rows without it)."""
        s = self.local_state
        dist, order, flow, bits = s.dist.copy(), s.order.copy(), s.flow.copy(), s.dag_bits.copy()
        rows_to_network(self.local, self.net, dist, order, s.count, flow, bits)
        return RoutingState(s.load_bps, dist, order, s.count, flow, s.n_chunks, bits)

    def state_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distances, settle order and reach counts of destination rows ``rows`` in the
        network's numbering."""
        s, g = self.local_state, self.local
        count = s.count[rows]
        order = s.order[rows]
        for i in range(order.shape[0]):
            order[i, :count[i]] = g.node_at[order[i, :count[i]]]
        return s.dist[rows][:, g.local_of], order, count

    def node_dist(self, rows: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Baseline distance of network node ``nodes[i]`` to destination row ``rows[i]``."""
        return np.asarray(self.local_state.dist[rows, self.local.local_of[nodes]])

    @cached_property
    def csr(self) -> CsrArcs:
        """The arcs' heads, tails and metrics in CSR order (``csr_arcs``), made once."""
        n = self.net
        return csr_arcs(n.out_arc, n.in_arc, n.arc_src, n.arc_dst, n.arc_metric)

    @cached_property
    def local_csr(self) -> CsrArcs:
        """``csr`` of the locally numbered graph (what the repair kernels read)."""
        g = self.local
        return csr_arcs(g.out_arc, g.in_arc, g.arc_src, g.arc_dst, self.net.arc_metric)

    @cached_property
    def out_pos(self) -> np.ndarray:
        """int64[m]: each arc's position in the out-CSR (where its bit is in ``dag_bits``)."""
        return out_positions(self.net.out_arc)

    def dag_bits(self) -> np.ndarray:
        """Each destination's baseline DAG as a bitset over the network's out-CSR."""
        bits: np.ndarray = self._network_bits
        return bits

    @cached_property
    def _network_bits(self) -> np.ndarray:
        bits = self.local_dag_bits().copy()
        empty = np.zeros((0, 0), np.int64)
        rows_to_network(self.local, self.net, empty, empty.astype(np.int32),
                        np.zeros(0, np.int64), np.zeros((0, 0)), bits)
        return bits

    def local_dag_bits(self) -> np.ndarray:
        """Each destination's baseline DAG over the local out-CSR (rebuilt if the state
        lacks it)."""
        s, g = self.local_state, self.local
        if s.dag_bits.shape[0] == s.dist.shape[0]:
            return s.dag_bits
        n = self.net
        bits: np.ndarray = dag_bitsets(s.dist, g.out_ptr, g.arc_dst[g.out_arc],
                                       n.arc_metric[g.out_arc], self.arc_up[g.out_arc])
        return bits

    @property
    def memory_bytes(self) -> int:
        s = self.local_state
        return int(s.dist.nbytes + s.order.nbytes + s.flow.nbytes + s.count.nbytes
                   + s.dag_bits.nbytes + self.dag_ptr.nbytes + self.dag_dest.nbytes)


def prepare_baseline(net: CompiledNetwork, arc_up: np.ndarray | None = None,
                     demand_rate_bps: np.ndarray | None = None, *,
                     node_order: np.ndarray | None = None) -> Baseline:
    """Route the network once, keeping per-destination state for incremental updates (its
    rows then renumbered in place for locality: no second copy). ``node_order``: the
    network's nodes in the order the repair numbers them (``locality_order`` by default)."""
    ok = net.arc_up if arc_up is None else np.asarray(arc_up, dtype=bool)
    rate = net.demand_rate_bps if demand_rate_bps is None else np.asarray(
        demand_rate_bps, dtype=np.float64)
    state = route(net, ok, rate, keep_flow=True, keep_dag=True)
    g = local_graph(net, node_order)
    rows_to_local(g, net, state.dist, state.order, state.count, state.flow, state.dag_bits)
    ptr, dest = _dag_index(state.dag_bits, g.out_arc)
    return Baseline(net, ok, rate, g, state, ptr, dest)


@njit(cache=True)
def _dag_index(bits_all, out_arc):
    """For each arc, the destinations whose shortest-path DAG contains it (from the DAG
    bitsets routing kept: set bits only, no second look at the distances)."""
    n_dest, words = bits_all.shape
    m = out_arc.shape[0]
    ptr = np.zeros(m + 1, np.int64)
    one = np.uint64(1)
    for j in range(n_dest):
        for w in range(words):
            x = bits_all[j, w]
            while x != 0:  # set bits only, lowest first
                ptr[out_arc[64 * w + trailing_zeros(x)] + 1] += 1  # type: ignore[call-arg]
                x &= x - one
    for a in range(m):
        ptr[a + 1] += ptr[a]
    fill = ptr[:-1].copy()
    dest = np.empty(ptr[m], np.int32)
    for j in range(n_dest):
        for w in range(words):
            x = bits_all[j, w]
            while x != 0:
                a = out_arc[64 * w + trailing_zeros(x)]  # type: ignore[call-arg]
                dest[fill[a]] = j
                fill[a] += 1
                x &= x - one
    return ptr, dest


# The repair's priority queue: a binary min-heap of int64 keys with int32 values in two
# arrays. Push and pop move a hole down (up) and write each entry once where it lands,
# instead of swapping both arrays' entries at every level: the same heap, entry for entry
# (so the same pop order), in a third less CPU for the whole sweep (5,000-node benchmark,
# one thread, random arc failures, alternating with the swapping heap: 8.5 against 13.0 ms
# a failure).


@njit(cache=True, nogil=True)
def _pq_push(keys, vals, size, key, val):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        pk = keys[parent]
        if pk <= key:
            break
        keys[i] = pk
        vals[i] = vals[parent]
        i = parent
    keys[i] = key
    vals[i] = val
    return size + 1


@njit(cache=True, nogil=True)
def _pq_pop(keys, vals, size):
    key = keys[0]
    val = vals[0]
    size -= 1
    last_key = keys[size]  # the last entry sinks from the root into the hole's place
    last_val = vals[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        ck = keys[child]
        if child + 1 < size:
            rk = keys[child + 1]
            if rk < ck:
                child += 1
                ck = rk
        if last_key <= ck:
            break
        keys[i] = ck
        vals[i] = vals[child]
        i = child
    keys[i] = last_key
    vals[i] = last_val
    return key, val, size


@intrinsic
def _prefetch(typingctx, arr, i):
    """Ask the CPU to load ``arr[i]``'s cache line now (LLVM's prefetch: read, keep in all
    levels): the repair learns which distances it will read a phase before it reads them,
    and a destination's distance row is far larger than the cache."""
    del typingctx

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, i), codegen


# Differences below this fraction of the destination's traffic are rounding residue of
# shares that cancel (a re-split whose paths meet again) and are not pushed further: each
# node left out moves a load by at most this much of the traffic (1e-14 * n in all, far
# inside the 1e-9 the tests hold the loads to against a full recomputation).
RESIDUE = 1e-14


@njit(cache=True, nogil=True)
def _destination_delta(t, dist, flow, bits, failed, ok_base, ok_new, out_ptr, out_arc, out_dst,
                       out_met, in_ptr, in_arc, in_src, in_met, in_out, arc_src, arc_dst, metric,
                       mark, new_dist, base_d, fl, nodes, hkeys, hvals, hops, dload, touched_mark,
                       touched, n_touched):
    """Add destination t's load differences under ``ok_new`` to ``dload``; return traffic
    that can no longer reach t. ``mark`` bits: 1 candidate (R), 2 in A, 4 queued for 4b.
    ``fl``: an R node's traffic after the failure, for any other node queued the difference
    it receives (kept apart from its baseline traffic: differences that cancel are exactly
    zero and stop there instead of carrying a rounding residue down to t).
    ``bits``: t's baseline DAG (route_all's bitset over out-CSR positions). The graph is
    read through the CSR-ordered copies (``out_dst``/``out_met``: head and metric of the arc
    at each out-CSR position, ``in_src``/``in_met`` for the in-CSR), sequentially, and a
    node's baseline next hops through ``bits`` alone; ``hops`` is scratch (a repaired node's
    new next hops)."""
    n_nodes = 0
    size = 0
    # 1. candidates: tails of failed arcs that are on t's DAG
    for f in range(failed.shape[0]):
        a = failed[f]
        if not ok_base[a]:
            continue
        u = arc_src[a]
        dv = dist[arc_dst[a]]
        on_dag = dv != UNREACHABLE and dist[u] != UNREACHABLE and dv + metric[a] == dist[u]
        if on_dag and mark[u] == 0:
            nodes[n_nodes] = u
            n_nodes += 1
            mark[u] = 5
            fl[u] = 0.0
            base_d[u] = dist[u]
            size = _pq_push(hkeys, hvals, size, dist[u], u)
    if n_nodes == 0:
        return 0.0
    # 2. nodes whose distance grows (A), nearest first: x keeps its distance when one of its
    # baseline next hops survives outside A. Every candidate's next hops change (R), so it
    # withdraws its old contributions here, while its arcs are at hand: a node nearer than x
    # is no candidate by now (candidates come farther than the node that made them), so the
    # nodes it reaches are final members of R or outside it for good.
    while size > 0:
        _, x, size = _pq_pop(hkeys, hvals, size)
        survives = False
        k_old = 0  # the old next hops: x's arcs in the baseline DAG
        for q in range(out_ptr[x], out_ptr[x + 1]):
            if _on_dag(bits, q):
                hops[k_old] = q
                k_old += 1
                if (mark[out_dst[q]] & 2) == 0 and ok_new[out_arc[q]]:
                    survives = True
        fx = flow[x]
        if fx != 0.0:
            share = fx / k_old
            for h in range(k_old):
                q = hops[h]
                a = out_arc[q]
                y = out_dst[q]
                if (mark[y] & 4) == 0:
                    mark[y] |= 4
                    fl[y] = 0.0  # y is outside R: fl holds what it gains or loses
                    nodes[n_nodes] = y
                    n_nodes += 1
                    base_d[y] = base_d[x] - out_met[q]  # x -> y was a DAG arc
                fl[y] -= share
                dload[a] -= share
                if not touched_mark[a]:
                    touched_mark[a] = True
                    touched[n_touched[0]] = a
                    n_touched[0] += 1
        if survives:
            continue
        mark[x] |= 2
        for q in range(out_ptr[x], out_ptr[x + 1]):  # read by step 3
            _prefetch(dist, out_dst[q])  # type: ignore[call-arg]
        for q in range(in_ptr[x], in_ptr[x + 1]):
            z = in_src[q]
            if mark[z] == 0 and _on_dag(bits, in_out[q]):
                nodes[n_nodes] = z
                n_nodes += 1
                mark[z] = 5
                fl[z] = 0.0  # its traffic is added once all its withdrawals are in
                _prefetch(flow, z)  # type: ignore[call-arg]  # read when it is popped
                base_d[z] = base_d[x] + in_met[q]  # z -> x is a DAG arc
                size = _pq_push(hkeys, hvals, size, base_d[z], z)
    # 3. new distances inside A
    size = 0
    for i in range(n_nodes):
        x = nodes[i]
        if mark[x] & 2:
            best = UNREACHABLE
            for q in range(out_ptr[x], out_ptr[x + 1]):
                y = out_dst[q]
                if (mark[y] & 2) == 0 and dist[y] != UNREACHABLE and ok_new[out_arc[q]]:
                    c = dist[y] + out_met[q]
                    best = min(best, c)
            new_dist[x] = best
            if best != UNREACHABLE:
                size = _pq_push(hkeys, hvals, size, best, x)
    while size > 0:
        d, x, size = _pq_pop(hkeys, hvals, size)
        if d > new_dist[x]:
            continue
        for q in range(in_ptr[x], in_ptr[x + 1]):
            z = in_src[q]
            if (mark[z] & 2) and ok_new[in_arc[q]]:
                c = d + in_met[q]
                if c < new_dist[z]:
                    new_dist[z] = c
                    size = _pq_push(hkeys, hvals, size, c, z)
    # 4a. every node reached so far, farthest (new distance) first; R nodes re-send all
    # their traffic
    size = 0
    for i in range(n_nodes):
        x = nodes[i]
        if mark[x] & 1:
            fl[x] += flow[x]
            key = new_dist[x] if mark[x] & 2 else base_d[x]
        else:
            key = base_d[x]
        size = _pq_push(hkeys, hvals, size, -key, x)
    # 4b. push down the new DAG, farthest first: R nodes re-send all their traffic, the
    # others (same next hops as before) only the difference that reached them
    lost = 0.0
    residue = RESIDUE * flow[t]
    while size > 0:
        key, x, size = _pq_pop(hkeys, hvals, size)
        dx = -key
        if x == t:
            continue
        if dx == UNREACHABLE:
            if fl[x] > 0.0 and base_d[x] != UNREACHABLE:
                lost += fl[x]
            continue
        repaired = (mark[x] & 1) != 0
        f = fl[x]
        if abs(f) <= residue:
            continue
        # a node outside R keeps its distance and its baseline next hops (none of them grew
        # its distance: their DAG predecessors are all in R), so it walks the baseline DAG
        k_new = 0
        if mark[x] & 2:
            for q in range(out_ptr[x], out_ptr[x + 1]):
                y = out_dst[q]
                dy = new_dist[y] if mark[y] & 2 else dist[y]
                if dy != UNREACHABLE and dy + out_met[q] == dx and ok_new[out_arc[q]]:
                    hops[k_new] = q
                    k_new += 1
        elif repaired:
            # x kept its distance: its new next hops are its old ones that stay up and do
            # not lead into A (a node of A is now farther than before, so off x's DAG)
            for q in range(out_ptr[x], out_ptr[x + 1]):
                if _on_dag(bits, q) and (mark[out_dst[q]] & 2) == 0 and ok_new[out_arc[q]]:
                    hops[k_new] = q
                    k_new += 1
        else:
            for q in range(out_ptr[x], out_ptr[x + 1]):
                if _on_dag(bits, q):
                    hops[k_new] = q
                    k_new += 1
        share = f / k_new
        for h in range(k_new):
            q = hops[h]
            a = out_arc[q]
            y = out_dst[q]
            if (mark[y] & 4) == 0:
                # y is outside R (so outside A): its distance is unchanged, and x -> y is on
                # the new DAG, so it is dx less the metric (no read of dist, a cache miss)
                mark[y] |= 4
                fl[y] = 0.0  # y is outside R: fl holds what it gains or loses
                nodes[n_nodes] = y
                n_nodes += 1
                base_d[y] = dx - out_met[q]
                size = _pq_push(hkeys, hvals, size, -base_d[y], y)
            fl[y] += share
            dload[a] += share
            if not touched_mark[a]:
                touched_mark[a] = True
                touched[n_touched[0]] = a
                n_touched[0] += 1
    for i in range(n_nodes):
        x = nodes[i]
        mark[x] = 0
        new_dist[x] = UNREACHABLE
        fl[x] = 0.0
    return lost


@njit(cache=True, nogil=True)
def _scratch(n, m):
    """Per-thread work arrays of _destination_delta (all clean: it leaves them clean)."""
    return (np.zeros(n, np.int8), np.full(n, UNREACHABLE, np.int64), np.empty(n, np.int64),
            np.zeros(n),
            np.empty(n, np.int32), np.empty(n + m + 1, np.int64), np.empty(n + m + 1, np.int32),
            np.empty(m + 1, np.int64), np.zeros(m, np.bool_), np.empty(m, np.int32),
            np.zeros(1, np.int64))


# Cost of one affected destination in an incremental repair, in route_all's unit (one arc
# visit of a full Dijkstra + push): measured on the 1,000-node benchmark network (a link
# failure repairs a few nodes per affected destination: ~3 us, ~200 arc visits).
WORK_PER_AFFECTED_DESTINATION = 200.0


def incremental_work(failed_arcs: np.ndarray, dag_ptr: np.ndarray, n: int, m: int) -> float:
    """Estimated work of repairing the destinations whose DAGs the failed arcs cut."""
    del n, m
    visits = float((dag_ptr[failed_arcs + 1] - dag_ptr[failed_arcs]).sum())
    return visits * WORK_PER_AFFECTED_DESTINATION


@njit(cache=True, nogil=True)
def _affected_destinations(failed, dag_ptr, dag_dest, n_dest):
    seen = np.zeros(n_dest, np.bool_)
    affected = np.empty(n_dest, np.int64)
    k = 0
    for f in range(failed.shape[0]):
        a = failed[f]
        for q in range(dag_ptr[a], dag_ptr[a + 1]):
            j = dag_dest[q]
            if not seen[j]:
                seen[j] = True
                affected[k] = j
                k += 1
    return affected[:k]


def affected_destinations(base: Baseline, failed: np.ndarray) -> np.ndarray:
    """Positions of the destinations whose baseline DAG uses one of ``failed`` (as met)."""
    found: np.ndarray = _affected_destinations(np.asarray(failed, np.int64), base.dag_ptr,
                                               base.dag_dest, base.net.destinations.shape[0])
    return found


@njit(cache=True, nogil=True)
def _loads_chunk(c, n_chunks, affected, failed, dests, dist_all, flow_all, bits_all, ok_base,
                 ok_new,
                 out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc, in_src, in_met, in_out,
                 arc_src,
                 arc_dst, metric, dload):
    n = dist_all.shape[1]
    m = arc_src.shape[0]
    (mark, new_dist, base_d, fl, nodes, hkeys, hvals, hops, touched_mark, touched,
     n_touched) = _scratch(n, m)
    lost = 0.0
    for i in range(c, affected.shape[0], n_chunks):
        j = affected[i]
        lost += _destination_delta(dests[j], dist_all[j], flow_all[j], bits_all[j], failed,
                                   ok_base, ok_new,
                                   out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc, in_src,
                                   in_met, in_out, arc_src, arc_dst, metric,
                                   mark, new_dist, base_d, fl, nodes, hkeys, hvals, hops, dload,
                                   touched_mark, touched, n_touched)
    return lost


@njit(cache=True, parallel=True)
def _loads_parallel(n_chunks, affected, failed, dests, dist_all, flow_all, bits_all, ok_base,
                    ok_new,
                    out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc, in_src, in_met, in_out,
                    arc_src,
                    arc_dst, metric):
    m = arc_src.shape[0]
    dloads = np.zeros((n_chunks, m))
    losts = np.zeros(n_chunks)
    for c in prange(n_chunks):
        losts[c] = _loads_chunk(c, n_chunks, affected, failed, dests, dist_all, flow_all, bits_all,
                                ok_base, ok_new, out_ptr, out_arc, out_dst, out_met, in_ptr,
                                in_arc, in_src, in_met, in_out, arc_src,
                                arc_dst, metric, dloads[c])
    return dloads, losts


def loads_under_failure(failed: np.ndarray, dests: np.ndarray, dag_ptr: np.ndarray,
                        dag_dest: np.ndarray, dist_all: np.ndarray, flow_all: np.ndarray,
                            bits_all: np.ndarray,
                        ok_base: np.ndarray, out_ptr: np.ndarray, out_arc: np.ndarray,
                        in_ptr: np.ndarray, in_arc: np.ndarray, arc_src: np.ndarray,
                        arc_dst: np.ndarray, metric: np.ndarray, base_load: np.ndarray,
                        n_chunks: int, csr: CsrArcs | None = None) -> tuple[np.ndarray, float]:
    """Full arc loads after one failure set (base + differences) and the lost traffic; the
    affected destinations are shared out over threads when there is enough work. ``csr``:
    ``csr_arcs`` of the graph (made here when not given)."""
    out_dst, out_met, in_src, in_met, in_out = csr or csr_arcs(out_arc, in_arc, arc_src,
                                                               arc_dst, metric)
    affected = _affected_destinations(failed, dag_ptr, dag_dest, dests.shape[0])
    ok_new = ok_base.copy()
    ok_new[failed] = False
    threads = threads_for(affected.shape[0] * WORK_PER_AFFECTED_DESTINATION)
    args = (affected, failed, dests, dist_all, flow_all, bits_all, ok_base, ok_new, out_ptr,
            out_arc, out_dst, out_met,
            in_ptr, in_arc, in_src, in_met, in_out, arc_src, arc_dst, metric)
    if threads == 1:
        dload = np.zeros(arc_src.shape[0])
        lost = float(_loads_chunk(0, 1, *args, dload))
    else:
        with parallel_region(threads):
            dloads, losts = _loads_parallel(max(1, min(n_chunks, threads)), *args)
        dload, lost = dloads.sum(axis=0), float(losts.sum())
    load = np.maximum(base_load + dload, 0.0)
    return load, lost


def failure_loads(base: Baseline, failed_arcs: np.ndarray) -> tuple[np.ndarray, float]:
    """Arc loads after failing ``failed_arcs`` (and the traffic that became unroutable)."""
    net, s, g = base.net, base.local_state, base.local
    load, lost = loads_under_failure(
        np.asarray(failed_arcs, np.int64), g.destinations, base.dag_ptr, base.dag_dest, s.dist,
        s.flow, base.local_dag_bits(), base.arc_up,
        g.out_ptr, g.out_arc, g.in_ptr, g.in_arc, g.arc_src, g.arc_dst,
        net.arc_metric, s.load_bps, engine_threads(), base.local_csr)
    return load, float(lost)
