"""Exact evaluation of IGP metric changes: only the destinations whose routing can change are
routed again.

A change of arc a = u->v from w to w' can change destination t's shortest-path DAG only if

* w' > w (a partial failure): a lies on t's DAG, i.e. d(v) + w = d(u);
* w' < w: the cheaper arc reaches or beats u's distance, i.e. d(v) + w' <= d(u).

Every other destination keeps its distances, next hops and loads exactly. For an affected
destination the old contribution (the traffic each node forwards, split over its old next
hops) is withdrawn and the destination is routed again with the engine's Dijkstra and ECMP
push. Candidate moves are evaluated in parallel (numba ``prange`` over chunks of moves);
a committed move updates the kept per-destination state in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.routing import UNREACHABLE, push_load_to, shortest_distances_to
from nettwin.engine.simulate import route


@njit(cache=True, nogil=True)
def _withdraw(t, dist, flow, out_ptr, out_arc, arc_dst, metric, ok, load):
    """Subtract destination t's arc loads (its kept distances and per-node traffic)."""
    for x in range(dist.shape[0]):
        f = flow[x]
        dx = dist[x]
        if x == t or f == 0.0 or dx == UNREACHABLE:
            continue
        k = 0
        for q in range(out_ptr[x], out_ptr[x + 1]):
            a = out_arc[q]
            dy = dist[arc_dst[a]]
            if ok[a] and dy != UNREACHABLE and dy + metric[a] == dx:
                k += 1
        share = f / k
        for q in range(out_ptr[x], out_ptr[x + 1]):
            a = out_arc[q]
            dy = dist[arc_dst[a]]
            if ok[a] and dy != UNREACHABLE and dy + metric[a] == dx:
                load[a] -= share


@njit(cache=True, nogil=True)
def _route_to(j, t, dest_ptr, dest_demand, demand_src, rate, in_ptr, in_src, in_metric, in_ok,
              out_ptr, out_arc, out_dst, out_metric, out_ok, dist, order, heap, pos, nh, flow,
              load):
    """Route destination t (index j) from scratch, adding its arc loads to ``load``; leaves
    its distances in ``dist`` and the traffic each node forwards in ``flow``."""
    count = shortest_distances_to(t, in_ptr, in_src, in_metric, in_ok, dist, order, heap, pos,
                                  nh)
    flow[:] = 0.0
    for k in range(dest_ptr[j], dest_ptr[j + 1]):
        d = dest_demand[k]
        flow[demand_src[d]] += rate[d]
    push_load_to(dist, order, count, nh, flow, out_ptr, out_arc, out_dst, out_metric, out_ok,
                 load)


@njit(cache=True, nogil=True)
def _is_affected(dist, lo, hi, move_arc, move_metric, metric, ok, arc_src, arc_dst):
    for p in range(lo, hi):
        a = move_arc[p]
        if not ok[a]:
            continue
        dv = dist[arc_dst[a]]
        if dv == UNREACHABLE:
            continue
        du = dist[arc_src[a]]
        w_old = metric[a]
        w_new = move_metric[p]
        if w_new > w_old:
            if du != UNREACHABLE and dv + w_old == du:
                return True
        elif w_new < w_old and (du == UNREACHABLE or dv + w_new <= du):
            return True
    return False


@njit(cache=True, parallel=True)
def evaluate_moves(move_ptr, move_arc, move_metric, metric, ok, dests, dest_ptr, dest_demand,
                   demand_src, rate, in_ptr, in_arc, out_ptr, out_arc, arc_src, arc_dst, in_pos,
                   out_pos, dist_all, flow_all, base_load, n_chunks, loads_out, affected_out):
    """Arc loads after each move (a set of arcs given new metrics), into ``loads_out[i]``;
    ``affected_out[i]``: how many destinations had to be routed again."""
    n_moves = move_ptr.shape[0] - 1
    n = dist_all.shape[1]
    n_dest = dist_all.shape[0]
    for c in prange(n_chunks):
        met = metric.copy()
        in_src = arc_src[in_arc]
        in_met = metric[in_arc]
        in_ok = ok[in_arc]
        out_dst = arc_dst[out_arc]
        out_met = metric[out_arc]
        out_ok = ok[out_arc]
        dist = np.empty(n, np.int64)
        order = np.empty(n, np.int32)
        heap = np.empty(n, np.int32)
        pos = np.empty(n, np.int32)
        nh = np.empty(n, np.int32)
        flow = np.zeros(n)
        for i in range(c, n_moves, n_chunks):
            lo, hi = move_ptr[i], move_ptr[i + 1]
            load = loads_out[i]
            load[:] = base_load
            for p in range(lo, hi):
                a = move_arc[p]
                met[a] = move_metric[p]
                in_met[in_pos[a]] = move_metric[p]
                out_met[out_pos[a]] = move_metric[p]
            hits = 0
            for j in range(n_dest):
                if _is_affected(dist_all[j], lo, hi, move_arc, move_metric, metric, ok, arc_src,
                                arc_dst):
                    hits += 1
                    _withdraw(dests[j], dist_all[j], flow_all[j], out_ptr, out_arc, arc_dst,
                              metric, ok, load)
                    _route_to(j, dests[j], dest_ptr, dest_demand, demand_src, rate, in_ptr,
                              in_src, in_met, in_ok, out_ptr, out_arc, out_dst, out_met, out_ok,
                              dist, order, heap, pos, nh, flow, load)
            affected_out[i] = hits
            for p in range(lo, hi):
                a = move_arc[p]
                met[a] = metric[a]
                in_met[in_pos[a]] = metric[a]
                out_met[out_pos[a]] = metric[a]
            for a in range(load.shape[0]):
                load[a] = max(load[a], 0.0)  # rounding of a fully withdrawn load


