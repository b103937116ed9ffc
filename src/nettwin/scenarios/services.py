"""SLA checks for the demands of services under a failure, without a full re-run.

Only the destinations of service demands are routed again (Dijkstra plus path metrics),
with arc delays from the failure's loads: services are usually a small part of a matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from nettwin.engine import CompiledNetwork, SimulationOptions
from nettwin.engine.path_metrics import node_metrics_to
from nettwin.engine.shortest_paths import UNREACHABLE, shortest_distances_to
from nettwin.engine.simulate import queue_arcs, queue_bursty_arcs


@njit(cache=True)
def _metrics_to(t, n, in_ptr, in_arc, out_ptr, out_arc, arc_src, arc_dst, metric, ok,
                arc_delay, arc_pass, arc_sig):
    dist = np.empty(n, np.int64)
    order = np.empty(n, np.int32)
    heap = np.empty(n, np.int32)
    pos = np.empty(n, np.int32)
    nh = np.empty(n, np.int32)
    count = shortest_distances_to(t, in_ptr, arc_src[in_arc], metric[in_arc], ok[in_arc], dist,
                                  order, heap, pos, nh)
    mean_d = np.zeros(n)
    worst_d = np.zeros(n)
    surv = np.ones(n)
    hops = np.zeros(n)
    sig = np.zeros(n)
    node_metrics_to(t, dist, order, count, out_ptr, arc_dst[out_arc], metric[out_arc],
                    ok[out_arc], arc_delay[out_arc], arc_pass[out_arc], arc_sig[out_arc], mean_d,
                    worst_d, surv, hops, sig)
    return dist != UNREACHABLE, worst_d, surv


@dataclass(frozen=True)
class ServiceCheck:
    """Per service (in the compiled network's order)."""

    worst_delay_s: np.ndarray
    worst_loss: np.ndarray
    unroutable_demands: np.ndarray
    violated: np.ndarray


def check_services(net: CompiledNetwork, options: SimulationOptions, arc_up: np.ndarray,
                   load_bps: np.ndarray, demand_rate_bps: np.ndarray) -> ServiceCheck:
    """Worst delay, worst loss and unroutable demands per service for these arc loads.
    Links carrying demands with bursty arrival processes are queued as ``simulate`` queues
    them (MMPP/G/1/K, unless ``options`` say Poisson), from the demands' rates
    (``demand_rate_bps``: the rates that made ``load_bps``) routed over ``arc_up``: three more
    routings per check, on such networks only."""
    q, delay = queue_arcs(net, options, load_bps)
    q, delay = queue_bursty_arcs(net, options, arc_up, demand_rate_bps, q, delay)
    members = net.service_demand
    worst = np.zeros(members.size)
    loss = np.ones(members.size)
    routed = np.zeros(members.size, bool)
    dsts = net.demand_dst[members]
    for t in np.unique(dsts):
        reach, worst_d, surv = _metrics_to(int(t), net.n_nodes, net.in_ptr, net.in_arc,
                                           net.out_ptr, net.out_arc, net.arc_src, net.arc_dst,
                                           net.arc_metric, arc_up, delay, 1.0 - q.loss,
                                           net.arc_signature)
        sel = np.flatnonzero(dsts == t)
        srcs = net.demand_src[members[sel]]
        routed[sel] = reach[srcs]
        worst[sel] = np.where(reach[srcs], worst_d[srcs], np.inf)
        loss[sel] = np.where(reach[srcs], 1.0 - surv[srcs], 1.0)
    s = len(net.service_ids)
    out_worst, out_loss = np.zeros(s), np.zeros(s)
    unroutable = np.zeros(s, np.int64)
    for i in range(s):
        sl = slice(net.service_ptr[i], net.service_ptr[i + 1])
        ok = routed[sl]
        unroutable[i] = int((~ok).sum())
        out_worst[i] = worst[sl][ok].max() if ok.any() else np.inf
        out_loss[i] = loss[sl].max() if loss[sl].size else 0.0
    violated = ((out_worst > net.service_max_delay_s) | (out_loss > net.service_max_loss)
                | (unroutable > 0))
    return ServiceCheck(out_worst, out_loss, unroutable, violated)
