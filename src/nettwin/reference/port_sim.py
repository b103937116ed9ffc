"""One output port simulated packet by packet: the oracle for the per-class queue formulas.

Classes arrive as independent Poisson streams with their own packet sizes, wait in their own
FIFO buffer (``buffer_packets`` waiting places; the packet being sent does not take one) and
are picked, non-preemptively, by one of:

* ``FIFO``: the oldest packet of any class (one shared order, per-class buffers).
* ``SP``: the first non-empty class.
* ``WFQ``: virtual clock — each admitted packet is stamped max(arrival, previous stamp of
  its class) + size / (weight x capacity); the smallest stamp goes first.
* ``DRR``: deficit round robin (Shreedhar & Varghese): the classes with packets take turns
  in the order they became active; each turn adds the class's quantum to its deficit and
  sends packets while the head packet fits; a class that empties leaves the round and loses
  its deficit.

``simulate_fifo_port``: one FIFO port with a DropTail buffer fed by Poisson and on-off
(interrupted Poisson) streams, each with its own size law: the oracle for the bursty model's
single-port wait and loss (``engine.arrivals``), where ns-3 runs are too coarse to isolate one
effect.

Slow on purpose (a plain event loop) and small: it exists to be obviously right.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from nettwin.engine.qos import Scheduler


@dataclass(frozen=True)
class PortRun:
    waiting_s: np.ndarray  # mean time in the buffer of the delivered packets, per class
    loss: np.ndarray  # dropped / offered, per class
    delivered: np.ndarray  # packets counted, per class


def simulate_port(rate_pps: list[float], sizes_bits: list[list[float]], capacity_bps: float,
                  scheduler: Scheduler, *, weights: list[float] | None = None,
                  quantum_bits: list[float] | None = None, buffer_packets: int = 1_000_000,
                  packets: int = 100_000, warmup: float = 0.1, seed: int = 1,
                  wfq_clock: str = "real") -> PortRun:
    """Simulate about ``packets`` arrivals; sizes are drawn uniformly from each class's list.
    ``wfq_clock``: the time WFQ stamps start from (see ``_WfqClock``)."""
    rng = np.random.default_rng(seed)
    horizon = packets / sum(rate_pps)
    arrivals = _poisson_arrivals(rate_pps, sizes_bits, horizon, rng)
    arrivals.sort()
    return _run_port(arrivals, len(rate_pps), capacity_bps, scheduler, weights, quantum_bits,
                     buffer_packets, warmup * horizon, wfq_clock)


def _poisson_arrivals(rate_pps: list[float], sizes_bits: list[list[float]], horizon: float,
                      rng: np.random.Generator) -> list[tuple[float, int, float]]:
    """(time, class, size) of Poisson arrivals per class over ``horizon``, unsorted."""
    arrivals: list[tuple[float, int, float]] = []
    for c, lam in enumerate(rate_pps):
        k = rng.poisson(lam * horizon) if lam > 0 else 0
        times = rng.uniform(0.0, horizon, k)
        sizes = rng.choice(np.asarray(sizes_bits[c], dtype=float), k)
        arrivals += zip(times.tolist(), [c] * k, sizes.tolist(), strict=True)
    return arrivals


def _run_port(arrivals: list[tuple[float, int, float]], classes: int, capacity_bps: float,
              scheduler: Scheduler, weights: list[float] | None,
              quantum_bits: list[float] | None, buffer_packets: int, start: float,
              wfq_clock: str, departures: list[tuple[float, int, float]] | None = None
              ) -> PortRun:
    """One port over time-ordered (time, class, size) arrivals; packets that arrive before
    ``start`` are served but not counted. ``departures``: where given, each sent packet's
    (time its last bit leaves, class, size) is appended to it."""
    w = weights or [1.0 / classes] * classes
    quantum = quantum_bits or [1.0] * classes
    queues: list[deque[tuple[float, float, float]]] = [deque() for _ in range(classes)]
    last_stamp = [0.0] * classes
    active: deque[int] = deque()
    deficit = [0.0] * classes
    turn: int | None = None
    wait_sum, counted = np.zeros(classes), np.zeros(classes)
    offered, dropped = np.zeros(classes), np.zeros(classes)
    now, i, n = 0.0, 0, len(arrivals)
    clock = _WfqClock(wfq_clock, w, capacity_bps)
    while i < n or any(queues):
        while i < n and arrivals[i][0] <= now:
            t, c, size = arrivals[i]
            i += 1
            late = t >= start
            offered[c] += late
            if len(queues[c]) >= buffer_packets:
                dropped[c] += late
                continue
            stamp = max(clock.at(t), last_stamp[c]) + size / (w[c] * capacity_bps)
            last_stamp[c] = stamp
            clock.arrive(c, stamp)
            if not queues[c] and c not in active:
                active.append(c)
                deficit[c] = 0.0
            queues[c].append((t, size, stamp))
        if not any(queues):
            now = arrivals[i][0]
            continue
        if scheduler == Scheduler.SP:
            c = next(k for k in range(classes) if queues[k])
        elif scheduler == Scheduler.FIFO:
            c = min((k for k in range(classes) if queues[k]), key=lambda k: queues[k][0][0])
        elif scheduler == Scheduler.WFQ:
            c = min((k for k in range(classes) if queues[k]), key=lambda k: queues[k][0][2])
        else:  # DRR
            while True:
                if turn is None:
                    turn = active[0]
                    deficit[turn] += quantum[turn]
                if queues[turn][0][1] <= deficit[turn]:
                    c = turn
                    break
                active.rotate(-1)
                turn = None
            deficit[c] -= queues[c][0][1]
        t, size, stamp = queues[c].popleft()
        clock.serve(stamp)
        if t >= start:
            wait_sum[c] += now - t
            counted[c] += 1
        now += size / capacity_bps
        if departures is not None:
            departures.append((now, c, size))
        if scheduler == Scheduler.DRR and not queues[c]:
            deficit[c] = 0.0
            active.remove(c)
            turn = None
    return PortRun(wait_sum / np.maximum(counted, 1), dropped / np.maximum(offered, 1),
                   counted)


class _WfqClock:
    """The time a WFQ stamp starts from: ``real`` (virtual clock: the arrival time),
    ``scfq`` (self-clocked fair queueing, Golestani 1994: the stamp of the packet in service
    or, the port idle, of the last one sent) or ``gps`` (PGPS, Parekh & Gallager 1993: GPS's
    virtual time, which runs at C / the weight of the classes GPS has backlogged)."""

    def __init__(self, kind: str, weights: list[float], capacity_bps: float) -> None:
        if kind not in ("real", "scfq", "gps"):
            raise ValueError(f"wfq_clock {kind!r}: real, scfq or gps")
        self.kind, self.w = kind, weights
        self.serving = 0.0  # scfq: stamp of the packet last sent
        self.v, self.t = 0.0, 0.0  # gps: virtual time at real time t
        self.last = [0.0] * len(weights)  # gps: last stamp of each class (its GPS backlog)

    def at(self, t: float) -> float:
        if self.kind == "real":
            return t
        if self.kind == "scfq":
            return self.serving
        while True:  # advance GPS's virtual time to t, class by class as their backlog ends
            busy = [k for k, f in enumerate(self.last) if f > self.v]
            if not busy:
                self.t = t
                return self.v
            rate = 1.0 / sum(self.w[k] for k in busy)  # dV/dt in units of 1 / capacity
            end = min(self.last[k] for k in busy)
            if self.v + rate * (t - self.t) <= end:
                self.v += rate * (t - self.t)
                self.t = t
                return self.v
            self.t += (end - self.v) / rate
            self.v = end

    def arrive(self, c: int, stamp: float) -> None:
        self.last[c] = stamp

    def serve(self, stamp: float) -> None:
        self.serving = stamp


def simulate_smoothed_port(through_pps: list[float], local_pps: list[float],
                           sizes_bits: list[float], capacity_bps: float, scheduler: Scheduler,
                           *, weights: list[float] | None = None, packets: int = 200_000,
                           warmup: float = 0.1, seed: int = 1) -> PortRun:
    """Per-class traffic that crossed a FIFO port first (``through_pps`` per class, Poisson
    into that port, unlimited buffer, the same capacity) joined by Poisson ``local_pps``,
    all into one port scheduled by ``scheduler``: the oracle for per-class waits under
    arrivals smoother than Poisson. Returns the second port's run."""
    rng = np.random.default_rng(seed)
    classes = len(through_pps)
    horizon = packets / (sum(through_pps) + sum(local_pps))
    first = sorted(_poisson_arrivals(through_pps, [sizes_bits] * classes, horizon, rng))
    arrivals: list[tuple[float, int, float]] = []
    free_at = 0.0
    for t, c, size in first:  # FIFO, Lindley: the packet leaves when sent
        free_at = max(t, free_at) + size / capacity_bps
        arrivals.append((free_at, c, size))
    arrivals += _poisson_arrivals(local_pps, [sizes_bits] * classes, horizon, rng)
    arrivals.sort()
    return _run_port(arrivals, classes, capacity_bps, scheduler, weights, None, 1_000_000,
                     warmup * horizon, "real")