@njit(cache=True)
def commit_move(move_arc, move_metric, metric, ok, dests, dest_ptr, dest_demand, demand_src,
                rate, in_ptr, in_arc, out_ptr, out_arc, arc_src, arc_dst, dist_all, flow_all,
                load):
    """Apply one move to the kept state in place: metrics, per-destination distances and
    traffic, arc loads. Returns how many destinations were routed again."""
    n_dest = dist_all.shape[0]
    n = dist_all.shape[1]
    new_metric = metric.copy()
    for p in range(move_arc.shape[0]):
        new_metric[move_arc[p]] = move_metric[p]
    in_src = arc_src[in_arc]
    in_met = new_metric[in_arc]
    in_ok = ok[in_arc]
    out_dst = arc_dst[out_arc]
    out_met = new_metric[out_arc]
    out_ok = ok[out_arc]
    order = np.empty(n, np.int32)
    heap = np.empty(n, np.int32)
    pos = np.empty(n, np.int32)
    nh = np.empty(n, np.int32)
    hits = 0
    for j in range(n_dest):
        if _is_affected(dist_all[j], 0, move_arc.shape[0], move_arc, move_metric, metric, ok,
                        arc_src, arc_dst):
            hits += 1
            _withdraw(dests[j], dist_all[j], flow_all[j], out_ptr, out_arc, arc_dst, metric, ok,
                      load)
            _route_to(j, dests[j], dest_ptr, dest_demand, demand_src, rate, in_ptr, in_src,
                      in_met, in_ok, out_ptr, out_arc, out_dst, out_met, out_ok, dist_all[j],
                      order, heap, pos, nh, flow_all[j], load)
    metric[:] = new_metric
    for a in range(load.shape[0]):
        load[a] = max(load[a], 0.0)
    return hits


@dataclass(frozen=True)
class Move:
    """New metrics for some arcs (both arcs of a link when metrics are kept symmetric)."""

    arcs: tuple[int, ...]
    metrics: tuple[int, ...]


def pack_moves(moves: list[Move]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ptr = np.zeros(len(moves) + 1, np.int64)
    ptr[1:] = np.cumsum([len(mv.arcs) for mv in moves])
    arcs = np.array([a for mv in moves for a in mv.arcs], np.int64)
    metrics = np.array([w for mv in moves for w in mv.metrics], np.int64)
    return ptr, arcs, metrics


class RoutingTable:
    """The routing of one metric setting, kept per destination so that metric changes are
    evaluated exactly and incrementally (mutable: ``commit`` changes it in place)."""

    def __init__(self, net: CompiledNetwork, metric: np.ndarray, arc_up: np.ndarray,
                 demand_rate_bps: np.ndarray) -> None:
        self.net = net
        self.arc_up = np.asarray(arc_up, bool)
        self.rate = np.asarray(demand_rate_bps, np.float64)
        self.metric = np.array(metric, np.int64)
        self.in_pos = np.empty(net.n_arcs, np.int64)
        self.in_pos[net.in_arc] = np.arange(net.n_arcs)
        self.out_pos = np.empty(net.n_arcs, np.int64)
        self.out_pos[net.out_arc] = np.arange(net.n_arcs)
        self.evaluations = 0
        self.destinations_routed = 0
        self.reset()

    def reset(self) -> None:
        """Route every destination from scratch (clears rounding from many commits)."""
        state = route(self.compiled(), self.arc_up, self.rate, keep_flow=True)
        self.dist = state.dist
        self.flow = state.flow
        self.load = state.load_bps.copy()

    def compiled(self) -> CompiledNetwork:
        """The compiled network with this table's metrics."""
        import dataclasses

        return dataclasses.replace(self.net, arc_metric=self.metric.copy())

    def evaluate(self, moves: list[Move]) -> np.ndarray:
        """Arc loads after each move (rows), without changing the table."""
        net = self.net
        ptr, arcs, metrics = pack_moves(moves)
        loads = np.empty((len(moves), net.n_arcs))
        affected = np.zeros(len(moves), np.int64)
        if not moves:
            return loads
        n_chunks = max(1, min(len(moves), 4 * numba.get_num_threads()))
        evaluate_moves(ptr, arcs, metrics, self.metric, self.arc_up, net.destinations,
                       net.dest_ptr, net.dest_demand, net.demand_src, self.rate, net.in_ptr,
                       net.in_arc, net.out_ptr, net.out_arc, net.arc_src, net.arc_dst,
                       self.in_pos, self.out_pos, self.dist, self.flow, self.load, n_chunks,
                       loads, affected)
        self.evaluations += len(moves)
        self.destinations_routed += int(affected.sum())
        return loads

    def commit(self, move: Move) -> None:
        net = self.net
        commit_move(np.array(move.arcs, np.int64), np.array(move.metrics, np.int64),
                    self.metric, self.arc_up, net.destinations, net.dest_ptr, net.dest_demand,
                    net.demand_src, self.rate, net.in_ptr, net.in_arc, net.out_ptr, net.out_arc,
                    net.arc_src, net.arc_dst, self.dist, self.flow, self.load)

    def set_metrics(self, metric: np.ndarray) -> None:
        """Jump to another metric setting (routes everything again)."""
        self.metric = np.array(metric, np.int64)
        self.reset()
