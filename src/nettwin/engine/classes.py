"""Per-class QoS on IGP/ECMP routing: every traffic class routed as the network routes it,
queued per class and port (FIFO, strict priority, WFQ, DRR; finite buffers, see
``engine.qos``), then per demand the delay, jitter and loss of its own class over its ECMP
split, and per service the SLA checked on its demands' own classes.

Explicit per-demand paths (segment routing, static routes) go through
``qos.simulate_paths`` instead; both share the queue formulas.

Losses: each class's carried load at a port is its offered load thinned by that port's own
losses, and what a port drops never reaches the ports after it: the class's traffic is
pushed again down the same ECMP DAGs, every arc passing on only its carried share (a few
fixed-point rounds, and only for classes that lose anything).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from nettwin.engine.arrivals import bursty_arc_queues
from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.path_metrics import path_metrics_all
from nettwin.engine.qna import link_spacing, network_arrival_variability, port_service_scv
from nettwin.engine.qos import (
    DAMP,
    Scheduler,
    evaluate_class_queues,
    path_follows,
    path_reach,
    path_totals,
)
from nettwin.engine.queueing import IMIX_MEAN_PACKET_BYTES, IMIX_PACKET_SCV
from nettwin.engine.simulate import ServiceReport, bursty_moments, route, service_report
from nettwin.engine.thinned import push_thinned_all, turn_index
from nettwin.errors import SimulationError


@dataclass(frozen=True, eq=False)
class ClassPolicy:
    """How the ports treat traffic classes; classes in priority order (index 0 is served
    first under strict priority and is weights[:, 0] under WFQ/DRR)."""

    priority: tuple[str, ...]
    scheduler: np.ndarray  # int[arcs]: Scheduler
    weights: np.ndarray  # [arcs, classes]
    buffer_packets: np.ndarray  # [arcs, classes]
    mean_packet_bits: np.ndarray  # [classes]
    packet_second_moment_bits2: np.ndarray  # [classes]


def uniform_policy(net: CompiledNetwork, scheduler: Scheduler = Scheduler.SP, *,
                   priority: tuple[str, ...] | None = None,
                   weights: tuple[float, ...] | None = None, buffer_packets: int = 1000,
                   mean_packet_bytes: float = IMIX_MEAN_PACKET_BYTES,
                   packet_size_scv: float = IMIX_PACKET_SCV) -> ClassPolicy:
    """The same scheduler, weights and buffers on every port; IMIX packets by default."""
    priority = priority or net.class_names
    missing = set(net.class_names) - set(priority)
    if missing:
        raise SimulationError(f"classes {sorted(missing)} have no place in the priority "
                              f"order {list(priority)}: list every class")
    k = len(priority)
    w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (k,) or (w <= 0).any():
        raise SimulationError(f"weights {weights} must be {k} positive numbers, one per class "
                              f"in priority order {list(priority)}")
    m = net.n_arcs
    bits = np.full(k, 8.0 * mean_packet_bytes)
    return ClassPolicy(tuple(priority), np.full(m, int(scheduler)), np.tile(w / w.sum(), (m, 1)),
                       np.full((m, k), float(buffer_packets)), bits,
                       bits ** 2 * (1.0 + packet_size_scv))


@dataclass(frozen=True, eq=False)
class PinnedPaths:
    """Demands that follow one explicit path (segment routing, static routes, RSVP-TE)
    instead of the IGP: demand ``demand[i]`` takes arcs ``arc[ptr[i]:ptr[i+1]]``."""

    demand: np.ndarray  # int64[p]
    ptr: np.ndarray  # int64[p+1]
    arc: np.ndarray  # int64[...]


@dataclass(frozen=True, eq=False)
class ClassResult:
    priority: tuple[str, ...]
    arc_class_load_bps: np.ndarray  # [arcs, classes], offered
    arc_class_waiting_s: np.ndarray
    arc_class_loss: np.ndarray
    demand_class: np.ndarray  # position in ``priority``
    demand_routed: np.ndarray
    demand_delay_mean_s: np.ndarray
    demand_delay_worst_s: np.ndarray
    demand_jitter_s: np.ndarray  # standard deviation of the delay
    demand_loss: np.ndarray
    services: ServiceReport
    timings_s: dict[str, float] = field(default_factory=dict)

    def class_rows(self, demand_rate_bps: np.ndarray) -> list[dict[str, Any]]:
        """Per class with routed demands: how many, offered traffic, mean and p99 delay,
        mean jitter, worst loss."""
        rows: list[dict[str, Any]] = []
        for k, name in enumerate(self.priority):
            mine = (self.demand_class == k) & self.demand_routed
            if not mine.any():
                continue
            rows.append({"class": name, "demands": int(mine.sum()),
                         "offered_bps": float(demand_rate_bps[mine].sum()),
                         "mean_delay_s": float(self.demand_delay_mean_s[mine].mean()),
                         "p99_delay_s": float(np.percentile(self.demand_delay_mean_s[mine], 99)),
                         "mean_jitter_s": float(self.demand_jitter_s[mine].mean()),
                         "max_loss": float(self.demand_loss[mine].max())})
        return rows

    def service_rows(self) -> list[dict[str, Any]]:
        """Per service: worst delay and loss of its demands, each on its own class."""
        s = self.services
        return [{"service": sid, "worst_delay_s": float(s.worst_delay_s[i]),
                 "worst_loss": float(s.worst_loss[i]), "violated": bool(s.violated[i])}
                for i, sid in enumerate(s.ids)]


def burst_scaled_scv(net: CompiledNetwork, arc_up: np.ndarray, rate_bps: np.ndarray,
                     demand_bits: np.ndarray, scv: np.ndarray, lam: np.ndarray, x: np.ndarray,
                     x2: np.ndarray, buffer_packets: np.ndarray) -> np.ndarray:
    """Arrival variability of ports that carry bursty demands: the port's whole load queued
    as MMPP2/G/1/K (``engine.arrivals``) against the same load as Poisson gives the factor
    r by which bursts lengthen the wait; the class queues' Kingman scaling then uses
    r (c_a^2 + c_s^2) - c_s^2 for c_a^2 (unchanged where r = 1)."""
    port_pps = lam.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_x = np.where(port_pps > 0, (lam * x).sum(axis=1) / port_pps, 0.0)
    bits = np.where(port_pps > 0, mean_x * net.arc_capacity_bps, 1.0)
    moments = bursty_moments(net, arc_up, rate_bps, demand_bits)
    if moments is None:
        return scv
    var, m3, area = moments
    hit = np.nonzero((var > 0) & (port_pps > 0))[0]
    if not hit.size:
        return scv
    cs2 = port_service_scv(lam, x, x2)[hit]
    k = np.max(np.asarray(buffer_packets, float), axis=1)[hit] + 1.0
    load = port_pps[hit] * bits[hit]
    cap = net.arc_capacity_bps[hit]
    # each port in its own mean packet size (the moments are in bit units)
    w_b, _ = bursty_arc_queues(load, var[hit], m3[hit], area[hit], cap, bits[hit], cs2, k)
    zero = np.zeros(hit.size)
    w_p, _ = bursty_arc_queues(load, zero, zero, zero, cap, bits[hit], cs2, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(w_p > 0, np.maximum(w_b / w_p, 1.0), 1.0)
    out = np.array(scv, dtype=np.float64, copy=True)
    out[hit] = ratio * (out[hit] + cs2) - cs2
    return out


def simulate_classes(net: CompiledNetwork, policy: ClassPolicy, *,
                     arc_up: np.ndarray | None = None,
                     demand_rate_bps: np.ndarray | None = None, rounds: int = 12,
                     smooth_arrivals: bool = True, pinned: PinnedPaths | None = None
                     ) -> ClassResult:
    """Route every class (ECMP; ``pinned`` demands on their explicit paths), queue per class
    and port, report per demand and service. ``smooth_arrivals=False`` takes every port's
    arrivals as Poisson (no QNA). A pinned demand whose path crosses a down arc is not
    routed (it reports as lost): the what-if shows the broken path, not a silent reroute."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ok = net.arc_up if arc_up is None else np.asarray(arc_up, dtype=bool)
    rate = net.demand_rate_bps if demand_rate_bps is None else np.asarray(
        demand_rate_bps, dtype=np.float64)
    rank = {name: i for i, name in enumerate(policy.priority)}
    if set(net.class_names) - set(rank):
        raise SimulationError(f"the policy has no place for classes "
                              f"{sorted(set(net.class_names) - set(rank))}")
    pos = np.array([rank[c] for c in net.class_names], np.int64)[net.demand_class]
    k = len(policy.priority)
    m, n = net.n_arcs, net.n_nodes
    pin = pinned or PinnedPaths(np.zeros(0, np.int64), np.zeros(1, np.int64),
                                np.zeros(0, np.int64))
    pin_len = np.diff(pin.ptr)
    pin_owner = np.repeat(np.arange(pin.demand.size), pin_len)
    pin_cls = pos[pin.demand][pin_owner]
    pin_ok = np.ones(pin.demand.size, bool)
    np.logical_and.at(pin_ok, pin_owner, ok[pin.arc])
    pin_rate = np.where(pin_ok, rate[pin.demand], 0.0)[pin_owner]
    rate_ecmp = rate.copy()
    rate_ecmp[pin.demand] = 0.0
    # one routing pass per class present; distances and settle orders are the same for all
    loads = np.zeros((m, k))
    state = None
    for c in range(k):
        mine = pos == c
        if mine.any():
            st = route(net, ok, np.where(mine, rate_ecmp, 0.0))
            loads[:, c] = st.load_bps
            state = state or st
    if state is None:  # no demands at all
        state = route(net, ok, rate_ecmp)
    ecmp_loads = loads.copy()
    np.add.at(loads, (pin.arc, pin_cls), pin_rate)

    def pinned_reach(carried: np.ndarray) -> np.ndarray:
        """Pinned traffic that reaches each arc of its path, losses before taken out."""
        out: np.ndarray = pin_rate * path_reach(pin.ptr, carried[pin.arc, pin_cls])
        return out
    t1 = time.perf_counter()
    cap = net.arc_capacity_bps
    lam = loads / policy.mean_packet_bits[None, :]
    x = policy.mean_packet_bits[None, :] / cap[:, None]
    x2 = policy.packet_second_moment_bits2[None, :] / cap[:, None] ** 2
    carried = None
    queues = None
    class_rate = [np.where(pos == c, rate_ecmp, 0.0) for c in range(k)]
    no_turns = np.zeros(n + 1, np.int64)  # push_thinned_all: loads only
    for r in range(max(1, rounds)):
        queues = evaluate_class_queues(lam, x, x2, policy.scheduler, policy.weights,
                                       policy.buffer_packets, carried)
        new = 1.0 - queues.loss
        settled = carried is not None and np.abs(new - carried).max() < 1e-6
        carried = new if carried is None else DAMP * carried + (1.0 - DAMP) * new
        if r == max(1, rounds) - 1 or settled or not (queues.loss > 1e-12).any():
            break
        # what a lossy port drops never reaches the ports after it
        for lossy in np.nonzero((queues.loss > 1e-12).any(axis=0))[0].tolist():
            ecmp_loads[:, lossy] = push_thinned_all(
                n, net.destinations, net.dest_ptr, net.dest_demand, net.demand_src,
                class_rate[lossy], net.in_ptr, net.in_arc, net.out_ptr, net.out_arc,
                net.arc_dst, net.arc_metric, ok, carried[:, lossy], state.dist, state.order,
                state.count, state.n_chunks, no_turns, no_turns)[0]
        loads = ecmp_loads.copy()
        np.add.at(loads, (pin.arc, pin_cls), pinned_reach(carried))
        lam = loads / policy.mean_packet_bits[None, :]
    assert queues is not None and carried is not None
    if smooth_arrivals:  # arrival variability (QNA): smoothed by the ports crossed before
        turns = turn_index(net.in_ptr, net.in_arc, net.out_ptr, net.out_arc)
        turn_bps = np.zeros(turns.arc_in.size)
        lossless = bool((carried == 1.0).all())  # one pass for all classes then
        for c in [0] if lossless else range(k):
            demand_rate = rate_ecmp if lossless else class_rate[c]
            if demand_rate.any():
                turn_bps += push_thinned_all(
                    n, net.destinations, net.dest_ptr, net.dest_demand, net.demand_src,
                    demand_rate, net.in_ptr, net.in_arc, net.out_ptr, net.out_arc,
                    net.arc_dst, net.arc_metric, ok, carried[:, c], state.dist, state.order,
                    state.count, state.n_chunks, turns.pair_ptr, turns.in_pos)[1]
        after = np.nonzero(path_follows(pin.ptr))[0]  # turns of the pinned paths
        np.add.at(turn_bps, turns.pair(pin.arc[after - 1], pin.arc[after], net.arc_dst,
                                       net.out_ptr), pinned_reach(carried)[after])
        used = turn_bps > 0
        scv = network_arrival_variability(loads.sum(axis=1), (lam * x).sum(axis=1),
                                          port_service_scv(lam, x, x2), turns.arc_in[used],
                                          turns.arc_out[used], turn_bps[used],
                                          stream_spacing=link_spacing(
                                              cap[turns.arc_in[used]], cap[turns.arc_out[used]]))
        if net.demand_arrivals is not None:  # bursty demands (model field ``arrival``)
            scv = burst_scaled_scv(net, ok, rate_ecmp, policy.mean_packet_bits[pos], scv, lam,
                                   x, x2, policy.buffer_packets)
        queues = evaluate_class_queues(lam, x, x2, policy.scheduler, policy.weights,
                                       policy.buffer_packets, carried, scv)
    t2 = time.perf_counter()
    size_var = np.maximum(policy.packet_second_moment_bits2 - policy.mean_packet_bits ** 2,
                          0.0)
    delay_mean, delay_worst = np.zeros(net.n_demands), np.zeros(net.n_demands)
    jitter, loss = np.zeros(net.n_demands), np.zeros(net.n_demands)
    routed = np.zeros(net.n_demands, bool)
    scratch = [np.empty(net.n_demands) for _ in range(5)]
    flags = np.empty(net.n_demands, bool)
    for c in range(k):
        mine = pos == c
        if not mine.any():
            continue
        arc_delay = net.arc_propagation_s + x[:, c] + queues.waiting_s[:, c]
        # the packet's own transmission times L / C_i share one L: summed as sds (qos.path_totals)
        arc_var = queues.waiting_var_s2[:, c]
        passed = 1.0 - queues.loss[:, c]
        mean, worst, delivered, hops, sig = scratch
        path_metrics_all(n, net.destinations, net.dest_ptr, net.dest_demand, net.demand_src,
                         net.out_ptr, net.out_arc, net.arc_dst, net.arc_metric, ok, arc_delay,
                         passed, net.arc_signature, state.dist, state.order, state.count,
                         state.n_chunks, mean, worst, delivered, hops, sig, flags)
        delay_mean[mine], delay_worst[mine] = mean[mine], worst[mine]
        loss[mine] = np.where(flags[mine], 1.0 - delivered[mine], 1.0)
        routed[mine] = flags[mine]
        path_metrics_all(n, net.destinations, net.dest_ptr, net.dest_demand, net.demand_src,
                         net.out_ptr, net.out_arc, net.arc_dst, net.arc_metric, ok, arc_var,
                         passed, net.arc_signature, state.dist, state.order, state.count,
                         state.n_chunks, mean, worst, delivered, hops, sig, flags)
        # variance over the split: mean of the paths' variances plus the spread of their means
        spread = (delay_worst[mine] - delay_mean[mine]) ** 2 / 4.0
        variance = np.maximum(mean[mine], 0.0) + spread
        if size_var[c] <= 0:  # one packet size: transmission times do not vary
            jitter[mine] = np.sqrt(variance)
            continue
        path_metrics_all(n, net.destinations, net.dest_ptr, net.dest_demand, net.demand_src,
                         net.out_ptr, net.out_arc, net.arc_dst, net.arc_metric, ok,
                         np.sqrt(size_var[c]) / cap, passed, net.arc_signature, state.dist,
                         state.order, state.count, state.n_chunks, mean, worst, delivered, hops,
                         sig, flags)
        jitter[mine] = np.sqrt(variance + mean[mine] ** 2)
    if pin.demand.size:
        d_pin, var_pin, loss_pin = path_totals(
            pin_owner, pin.demand.size,
            net.arc_propagation_s[pin.arc] + x[pin.arc, pin_cls]
            + queues.waiting_s[pin.arc, pin_cls],
            queues.waiting_var_s2[pin.arc, pin_cls], 1.0 - queues.loss[pin.arc, pin_cls],
            np.sqrt(size_var[pin_cls]) / cap[pin.arc])
        delay_mean[pin.demand] = np.where(pin_ok, d_pin, np.inf)
        delay_worst[pin.demand] = delay_mean[pin.demand]
        jitter[pin.demand] = np.where(pin_ok, np.sqrt(var_pin), np.nan)
        loss[pin.demand] = np.where(pin_ok, loss_pin, 1.0)
        routed[pin.demand] = pin_ok
    t3 = time.perf_counter()
    timings.update(routing_s=t1 - t0, queueing_s=t2 - t1, path_metrics_s=t3 - t2,
                   threads=float(numba.get_num_threads()))
    return ClassResult(policy.priority, loads, queues.waiting_s, queues.loss, pos, routed,
                       delay_mean, delay_worst, jitter, loss,
                       service_report(net, delay_worst, loss, routed), timings)