def simulate_port_pair(first_pps: list[float], through_share: list[float],
                       local_pps: list[float], capacity_bps: tuple[float, float],
                       schedulers: tuple[Scheduler, Scheduler], *,
                       weights: tuple[list[float], list[float]],
                       quantum_bits: tuple[list[float] | None, list[float] | None] = (None, None),
                       buffer_packets: tuple[int, int] = (1_000_000, 1_000_000),
                       sizes_bits: list[float] | None = None, packets: int = 200_000,
                       warmup: float = 0.1, seed: int = 1) -> tuple[PortRun, PortRun]:
    """Two per-class ports in a row: Poisson ``first_pps`` per class into the first; the
    share ``through_share`` of each class's departures (each packet drawn alone) goes on to
    the second, joined there by Poisson ``local_pps``. The oracle for the waits behind a
    scheduled port (a DRR port with a saturated class sends a polled class in turns, not
    as a smoothed renewal stream). Returns both ports' runs."""
    rng = np.random.default_rng(seed)
    classes = len(first_pps)
    sizes = [sizes_bits or [300.0, 1700.0]] * classes
    horizon = packets / (sum(first_pps) + sum(local_pps))
    first = sorted(_poisson_arrivals(first_pps, sizes, horizon, rng))
    sent: list[tuple[float, int, float]] = []
    run1 = _run_port(first, classes, capacity_bps[0], schedulers[0], weights[0],
                     quantum_bits[0], buffer_packets[0], warmup * horizon, "real", sent)
    keep = rng.uniform(size=len(sent)) < np.asarray(through_share)[[c for _, c, _ in sent]]
    arrivals = [d for d, k in zip(sent, keep.tolist(), strict=True) if k]
    arrivals += _poisson_arrivals(local_pps, sizes, horizon, rng)
    arrivals.sort()
    run2 = _run_port(arrivals, classes, capacity_bps[1], schedulers[1], weights[1],
                     quantum_bits[1], buffer_packets[1], 2 * warmup * horizon, "real")
    return run1, run2


