"""One scenario, end to end: ECMP routing, arc loads, queueing, per-demand and per-service KPIs.

``simulate`` is pure: it reads a CompiledNetwork and optional deltas (arcs down, other
demand rates) and returns a new SimulationResult. Nothing is written into the network.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nettwin.engine.arrivals import bursty_arc_queues
from nettwin.engine.bursts import demand_bursts
from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.options import ArrivalModel, QueueModel
from nettwin.engine.options import SimulationOptions as SimulationOptions  # noqa: PLC0414
from nettwin.engine.path_metrics import path_metrics_all
from nettwin.engine.queueing import ArcQueues, evaluate_queues
from nettwin.engine.routing import dag_words, push_columns, route_all
from nettwin.engine.threads import engine_threads
from nettwin.errors import SimulationError


@dataclass(frozen=True, eq=False)
class ServiceReport:
    """Per-service SLA outcome (arrays over the network's services)."""

    ids: tuple[str, ...]
    worst_delay_s: np.ndarray
    worst_loss: np.ndarray
    unroutable_demands: np.ndarray
    delay_violated: np.ndarray
    loss_violated: np.ndarray

    @property
    def violated(self) -> np.ndarray:
        violated: np.ndarray = (self.delay_violated | self.loss_violated
                                | (self.unroutable_demands > 0))
        return violated


@dataclass(frozen=True, eq=False)
class DemandOutcome:
    """Per-demand results of one scenario (arrays over the CompiledNetwork's demands)."""

    routed: np.ndarray
    delay_mean_s: np.ndarray
    delay_worst_s: np.ndarray
    loss: np.ndarray
    hops_mean: np.ndarray
    path_signature: np.ndarray
    services: ServiceReport


class PathMetrics:
    """Pass 2 of a scenario (per-demand delay, loss, hops over the ECMP split), run when a
    per-demand field is first read: a caller that wants loads and utilisation only (an
    optimiser, a sweep's full recomputation) never pays for a million demands' paths. The
    routing state it needs is dropped once the result exists."""

    __slots__ = ("_inputs", "_lock", "_outcome", "_timings")

    def __init__(self, inputs: tuple[Any, ...], timings: dict[str, float]) -> None:
        self._inputs: tuple[Any, ...] | None = inputs
        self._outcome: DemandOutcome | None = None
        self._timings = timings
        self._lock = threading.Lock()

    def get(self) -> DemandOutcome:
        if self._outcome is None:
            with self._lock:
                if self._outcome is None:
                    assert self._inputs is not None
                    t = time.perf_counter()
                    self._outcome = demand_outcome(*self._inputs)
                    self._timings["path_metrics_s"] = time.perf_counter() - t
                    self._inputs = None
        return self._outcome

    @property
    def done(self) -> bool:
        return self._outcome is not None

    def __getstate__(self) -> dict[str, Any]:
        return {"outcome": self.get(), "timings": self._timings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._inputs = None
        self._outcome = state["outcome"]
        self._timings = state["timings"]
        self._lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Everything one scenario produced, as arrays indexed like the CompiledNetwork."""

    options: SimulationOptions
    arc_load_bps: np.ndarray
    arc_capacity_bps: np.ndarray
    arc_utilisation: np.ndarray
    arc_transmission_s: np.ndarray
    arc_queueing_s: np.ndarray
    arc_delay_s: np.ndarray  # propagation + transmission + queueing
    arc_loss: np.ndarray
    arc_overloaded: np.ndarray
    arc_up: np.ndarray
    demand_rate_bps: np.ndarray
    paths: PathMetrics  # per-demand delay, loss, hops: computed on first read
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def demand_routed(self) -> np.ndarray:
        return self.paths.get().routed

    @property
    def demand_delay_mean_s(self) -> np.ndarray:
        return self.paths.get().delay_mean_s

    @property
    def demand_delay_worst_s(self) -> np.ndarray:
        return self.paths.get().delay_worst_s

    @property
    def demand_loss(self) -> np.ndarray:
        return self.paths.get().loss

    @property
    def demand_hops_mean(self) -> np.ndarray:
        return self.paths.get().hops_mean

    @property
    def demand_path_signature(self) -> np.ndarray:
        """Equal before/after: same paths, same split."""
        return self.paths.get().path_signature

    @property
    def services(self) -> ServiceReport:
        return self.paths.get().services

    @property
    def offered_bps(self) -> float:
        return float(self.demand_rate_bps.sum())

    @property
    def unroutable_bps(self) -> float:
        return float(self.demand_rate_bps[~self.demand_routed].sum())

    @property
    def lost_bps(self) -> float:
        """Traffic routed but dropped in queues (estimate: per-demand loss x rate)."""
        r = self.demand_routed
        return float((self.demand_rate_bps[r] * self.demand_loss[r]).sum())

    def kpis(self) -> dict[str, Any]:
        """Headline figures of the scenario."""
        util = np.where(self.arc_up, self.arc_utilisation, 0.0)
        r = self.demand_routed
        rate = self.demand_rate_bps
        weights = rate[r]
        mean_delay = (float(np.average(self.demand_delay_mean_s[r], weights=weights))
                      if weights.sum() > 0 else 0.0)
        out: dict[str, Any] = {
            "offered_bps": self.offered_bps,
            "routed_bps": self.offered_bps - self.unroutable_bps,
            "unroutable_bps": self.unroutable_bps,
            "unroutable_demands": int((~r).sum()),
            "queue_lost_bps": self.lost_bps,
            "max_utilisation": float(util.max()) if util.size else 0.0,
            "mean_utilisation": float(util[self.arc_up].mean()) if self.arc_up.any() else 0.0,
            "overloaded_arcs": int((self.arc_overloaded & self.arc_up).sum()),
            "mean_delay_s": mean_delay,
            "max_worst_delay_s": float(self.demand_delay_worst_s[r].max()) if r.any() else 0.0,
            "services": len(self.services.ids),
            "services_violated": int(self.services.violated.sum()),
        }
        for th in self.options.utilisation_thresholds:
            over = util > th
            out[f"arcs_above_{th:g}"] = int(over.sum())
            out[f"load_on_arcs_above_{th:g}_bps"] = float(self.arc_load_bps[over].sum())
        return out


def service_report(net: CompiledNetwork, worst: np.ndarray, loss: np.ndarray,
                   routed: np.ndarray) -> ServiceReport:
    """Per service: the worst delay of its routed demands (inf when none is routed), the
    worst loss and the demands it cannot route. Segment reductions over the members in one
    pass each, not a Python loop over the services (thousands of per-customer SLAs)."""
    ptr = net.service_ptr
    s = len(net.service_ids)
    worst_delay = np.full(s, np.inf)
    worst_loss = np.zeros(s)
    unroutable = np.zeros(s, np.int64)
    filled = np.flatnonzero(ptr[1:] > ptr[:-1])  # services with members
    if filled.size:
        members = net.service_demand[ptr[0]:ptr[-1]]
        starts = ptr[filled] - ptr[0]
        ok = routed[members]
        unroutable[filled] = np.add.reduceat((~ok).astype(np.int64), starts)
        delay = np.maximum.reduceat(np.where(ok, worst[members], -np.inf), starts)
        any_ok = unroutable[filled] < np.diff(ptr)[filled]
        worst_delay[filled] = np.where(any_ok, delay, np.inf)
        worst_loss[filled] = np.maximum.reduceat(loss[members], starts)
    return ServiceReport(net.service_ids, worst_delay, worst_loss, unroutable,
                         worst_delay > net.service_max_delay_s, worst_loss > net.service_max_loss)


@dataclass(frozen=True, eq=False)
class RoutingState:
    """Per-destination routing of one scenario: what pass 2 and incremental sweeps reuse."""

    load_bps: np.ndarray  # float64[m]
    dist: np.ndarray  # int64[destinations, n]
    order: np.ndarray  # int32[destinations, n]; settled nodes, nearest first
    count: np.ndarray  # int64[destinations]; how many nodes reach each destination
    flow: np.ndarray  # float64[destinations, n] or empty: traffic each node forwards
    n_chunks: int
    dag_bits: np.ndarray  # uint64[destinations, dag_words(m)] or empty: each DAG's arcs


def route(net: CompiledNetwork, arc_up: np.ndarray, demand_rate_bps: np.ndarray,
          *, keep_flow: bool = False, keep_dag: bool = False) -> RoutingState:
    """ECMP routing of every destination (pass 1): distances, settle order, arc loads;
    with ``keep_flow`` each node's traffic per destination, with ``keep_dag`` the DAGs."""
    n, n_dest = net.n_nodes, int(net.destinations.shape[0])
    n_chunks = max(1, min(n_dest, 4 * engine_threads()))
    dist_all = np.empty((n_dest, n), np.int64)
    order_all = np.empty((n_dest, n), np.int32)
    count_all = np.zeros(n_dest, np.int64)
    flow_all = np.empty((n_dest, n)) if keep_flow else np.zeros((0, 0))
    bits = (np.empty((n_dest, dag_words(net.n_arcs)), np.uint64) if keep_dag
            else np.zeros((0, 0), np.uint64))
    load = route_all(n, net.destinations, net.dest_ptr, net.dest_demand, net.demand_src,
                     demand_rate_bps, net.in_ptr, net.in_arc, net.out_ptr, net.out_arc,
                     net.arc_src, net.arc_dst, net.arc_metric, arc_up, n_chunks, dist_all,
                     order_all, count_all, flow_all, bits)
    return RoutingState(load, dist_all, order_all, count_all, flow_all, n_chunks, bits)


def only_destinations_of(net: CompiledNetwork, demands: np.ndarray) -> CompiledNetwork:
    """``net`` routing only the destinations that some demand in ``demands`` (a mask) goes
    to, with all their demands: what the bursty moments need (a few bursty demands among
    many Poisson ones route a few trees, not all of them)."""
    counts = np.diff(net.dest_ptr)
    entry_dest = np.repeat(np.arange(counts.size), counts)  # each dest_demand entry's
    hit = np.zeros(counts.size, bool)
    hit[entry_dest[demands[net.dest_demand]]] = True
    if hit.all():
        return net
    keep = np.flatnonzero(hit)
    return dataclasses.replace(
        net, destinations=net.destinations[keep],
        dest_ptr=np.concatenate([[0], np.cumsum(counts[keep])]).astype(net.dest_ptr.dtype),
        dest_demand=net.dest_demand[hit[entry_dest]])


def queue_arcs(net: CompiledNetwork, options: SimulationOptions, load_bps: np.ndarray,
               arcs: np.ndarray | None = None) -> tuple[ArcQueues, np.ndarray]:
    """Queueing outcome and total delay (propagation + transmission + queueing) per arc,
    for all arcs or only ``arcs`` (then ``load_bps`` holds their loads)."""
    sel = slice(None) if arcs is None else arcs
    own = net.arc_buffer_packets[sel]
    buffers = np.where(own > 0, own, options.default_buffer_packets)
    q = evaluate_queues(load_bps, net.arc_capacity_bps[sel], options.queue_model,
                        options.mean_packet_bytes, options.packet_size_scv, buffers)
    return q, net.arc_propagation_s[sel] + q.transmission_s + q.queueing_s


def queue_bursty_arcs(net: CompiledNetwork, options: SimulationOptions, arc_up: np.ndarray,
                      rate: np.ndarray, q: ArcQueues, arc_delay: np.ndarray
                      ) -> tuple[ArcQueues, np.ndarray]:
    """Arcs that carry bursty demands, where ``options`` queue them so: MMPP2/G/1/K on the
    routed rate-process moments (they add over demands like loads, so routing carries
    them); the others keep ``q``."""
    moments = bursty_moments(net, arc_up, rate, 8.0 * options.mean_packet_bytes) \
        if queues_bursts(net, options) else None
    if moments is None:
        return q, arc_delay
    return queue_with_moments(net, options, q, *moments)


def queues_bursts(net: CompiledNetwork, options: SimulationOptions) -> bool:
    """Whether some demands carry arrival processes and ``options`` queue them as such (not
    the textbook model): checked before any per-demand array is made (a what-if's hot
    path)."""
    return options.arrival_model is ArrivalModel.BURSTY and net.demand_arrivals is not None


def bursty_moments(net: CompiledNetwork, arc_up: np.ndarray, rate: np.ndarray,
                   mean_packet_bits: float | np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Per arc, the variance, third central moment and autocovariance area of the rate
    process that the bursty demands at ``rate`` put on it, routed over ``arc_up`` (the
    bursty demands' destinations only); None: every demand Poisson."""
    if net.demand_arrivals is None:
        return None
    bursts = demand_bursts(net.demand_arrivals, rate, mean_packet_bits, net.demand_rate_bps)
    if bursts.is_poisson.all():
        return None
    sub = only_destinations_of(net, ~bursts.is_poisson)
    var, m3, area = (np.where(bursts.is_poisson, 0.0, v) for v in bursts.moments(rate))
    state = route(sub, arc_up, var)  # the variance routed, the other two pushed alike
    out_arc = sub.out_arc
    more = push_columns(state.dist, state.order, state.count, sub.dest_ptr, sub.dest_demand,
                        sub.demand_src, np.stack([m3, area]), sub.out_ptr, out_arc,
                        sub.arc_dst[out_arc], sub.arc_metric[out_arc], arc_up[out_arc])
    return state.load_bps, more[:, 0], more[:, 1]


def queue_bursty_measured(net: CompiledNetwork, options: SimulationOptions, arc_up: np.ndarray,
                          load: np.ndarray, planned_load: np.ndarray, q: ArcQueues,
                          arc_delay: np.ndarray) -> tuple[ArcQueues, np.ndarray]:
    """``queue_bursty_arcs`` for measured arc loads: the bursts' moments routed at the
    planned rates, each arc's scaled by its measured over planned load (variance and
    autocovariance area by its square, the third moment by its cube: the demands on an
    arc taken to move together, each process keeping its shape)."""
    moments = bursty_moments(net, arc_up, net.demand_rate_bps, 8.0 * options.mean_packet_bytes) \
        if queues_bursts(net, options) else None
    if moments is None:
        return q, arc_delay
    s = np.where(planned_load > 0, load / np.where(planned_load > 0, planned_load, 1.0), 0.0)
    var, m3, area = moments
    return queue_with_moments(net, options, q, var * s**2, m3 * s**3, area * s**2)


def queue_with_moments(net: CompiledNetwork, options: SimulationOptions, q: ArcQueues,
                       var: np.ndarray, m3: np.ndarray, area: np.ndarray
                       ) -> tuple[ArcQueues, np.ndarray]:
    """``q`` with the arcs whose rate process has a variance queued as MMPP2/G/1/K (the
    mean their load, the rest these moments)."""
    bits = 8.0 * options.mean_packet_bytes
    hit = np.nonzero(var > 0)[0]
    scv = {QueueModel.MD1: 0.0, QueueModel.MG1: options.packet_size_scv}.get(
        options.queue_model, 1.0)
    own = net.arc_buffer_packets[hit]
    k = np.where(own > 0, own, options.default_buffer_packets) + 1.0
    wait, loss = bursty_arc_queues(q.utilisation[hit] * net.arc_capacity_bps[hit], var[hit],
                                   m3[hit], area[hit], net.arc_capacity_bps[hit], bits, scv, k)
    queueing, lost = q.queueing_s.copy(), q.loss.copy()
    queueing[hit], lost[hit] = wait, loss
    out = ArcQueues(q.utilisation, q.transmission_s, queueing, lost, q.overloaded)
    return out, net.arc_propagation_s + q.transmission_s + queueing


def simulate(
    net: CompiledNetwork,
    options: SimulationOptions | None = None,
    *,
    arc_up: np.ndarray | None = None,
    demand_rate_bps: np.ndarray | None = None,
) -> SimulationResult:
    """Route every demand with ECMP, load the arcs, apply the queueing model, report.

    ``arc_up`` (bool per arc) and ``demand_rate_bps`` (per demand) replace the compiled
    state for this run only: they are how scenarios express failures and traffic changes.
    """
    options = options or SimulationOptions()
    timings: dict[str, float] = {}
    ok = net.arc_up if arc_up is None else np.asarray(arc_up, dtype=bool)
    rate = net.demand_rate_bps if demand_rate_bps is None else np.asarray(
        demand_rate_bps, dtype=np.float64)
    if ok.shape != (net.n_arcs,):
        raise SimulationError(f"arc_up must have one entry per arc ({net.n_arcs}), "
                              f"got shape {ok.shape}")
    if rate.shape != (net.n_demands,):
        raise SimulationError(f"demand_rate_bps must have one entry per demand "
                              f"({net.n_demands}), got shape {rate.shape}")
    # two reductions, no temporary: a NaN fails both comparisons, an infinity one of them
    if rate.size and not (rate.min() >= 0 and rate.max() < np.inf):
        raise SimulationError("demand_rate_bps must be finite and >= 0")

    t0 = time.perf_counter()
    state = route(net, ok, rate, keep_dag=True)
    load = state.load_bps
    t1 = time.perf_counter()
    q, arc_delay = queue_arcs(net, options, load)
    q, arc_delay = queue_bursty_arcs(net, options, ok, rate, q, arc_delay)
    t2 = time.perf_counter()
    timings.update(routing_s=t1 - t0, queueing_s=t2 - t1, path_metrics_s=0.0)
    return SimulationResult(
        options=options,
        arc_load_bps=load, arc_capacity_bps=net.arc_capacity_bps,
        arc_utilisation=q.utilisation, arc_transmission_s=q.transmission_s,
        arc_queueing_s=q.queueing_s, arc_delay_s=arc_delay, arc_loss=q.loss,
        arc_overloaded=q.overloaded, arc_up=ok, demand_rate_bps=rate,
        paths=PathMetrics((net, ok, arc_delay, 1.0 - q.loss, state), timings),
        timings_s=timings,
    )


def demand_outcome(net: CompiledNetwork, ok: np.ndarray, arc_delay: np.ndarray,
                   arc_pass: np.ndarray, state: RoutingState) -> DemandOutcome:
    """Pass 2: every demand's delay, loss and hops over its ECMP split, and the SLAs."""
    k = net.n_demands
    delay_mean = np.empty(k)
    delay_worst = np.empty(k)
    delivered = np.empty(k)
    hops = np.empty(k)
    signature = np.empty(k)
    routed = np.empty(k, bool)
    path_metrics_all(net.n_nodes, net.destinations, net.dest_ptr, net.dest_demand,
                     net.demand_src, net.out_ptr, net.out_arc, net.arc_dst, net.arc_metric, ok,
                     arc_delay, arc_pass, net.arc_signature, state.dist, state.order,
                     state.count, state.n_chunks, delay_mean, delay_worst, delivered, hops,
                     signature, routed, state.dag_bits)
    np.subtract(1.0, delivered, out=delivered)  # now the loss; unroutable demands lose all
    return DemandOutcome(routed, delay_mean, delay_worst, delivered, hops, signature,
                         service_report(net, delay_worst, delivered, routed))
