"""Exact incremental failure evaluation: a failure touches few destinations and few nodes.

The no-failure run is kept per destination (``Baseline``: distances, settle order, the
traffic each node forwards, the DAG as a bitset) with an index from each arc to the
destinations whose DAG uses it. A failure set then repairs only those destinations, each
touching only the nodes whose distance, next hops or traffic change
(``engine.destination_repair``).

The result equals a full recomputation (tests check it to 1e-9) at a small fraction of the
cost. Many failure sets at once: ``engine.failure_sets``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.destination_repair import (
    _destination_delta,
    _prefetch_first_reads,
    _scratch,
)
from nettwin.engine.locality import (
    LocalGraph,
    local_graph,
    out_positions,
    rows_to_local,
    rows_to_network,
)
from nettwin.engine.once import cached_once
from nettwin.engine.routing import dag_bitsets
from nettwin.engine.simulate import RoutingState, route
from nettwin.engine.threads import engine_threads, parallel_region, threads_for

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

    @cached_once
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

    @cached_once
    def csr(self) -> CsrArcs:
        """The arcs' heads, tails and metrics in CSR order (``csr_arcs``), made once."""
        n = self.net
        return csr_arcs(n.out_arc, n.in_arc, n.arc_src, n.arc_dst, n.arc_metric)

    @cached_once
    def local_csr(self) -> CsrArcs:
        """``csr`` of the locally numbered graph (what the repair kernels read)."""
        g = self.local
        return csr_arcs(g.out_arc, g.in_arc, g.arc_src, g.arc_dst, self.net.arc_metric)

    @cached_once
    def out_pos(self) -> np.ndarray:
        """int64[m]: each arc's position in the out-CSR (where its bit is in ``dag_bits``)."""
        return out_positions(self.net.out_arc)

    def dag_bits(self) -> np.ndarray:
        """Each destination's baseline DAG as a bitset over the network's out-CSR."""
        bits: np.ndarray = self._network_bits
        return bits

    @cached_once
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
        """Bytes held: the rows, the arc index and every copy made on demand so far
        (``state``, the DAG bits in the network's numbering, the CSR views)."""
        s = self.local_state
        held = (s.dist.nbytes + s.order.nbytes + s.flow.nbytes + s.count.nbytes
                + s.dag_bits.nbytes + self.dag_ptr.nbytes + self.dag_dest.nbytes)
        made = self.__dict__
        if "state" in made:
            t = made["state"]
            held += t.dist.nbytes + t.order.nbytes + t.flow.nbytes + t.dag_bits.nbytes
        held += sum(a.nbytes for name in ("_network_bits", "out_pos") if name in made
                    for a in (made[name],))
        held += sum(a.nbytes for name in ("csr", "local_csr") if name in made
                    for a in made[name])
        return int(held)


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
    (mark, new_dist, base_d, fl, nodes, settled, hkeys, hvals, hops, touched_mark,
     touched, n_touched) = _scratch(n, m)
    lost = 0.0
    for i in range(c, affected.shape[0], n_chunks):
        j = affected[i]
        if i + n_chunks < affected.shape[0]:  # the next destination's rows, while j is repaired
            nxt = affected[i + n_chunks]
            _prefetch_first_reads(dist_all[nxt], flow_all[nxt], bits_all[nxt], failed, arc_src,
                                  arc_dst, out_ptr)
        lost += _destination_delta(dests[j], dist_all[j], flow_all[j], bits_all[j], failed,
                                   ok_base, ok_new,
                                   out_ptr, out_arc, out_dst, out_met, in_ptr, in_arc, in_src,
                                   in_met, in_out, arc_src, arc_dst, metric,
                                   mark, new_dist, base_d, fl, nodes, settled, hkeys, hvals,
                                   hops, dload, touched_mark, touched, n_touched)
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