def simulate_tandem(capacity_bps: tuple[float, float], through_pps: float, local_pps: float,
                    sizes_bits: list[float], *, packets: int = 300_000, warmup: float = 0.1,
                    seed: int = 1) -> float:
    """Two FIFO ports in a row, unlimited buffers: a Poisson stream crosses both, a second
    one joins at the second port. Returns the mean wait in the second port's buffer — where
    the first port's departures, smoother than Poisson, arrive."""
    rng = np.random.default_rng(seed)
    horizon = packets / (through_pps + local_pps)
    sizes = np.asarray(sizes_bits, dtype=float)
    k1 = rng.poisson(through_pps * horizon)
    arrive = np.sort(rng.uniform(0.0, horizon, k1))
    size1 = rng.choice(sizes, k1)
    depart = np.empty(k1)
    free_at = 0.0
    for i in range(k1):  # Lindley: each packet starts when it has arrived and the port is free
        free_at = max(arrive[i], free_at) + size1[i] / capacity_bps[0]
        depart[i] = free_at
    k2 = rng.poisson(local_pps * horizon)
    times = np.concatenate([depart, np.sort(rng.uniform(0.0, horizon, k2))])
    size = np.concatenate([size1, rng.choice(sizes, k2)])
    order = np.argsort(times, kind="stable")
    times, size = times[order], size[order]
    wait = np.empty(times.size)
    free_at = 0.0
    for i in range(times.size):
        start = max(times[i], free_at)
        wait[i] = start - times[i]
        free_at = start + size[i] / capacity_bps[1]
    return float(wait[times >= warmup * horizon].mean())


