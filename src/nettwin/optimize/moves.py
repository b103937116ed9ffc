"""Exact evaluation of IGP metric changes: only the destinations whose routing can change are
touched, and only around the change.

A change of arc a = u->v from w to w' can change destination t's shortest-path DAG only if

* w' > w (a partial failure): a lies on t's DAG, i.e. d(v) + w = d(u);
* w' < w: the cheaper arc reaches or beats u's distance, i.e. d(v) + w' <= d(u).

Every other destination keeps its distances, next hops and loads exactly. An affected
destination is repaired around the change (:mod:`nettwin.optimize.repair`), the failure
sweep's Ramalingam–Reps update generalised to metric changes. Candidate moves are evaluated
in parallel (numba ``prange`` over chunks of moves); a committed move updates the kept
per-destination state in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.shortest_paths import UNREACHABLE
from nettwin.engine.simulate import route
from nettwin.optimize.repair import repair_destination, repair_scratch


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
def evaluate_moves(move_ptr, move_arc, move_metric, metric, ok, dests, in_ptr, in_arc, out_ptr,
                   out_arc, arc_src, arc_dst, dist_all, flow_all, base_load, n_chunks,
                   loads_out, affected_out):
    """Arc loads after each move (a set of arcs given new metrics), into ``loads_out[i]``;
    ``affected_out[i]``: how many destinations had to be repaired."""
    n_moves = move_ptr.shape[0] - 1
    n = dist_all.shape[1]
    m = arc_src.shape[0]
    n_dest = dist_all.shape[0]
    for c in prange(n_chunks):
        met = metric.copy()
        mark, nd, fl, nodes, hkeys, hvals = repair_scratch(n, m)
        for i in range(c, n_moves, n_chunks):
            lo, hi = move_ptr[i], move_ptr[i + 1]
            load = loads_out[i]
            load[:] = base_load
            for p in range(lo, hi):
                met[move_arc[p]] = move_metric[p]
            hits = 0
            for j in range(n_dest):
                if _is_affected(dist_all[j], lo, hi, move_arc, move_metric, metric, ok, arc_src,
                                arc_dst):
                    hits += 1
                    repair_destination(dests[j], dist_all[j], flow_all[j], lo, hi, move_arc,
                                       metric, met, ok, out_ptr, out_arc, in_ptr, in_arc,
                                       arc_src, arc_dst, mark, nd, fl, nodes, hkeys, hvals,
                                       load, False)
            affected_out[i] = hits
            for p in range(lo, hi):
                met[move_arc[p]] = metric[move_arc[p]]
            for a in range(m):
                load[a] = max(load[a], 0.0)  # rounding of a fully withdrawn load


@njit(cache=True)
def commit_move(move_arc, move_metric, metric, ok, dests, in_ptr, in_arc, out_ptr, out_arc,
                arc_src, arc_dst, dist_all, flow_all, load):
    """Apply one move to the kept state in place: metrics, per-destination distances and
    traffic, arc loads. Returns how many destinations were repaired."""
    n_dest = dist_all.shape[0]
    n = dist_all.shape[1]
    m = arc_src.shape[0]
    new_metric = metric.copy()
    for p in range(move_arc.shape[0]):
        new_metric[move_arc[p]] = move_metric[p]
    mark, nd, fl, nodes, hkeys, hvals = repair_scratch(n, m)
    hits = 0
    for j in range(n_dest):
        if _is_affected(dist_all[j], 0, move_arc.shape[0], move_arc, move_metric, metric, ok,
                        arc_src, arc_dst):
            hits += 1
            repair_destination(dests[j], dist_all[j], flow_all[j], 0, move_arc.shape[0],
                               move_arc, metric, new_metric, ok, out_ptr, out_arc, in_ptr,
                               in_arc, arc_src, arc_dst, mark, nd, fl, nodes, hkeys, hvals,
                               load, True)
    metric[:] = new_metric
    for a in range(m):
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
                       net.in_ptr, net.in_arc, net.out_ptr, net.out_arc, net.arc_src,
                       net.arc_dst, self.dist, self.flow, self.load, n_chunks, loads, affected)
        self.evaluations += len(moves)
        self.destinations_routed += int(affected.sum())
        return loads

    def commit(self, move: Move) -> None:
        net = self.net
        commit_move(np.array(move.arcs, np.int64), np.array(move.metrics, np.int64),
                    self.metric, self.arc_up, net.destinations, net.in_ptr, net.in_arc,
                    net.out_ptr, net.out_arc, net.arc_src, net.arc_dst, self.dist, self.flow,
                    self.load)

    def set_metrics(self, metric: np.ndarray) -> None:
        """Jump to another metric setting (routes everything again)."""
        self.metric = np.array(metric, np.int64)
        self.reset()
