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

import numba
import numpy as np

from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.qos import (
    DAMP,
    Scheduler,
    arrival_variability,
    evaluate_class_queues,
    port_service_scv,
)
from nettwin.engine.queueing import IMIX_MEAN_PACKET_BYTES, IMIX_PACKET_SCV
from nettwin.engine.routing import (
    path_metrics_all,
    push_thinned_all,
    turn_index,
    turn_loads_all,
)
from nettwin.engine.simulate import ServiceReport, route, service_report
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


def simulate_classes(net: CompiledNetwork, policy: ClassPolicy, *,
                     arc_up: np.ndarray | None = None,
                     demand_rate_bps: np.ndarray | None = None, rounds: int = 12,
                     smooth_arrivals: bool = True) -> ClassResult:
    """Route every class (ECMP), queue per class and port, report per demand and service.
    ``smooth_arrivals=False`` takes every port's arrivals as Poisson (no QNA)."""
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
    # one routing pass per class present; distances and settle orders are the same for all
    loads = np.zeros((m, k))
    state = None
    for c in range(k):
        mine = pos == c
        if mine.any():
            st = route(net, ok, np.where(mine, rate, 0.0))
            loads[:, c] = st.load_bps
            state = state or st
    if state is None:  # no demands at all
        state = route(net, ok, rate)
    t1 = time.perf_counter()
    cap = net.arc_capacity_bps
    lam = loads / policy.mean_packet_bits[None, :]
    x = policy.mean_packet_bits[None, :] / cap[:, None]
    x2 = policy.packet_second_moment_bits2[None, :] / cap[:, None] ** 2
    carried = None
    queues = None
    class_rate = [np.where(pos == c, rate, 0.0) for c in range(k)]
    # arrival variability (QNA): traffic smoothed by the ports it crossed before
    scv = None
    if smooth_arrivals:
        turns = turn_index(net.in_ptr, net.in_arc, net.out_ptr, net.out_arc)
        turn_bps = turn_loads_all(n, net.destinations, net.dest_ptr, net.dest_demand,
                                  net.demand_src, rate, net.in_ptr, net.in_arc, net.out_ptr,
                                  net.out_arc, net.arc_dst, net.arc_metric, ok, state.dist,
                                  state.order, state.count, state.n_chunks, turns.pair_ptr,
                                  turns.in_pos)
        used = turn_bps > 0
        scv = arrival_variability(loads.sum(axis=1), (lam * x).sum(axis=1),
                                  port_service_scv(lam, x, x2), turns.arc_in[used],
                                  turns.arc_out[used], turn_bps[used])
    for r in range(max(1, rounds)):
        queues = evaluate_class_queues(lam, x, x2, policy.scheduler, policy.weights,
                                       policy.buffer_packets, carried, scv)
        new = 1.0 - queues.loss
        settled = carried is not None and np.abs(new - carried).max() < 1e-6
        carried = new if carried is None else DAMP * carried + (1.0 - DAMP) * new
        if r == max(1, rounds) - 1 or settled or not (queues.loss > 1e-12).any():
            break
        # what a lossy port drops never reaches the ports after it
        for lossy in np.nonzero((queues.loss > 1e-12).any(axis=0))[0].tolist():
            loads[:, lossy] = push_thinned_all(
                n, net.destinations, net.dest_ptr, net.dest_demand, net.demand_src,
                class_rate[lossy], net.out_ptr, net.out_arc, net.arc_dst, net.arc_metric, ok,
                carried[:, lossy], state.dist, state.order, state.count, state.n_chunks)
            lam[:, lossy] = loads[:, lossy] / policy.mean_packet_bits[lossy]
    assert queues is not None
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
        arc_var = queues.waiting_var_s2[:, c] + size_var[c] / cap ** 2
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
        jitter[mine] = np.sqrt(np.maximum(mean[mine], 0.0) + spread)
    t3 = time.perf_counter()
    timings.update(routing_s=t1 - t0, queueing_s=t2 - t1, path_metrics_s=t3 - t2,
                   threads=float(numba.get_num_threads()))
    return ClassResult(policy.priority, loads, queues.waiting_s, queues.loss, pos, routed,
                       delay_mean, delay_worst, jitter, loss,
                       service_report(net, delay_worst, loss, routed), timings)