@dataclass(frozen=True)
class Stream:
    """One stream into a port: Poisson at ``rate_pps`` or, with ``on_s`` and ``off_s``, an
    interrupted Poisson source (exponential on and off periods, Poisson at the peak
    ``rate_pps x (on + off) / on`` while on, so ``rate_pps`` is its long-run mean). Sizes
    are drawn from ``sizes_bits`` with ``probs``; ``exponential_bits`` > 0 draws them
    exponential with that mean instead."""

    rate_pps: float
    sizes_bits: tuple[float, ...] = (8000.0,)
    probs: tuple[float, ...] = (1.0,)
    on_s: float = 0.0
    off_s: float = 0.0
    exponential_bits: float = 0.0


@dataclass(frozen=True)
class FifoRun:
    waiting_s: float  # mean time in the buffer of the admitted packets
    loss: float  # dropped / offered
    stream_waiting_s: np.ndarray  # per stream, admitted packets


def _stream_times(s: Stream, horizon_s: float, rng: np.random.Generator) -> np.ndarray:
    if s.on_s <= 0.0:
        return rng.uniform(0.0, horizon_s, rng.poisson(s.rate_pps * horizon_s))
    peak = s.rate_pps * (s.on_s + s.off_s) / s.on_s
    t, on = 0.0, bool(rng.random() < s.on_s / (s.on_s + s.off_s))  # stationary start
    parts: list[np.ndarray] = []
    while t < horizon_s:
        dur = float(rng.exponential(s.on_s if on else s.off_s))
        if on:
            parts.append(t + rng.uniform(0.0, dur, rng.poisson(peak * dur)))
        t, on = t + dur, not on
    times = np.concatenate(parts) if parts else np.zeros(0)
    return times[times < horizon_s]


def _draw_sizes(s: Stream, n: int, rng: np.random.Generator) -> np.ndarray:
    if s.exponential_bits > 0:
        return rng.exponential(s.exponential_bits, n)
    return rng.choice(np.asarray(s.sizes_bits), n, p=np.asarray(s.probs))


