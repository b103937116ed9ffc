"""The step kernel: one environment step (or a batch of them) in one numba call.

A step syncs the wanted arc metrics and states into the cached routing state, re-runs
Dijkstra only for the destinations whose distances the changes can alter (a changed arc
matters to destination t only if it was on t's DAG or could now be on it; an arc that merely
joins or leaves the DAG beside another equal-cost next hop only changes that node's
next-hop count, patched in place), pushes the
interval's demands down every DAG (``engine.routing.push_load_to``), applies the queueing
model per arc, and walks the DAGs again for per-demand delay and delivery
(``engine.path_metrics.node_metrics_to``) to judge the SLAs. Same kernels, same arithmetic as
``engine.simulate``; no Python per demand, per destination or per arc.

The queueing formulas are those of ``engine.queueing.evaluate_queues`` in scalar form (the
engine's version is vectorised numpy, too slow to call per step on 30 arcs); a test pins
the two equal for every model.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from nettwin.engine.path_metrics import node_metrics_to
from nettwin.engine.routing import push_load_to
from nettwin.engine.shortest_paths import UNREACHABLE, shortest_distances_to

MODEL_MM1, MODEL_MD1, MODEL_MG1, MODEL_MM1K = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def _mm1k(rho, system):
    """Blocking probability and mean number in an M/M/1/K system (K = ``system``)."""
    high = rho > 1.0
    r = 1.0 / rho if high else rho
    if r == 0.0:
        p_full, p_empty, mean = 0.0, 1.0, 0.0
    else:
        log_r = math.log(r)
        if abs(log_r) < 1e-9:
            p_full = p_empty = 1.0 / (system + 1.0)
            mean = system / 2.0
        else:
            one_minus_rk1 = -math.expm1((system + 1.0) * log_r)
            one_minus_r = -math.expm1(log_r)
            rk = math.exp(system * log_r)
            rk1 = math.exp((system + 1.0) * log_r)
            p_full = one_minus_r * rk / one_minus_rk1
            p_empty = one_minus_r / one_minus_rk1
            mean = r / one_minus_r - (system + 1.0) * rk1 / one_minus_rk1
    if high:
        return p_empty, system - mean
    return p_full, mean


@njit(cache=True, nogil=True)
def queue_arc(load, capacity, model, packet_bytes, scv, buffer_packets):
    """Utilisation, transmission, queueing delay and loss of one arc."""
    service = packet_bytes * 8.0 / capacity
    rho = load / capacity
    if model == MODEL_MM1K:
        blocking, mean_n = _mm1k(rho, buffer_packets + 1.0)
        admitted = (load / (packet_bytes * 8.0)) * (1.0 - blocking)
        sojourn = mean_n / admitted if admitted > 0 else service
        return rho, service, max(sojourn - service, 0.0), blocking
    if rho >= 1.0:
        return rho, service, buffer_packets * service, 1.0 - 1.0 / rho
    factor = 1.0 if model == MODEL_MM1 else (0.5 if model == MODEL_MD1 else (1.0 + scv) / 2.0)
    return rho, service, factor * rho * service / (1.0 - rho), 0.0


@njit(cache=True, nogil=True)
def step_one(n, destinations, dest_ptr, dest_demand, demand_src, in_ptr, in_src, out_ptr,
             out_arc, out_dst, arc_src, arc_dst, arc_in_pos, arc_out_pos, prop_s, buffers,
             queue, unit_ptr, unit_demand, unit_max_delay, unit_max_loss, dest_timed,
             metric_new, ok_new, capacity, rate, pin_demand, pin_arc, full,
             metric, ok, in_metric, in_ok, out_metric, out_ok, dist_all, order_all, count_all,
             nh_all, load, util, delay, loss, unit_violated, summary):
    """One step of one copy; the state arrays (metric ... nh_all) are updated in place.

    ``queue`` = (model, mean packet bytes, packet SCV). ``summary`` gets max utilisation,
    unroutable bit/s, queue-lost bit/s, violated units, destinations re-routed.

    Pinned demands (``pin_demand[p]`` >= 0) take the explicit path ``pin_arc[p]`` (arcs, -1
    padded) instead of the IGP; a path over a down arc leaves its demand unrouted, as
    ``engine.classes`` does (the twin shows the broken path, not a silent reroute).

    Pass 2 (per-demand delay and delivery) runs only for the destinations that need it:
    those with a delay target (``dest_timed``) and those whose DAG holds a lossy arc; every
    other demand is delivered whole when routed, and its delay is judged by no target.
    """
    n_dest = destinations.shape[0]
    m = arc_src.shape[0]
    stale = np.zeros(n_dest, np.bool_)
    if full:
        stale[:] = True
    for a in range(m):
        if metric_new[a] == metric[a] and ok_new[a] == ok[a]:
            continue
        u = arc_src[a]
        v = arc_dst[a]
        if not full:
            for j in range(n_dest):
                if stale[j]:
                    continue
                dv = dist_all[j, v]
                if dv == UNREACHABLE:
                    continue
                du = dist_all[j, u]
                was_on = ok[a] and du != UNREACHABLE and dv + metric[a] == du
                will_be_on = ok_new[a] and du != UNREACHABLE and dv + metric_new[a] == du
                if ok_new[a] and (du == UNREACHABLE or dv + metric_new[a] < du):
                    stale[j] = True  # a shorter way: distances change
                elif was_on and not will_be_on:
                    if nh_all[j, u] > 1:
                        nh_all[j, u] -= 1  # u keeps its distance over its other next hops
                    else:
                        stale[j] = True
                elif will_be_on and not was_on:
                    nh_all[j, u] += 1  # one more equal-cost next hop, distances unchanged
        metric[a] = metric_new[a]
        ok[a] = ok_new[a]
        in_metric[arc_in_pos[a]] = metric_new[a]
        in_ok[arc_in_pos[a]] = ok_new[a]
        out_metric[arc_out_pos[a]] = metric_new[a]
        out_ok[arc_out_pos[a]] = ok_new[a]
    k_dem = demand_src.shape[0]
    n_pins = pin_demand.shape[0]
    pinned = np.zeros(k_dem, np.bool_)
    pin_broken = np.zeros(n_pins, np.bool_)
    for p in range(n_pins):
        d = pin_demand[p]
        if d < 0:
            continue
        pinned[d] = True
        for h in range(pin_arc.shape[1]):
            a = pin_arc[p, h]
            if a < 0:
                break
            if not ok[a]:
                pin_broken[p] = True
    heap = np.empty(n, np.int32)
    pos = np.empty(n, np.int32)
    flow = np.zeros(n)
    rerouted = 0
    load[:] = 0.0
    for j in range(n_dest):
        dist = dist_all[j]
        order = order_all[j]
        if stale[j]:
            count_all[j] = shortest_distances_to(destinations[j], in_ptr, in_src, in_metric,
                                                 in_ok, dist, order, heap, pos, nh_all[j])
            rerouted += 1
        for k in range(dest_ptr[j], dest_ptr[j + 1]):
            d = dest_demand[k]
            if not pinned[d]:
                flow[demand_src[d]] += rate[d]
        push_load_to(dist, order, count_all[j], nh_all[j], flow, out_ptr, out_arc, out_dst,
                     out_metric, out_ok, load)
        for k in range(count_all[j]):
            flow[order[k]] = 0.0
        for k in range(dest_ptr[j], dest_ptr[j + 1]):
            flow[demand_src[dest_demand[k]]] = 0.0
    for p in range(n_pins):
        d = pin_demand[p]
        if d >= 0 and not pin_broken[p]:
            for h in range(pin_arc.shape[1]):
                a = pin_arc[p, h]
                if a < 0:
                    break
                load[a] += rate[d]
    model = int(queue[0])
    mlu = 0.0
    for a in range(m):
        rho, service, waiting, lost = queue_arc(load[a], capacity[a], model, queue[1],
                                                queue[2], buffers[a])
        util[a] = rho
        delay[a] = prop_s[a] + service + waiting
        loss[a] = lost
        if ok[a] and rho > mlu:
            mlu = rho
    # pass 2: per demand worst delay and delivery over the ECMP split, where it matters
    need = dest_timed.copy()
    for a in range(m):
        if loss[a] > 0.0 and ok[a]:
            u = arc_src[a]
            v = arc_dst[a]
            for j in range(n_dest):
                if not need[j]:
                    dv = dist_all[j, v]
                    if dv != UNREACHABLE:
                        du = dist_all[j, u]  # u reaches t when its out-arc is on the DAG
                        need[j] = du != UNREACHABLE and dv + metric[a] == du
    out_delay = np.empty(m)
    out_pass = np.empty(m)
    out_sig = np.zeros(m)
    for q in range(m):
        out_delay[q] = delay[out_arc[q]]
        out_pass[q] = 1.0 - loss[out_arc[q]]
    mean_d = np.zeros(n)
    worst_d = np.zeros(n)
    surv = np.ones(n)
    hops = np.zeros(n)
    sig = np.zeros(n)
    d_worst = np.empty(k_dem)
    d_loss = np.empty(k_dem)
    d_routed = np.empty(k_dem, np.bool_)
    unroutable = 0.0
    lost_bps = 0.0
    for j in range(n_dest):
        dist = dist_all[j]
        if not need[j]:
            for k in range(dest_ptr[j], dest_ptr[j + 1]):
                d = dest_demand[k]
                if pinned[d]:
                    continue
                d_loss[d] = 0.0
                d_worst[d] = 0.0
                d_routed[d] = dist[demand_src[d]] != UNREACHABLE
                if not d_routed[d]:
                    d_worst[d] = np.inf
                    d_loss[d] = 1.0
                    unroutable += rate[d]
            continue
        node_metrics_to(destinations[j], dist, order_all[j], count_all[j], out_ptr, out_dst,
                        out_metric, out_ok, out_delay, out_pass, out_sig, mean_d, worst_d,
                        surv, hops, sig)
        for k in range(dest_ptr[j], dest_ptr[j + 1]):
            d = dest_demand[k]
            if pinned[d]:
                continue
            s = demand_src[d]
            if dist[s] == UNREACHABLE:
                d_routed[d] = False
                d_worst[d] = np.inf
                d_loss[d] = 1.0
                unroutable += rate[d]
            else:
                d_routed[d] = True
                d_worst[d] = worst_d[s]
                d_loss[d] = 1.0 - surv[s]
                lost_bps += rate[d] * d_loss[d]
    for p in range(n_pins):
        d = pin_demand[p]
        if d < 0:
            continue
        if pin_broken[p]:
            d_routed[d] = False
            d_worst[d] = np.inf
            d_loss[d] = 1.0
            unroutable += rate[d]
            continue
        total = 0.0
        passed = 1.0
        for h in range(pin_arc.shape[1]):
            a = pin_arc[p, h]
            if a < 0:
                break
            total += delay[a]
            passed *= 1.0 - loss[a]
        d_routed[d] = True
        d_worst[d] = total
        d_loss[d] = 1.0 - passed
        lost_bps += rate[d] * d_loss[d]
    n_units = unit_max_delay.shape[0]
    violated = 0
    for i in range(n_units):
        worst = -1.0
        worst_loss = 0.0
        bad = False
        for p in range(unit_ptr[i], unit_ptr[i + 1]):
            d = unit_demand[p]
            if not d_routed[d]:
                bad = True
            elif d_worst[d] > worst:
                worst = d_worst[d]
            worst_loss = max(worst_loss, d_loss[d])
        if worst < 0.0:
            worst = np.inf if unit_ptr[i + 1] > unit_ptr[i] else 0.0
        bad = bad or worst > unit_max_delay[i] or worst_loss > unit_max_loss[i]
        unit_violated[i] = bad
        violated += bad
    summary[0] = mlu
    summary[1] = unroutable
    summary[2] = lost_bps
    summary[3] = violated
    summary[4] = rerouted


@njit(cache=True, parallel=True)
def step_batch(n, destinations, dest_ptr, dest_demand, demand_src, in_ptr, in_src, out_ptr,
               out_arc, out_dst, arc_src, arc_dst, arc_in_pos, arc_out_pos, prop_s, buffers,
               queue, unit_ptr, unit_demand, unit_max_delay, unit_max_loss, dest_timed,
               metric_new, ok_new, capacity, rate, pin_demand, pin_arc, full,
               metric, ok, in_metric, in_ok, out_metric, out_ok, dist_all, order_all,
               count_all, nh_all, load, util, delay, loss, unit_violated, summary):
    """``step_one`` for every copy (leading axis), copies in parallel."""
    for e in prange(metric_new.shape[0]):
        step_one(n, destinations, dest_ptr, dest_demand, demand_src, in_ptr, in_src, out_ptr,
                 out_arc, out_dst, arc_src, arc_dst, arc_in_pos, arc_out_pos, prop_s, buffers,
                 queue, unit_ptr, unit_demand, unit_max_delay, unit_max_loss, dest_timed,
                 metric_new[e], ok_new[e], capacity[e], rate[e], pin_demand[e], pin_arc[e],
                 full[e],
                 metric[e], ok[e], in_metric[e], in_ok[e], out_metric[e], out_ok[e],
                 dist_all[e], order_all[e], count_all[e], nh_all[e], load[e], util[e],
                 delay[e], loss[e], unit_violated[e], summary[e])


@njit(cache=True, nogil=True)
def step_batch_serial(n, destinations, dest_ptr, dest_demand, demand_src, in_ptr, in_src, out_ptr,
               out_arc, out_dst, arc_src, arc_dst, arc_in_pos, arc_out_pos, prop_s, buffers,
               queue, unit_ptr, unit_demand, unit_max_delay, unit_max_loss, dest_timed,
               metric_new, ok_new, capacity, rate, pin_demand, pin_arc, full,
               metric, ok, in_metric, in_ok, out_metric, out_ok, dist_all, order_all,
               count_all, nh_all, load, util, delay, loss, unit_violated, summary):
    """``step_one`` for every copy, one after the other (no thread launch: the better
    choice on a busy machine or for few copies)."""
    for e in range(metric_new.shape[0]):
        step_one(n, destinations, dest_ptr, dest_demand, demand_src, in_ptr, in_src, out_ptr,
                 out_arc, out_dst, arc_src, arc_dst, arc_in_pos, arc_out_pos, prop_s, buffers,
                 queue, unit_ptr, unit_demand, unit_max_delay, unit_max_loss, dest_timed,
                 metric_new[e], ok_new[e], capacity[e], rate[e], pin_demand[e], pin_arc[e],
                 full[e],
                 metric[e], ok[e], in_metric[e], in_ok[e], out_metric[e], out_ok[e],
                 dist_all[e], order_all[e], count_all[e], nh_all[e], load[e], util[e],
                 delay[e], loss[e], unit_violated[e], summary[e])