def fifo_pass(arrive: np.ndarray, service_s: np.ndarray, system_packets: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """One FIFO port over time-ordered arrivals: each packet's wait and departure (NaN:
    dropped, the buffer held ``system_packets``)."""
    in_system: deque[float] = deque()  # departure times of the packets in the system
    wait = np.full(arrive.size, np.nan)
    leave = np.full(arrive.size, np.nan)
    free_at = 0.0
    for n, (a, x) in enumerate(zip(arrive.tolist(), service_s.tolist(), strict=True)):
        while in_system and in_system[0] <= a:
            in_system.popleft()
        if len(in_system) >= system_packets:
            continue
        start = max(a, free_at)
        wait[n] = start - a
        free_at = start + x
        leave[n] = free_at
        in_system.append(free_at)
    return wait, leave


def _summarise(arrive: np.ndarray, wait: np.ndarray, who: np.ndarray, streams: int,
               start_s: float) -> FifoRun:
    late = arrive >= start_s
    kept = late & ~np.isnan(wait)
    per = np.array([wait[kept & (who == i)].mean() if (kept & (who == i)).any() else 0.0
                    for i in range(streams)])
    return FifoRun(float(wait[kept].mean()), float(1.0 - kept.sum() / max(late.sum(), 1)), per)


def simulate_fifo_port(streams: list[Stream], capacity_bps: float, system_packets: int,
                       horizon_s: float, *, warmup: float = 0.05, seed: int = 1) -> FifoRun:
    """One FIFO port, packet by packet, with a DropTail buffer of ``system_packets`` in the
    system (the one being sent included, ns-3's queue + 1): an arrival that finds it full
    is dropped. Packets that arrive in the first ``warmup`` share of the horizon are not
    counted."""
    rng = np.random.default_rng(seed)
    times = [_stream_times(s, horizon_s, rng) for s in streams]
    sizes = [_draw_sizes(s, t.size, rng) for s, t in zip(streams, times, strict=True)]
    order = np.argsort(np.concatenate(times), kind="stable")
    arrive = np.concatenate(times)[order]
    who = np.concatenate([np.full(t.size, i) for i, t in enumerate(times)])[order]
    wait, _ = fifo_pass(arrive, np.concatenate(sizes)[order] / capacity_bps, system_packets)
    return _summarise(arrive, wait, who, len(streams), warmup * horizon_s)


def simulate_tandem_ports(capacity_bps: tuple[float, float], through: Stream, local: Stream,
                          system_packets: int, horizon_s: float, *, warmup: float = 0.05,
                          seed: int = 1, cross: Stream | None = None,
                          first_system_packets: int | None = None) -> FifoRun:
    """Two FIFO ports in a row: ``through`` crosses both (an unlimited buffer at the first,
    or ``first_system_packets``), ``cross`` (optional) shares the first port and leaves
    there, ``local`` joins at the second, which holds ``system_packets``. Packets keep their
    size from port to port (as on a real path; ``simulate_tandem`` above is the same
    without losses). Returns the second port's wait and loss (stream 0 through, 1 local)."""
    rng = np.random.default_rng(seed)
    t_through = np.sort(_stream_times(through, horizon_s, rng))
    s_through = _draw_sizes(through, t_through.size, rng)
    if cross is None:
        _, leave = fifo_pass(t_through, s_through / capacity_bps[0],
                              first_system_packets or t_through.size + 1)
    t_local = _stream_times(local, horizon_s, rng)
    s_local = _draw_sizes(local, t_local.size, rng)
    if cross is not None:  # drawn after the others: runs without it stay as they were
        t_cross = _stream_times(cross, horizon_s, rng)
        s_cross = _draw_sizes(cross, t_cross.size, rng)
        at = np.concatenate([t_through, t_cross])
        mine = np.concatenate([np.ones(t_through.size, bool), np.zeros(t_cross.size, bool)])
        order = np.argsort(at, kind="stable")
        _, out = fifo_pass(at[order], np.concatenate([s_through, s_cross])[order]
                            / capacity_bps[0], first_system_packets or at.size + 1)
        leave = np.empty(at.size)
        leave[order] = out
        leave = leave[mine]
    kept = ~np.isnan(leave)  # dropped at the first port: never reach the second
    leave, s_kept = leave[kept], s_through[kept]
    arrive = np.concatenate([leave, t_local])
    order = np.argsort(arrive, kind="stable")
    who = np.concatenate([np.zeros(leave.size, int), np.ones(t_local.size, int)])[order]
    wait, _ = fifo_pass(arrive[order], np.concatenate([s_kept, s_local])[order]
                         / capacity_bps[1], system_packets)
    return _summarise(arrive[order], wait, who, 2, warmup * horizon_s)
