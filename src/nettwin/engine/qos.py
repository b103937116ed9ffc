"""Per-class queueing: one queue per traffic class and port, scheduled FIFO, strict priority,
WFQ or DRR, with finite buffers; demands on explicit paths; losses thin downstream traffic.

Model (per port, classes c with Poisson arrivals lambda_c, service moments E[S_c], E[S_c^2],
rho_c = lambda_c E[S_c], weights phi_c summing to 1):

* R = sum_j lambda_j E[S_j^2] / 2 over the packets actually served (admitted), the residual
  work of the packet in service (non-preemptive).
* FIFO: every class waits R / (1 - rho), Pollaczek-Khinchine; past 90 % the port's whole
  load is one M/M/1/K (every class loses the same share, waits the same).
* Strict priority (class 0 first): W_c = R / ((1 - s_{c-1}) (1 - s_c)), Cobham's formula,
  s_c the load of classes 0..c.
* WFQ, packets stamped with finish tags against real time (virtual clock: stamp = max(arrival,
  previous stamp of the class) + size / (phi_c C), smallest stamp first; this is how the OMNeT++
  ground truth below behaves, see "Choices"). The stamp of a class-c packet lies D_c after its
  arrival: its size at the weighted rate plus the waiting of a virtual M/G/1 queue served at phi_c
  (load rho_c / phi_c), of mean delta_c = E[S_c] / phi_c + (R_c / phi_c^2) / (1 - rho_c / phi_c),
  R_c = lambda_c E[S_c^2]/2. A class beyond its weight (rho_c >= phi_c) runs its stamps ahead of
  real time without bound: it is served after every class within its weight. Classes beyond their
  weights share what the others leave as GPS would (their stamps move together): water-filling by
  weight; those it serves in full follow each other by rho / phi (Cobham among them), the others
  are saturated, their queue an M/M/1/K on their share (against the packet-by-packet virtual clock
  under overload: losses within 0.006, full-buffer waits within 6 %). Between classes within their
  weights, with the stamps and the age of a queued packet taken as exponential, a queued class-j
  packet is ahead of a class-c arrival with probability 1 - delta_j^2 / ((delta_j +
  delta_c)(delta_j + W_j)), and j's arrivals during the wait overtake for delta_c / (delta_c +
  delta_j) * delta_c W_c / (delta_c + W_c) of it:
      W_c (1 - rho_c - ahead_c) = R + sum_j rho_j (W_j p_jc + overtaking_jc),
  solved by fixed-point iteration. Equal stamps give FIFO exactly; far apart ones Cobham.
  Against a packet-by-packet virtual clock (``reference.port_sim``) the mean error is 7 %
  over random three-class ports (GNNet's one-hop pairs at WFQ ports at load 0.8-1.5 that
  lose nothing, classes within their weight: packet WFQ with Poisson arrivals errs +0.6 to
  +1.4 % with this clock, +3 to +60 % with SCFQ's or GPS's virtual time: ``tools/
  drr_split_vs_packets.py --wfq``). Where the scheduler's turn is coarser than 1.7 mean
  packets (``drr_turn_packets``; GNNet's simulator) the waits move part way toward FIFO's
  (``wfq.coarse_turns``, "Choices").
* DRR: ``engine.drr`` (a GPS view held to Kleinrock's conservation law below saturation,
  round robin's split at equal weights, a polling queue with vacations beside a saturated
  class; its notes give the model, the sources and the choices with their figures).
* Finite buffer: when a class's load on the capacity left to it (1 - I_c, or 1 - the load
  of the classes served strictly before it) passes 0.9, its queue is an M/M/1/K on that
  capacity (K = buffer + 1): waiting by Little's law on admitted packets, loss = blocking.
  Losses on a path thin the traffic seen downstream; a few fixed-point rounds settle it.
* Arrival variability (Whitt's QNA, ``engine.qna``): traffic that crossed a busy
  port arrives smoother than Poisson. A port's departures have squared coefficient of
  variation rho^2 c_s^2 + (1 - rho^2); the stream that takes the share p of them to the next
  port has p c_d^2 + 1 - p; a port's arrivals mix its streams (and its local, Poisson,
  traffic) by rate, c_a^2. The waiting of a queue that is not full scales by
  (c_a^2 + c_s^2) / (1 + c_s^2) (Kingman's form; 1 for Poisson). A full queue's waiting is
  the buffer's and is left alone. Against a packet simulation of two ports in a row
  (``reference.port_sim.simulate_tandem``) this halves the error of the Poisson assumption.
  At a port that a full class keeps busy the others' residual R is not scaled: an arrival
  finds a packet in service however smooth the arrivals (a light class there waits
  E[S^2] / (2 E[S]) whatever its arrivals). NSFNET / GEANT2 even 1.814 / 2.398 -> 1.765 /
  2.310 % (pairs through ports at offered load 1.1-1.5: bias -2.2 -> -1.6 %, MAPE 4.68 ->
  4.14 %, GEANT2 even), jitter unchanged.
  The departures carry their port's own arrival variability, c_d^2 = rho^2 c_s^2 +
  (1 - rho^2) c_a^2 (Whitt 1983, QNA's traffic variability equations, solved by fixed-point
  iteration, ``network_arrival_variability``): a stream smoothed by two busy ports in a row
  is smoother than one smoothed by one. Taking every port's arrivals as Poisson in c_d^2 (one
  pass) gave 2.09 % mean-delay MAPE on NSFNET (GEANT2 held out: 3.70 %); the full equations
  2.085 % (3.645 %). Link spacing (``link_spacing``): a stream that comes on a link no faster
  than the port it enters (C_in <= C_out) drops QNA's busy term rho^2 c_s^2 from its
  departures' variability (its back-to-back packets, spaced by L / C_in, cannot queue behind
  each other at a port that sends each in L / C_out); a faster link keeps the share
  1 - C_out / C_in. Against packet simulations of a FIFO port fed by 1-3 busy upstream
  ports (52 cases, speed ratios 0.25-2.5) the mean |error| of the waiting falls from 14.7 %
  (bias +14 %) to 5.7 % (+2 %). On GNNet it is chosen on the oracle, not on NSFNET, where it
  moves the one-hop WFQ ports below load 0.9 from +0.6..+1.2 % bias to -0.4..+0.2 % but the
  whole from 2.085 % to 2.105 % MAPE (bias +0.2 -> -0.4 %: DRR ports, whose GPS view waits
  too little, were offset by QNA's excess); GEANT2 (held out) 3.645 -> 3.455 %.
  Tried and not taken (NSFNET / GEANT2 even, mean-delay MAPE 1.765 / 2.310 %): a class
  that is polled at a DRR port with a saturated class leaves in its turns, so the port's
  load does not smooth it: its departures at its own load on its turns' capacity, c_d^2 =
  r_c^2 c_s^2 + (1 - r_c^2) c_a^2, mixed into the port streams by rate, 1.768 / 2.312 %; a
  polled class's departures set to c_d^2 = 1 / 3 / 10 (clumps of a round's backlog) 1.772 /
  2.316, 1.801 / 2.347, 1.940 / 2.531 %. GEANT2 even pairs that lost nothing and cross a
  hot DRR port (offered >= 0.95) before their last hop (753 pairs) have bias -10.0 %, MAPE
  14.2 %; c_d^2 = 10 moves them only to -5.4 / 15.0 % while every other pair turns slow:
  their shortfall is not the next ports' arrival variability. QNA per class (streams
  (upstream port, port, class), each class's own mix) 2.146 / 2.496 %: a class split off a
  port's departures keeps their smoothness whole, where the port-wide mix dilutes it.
  Packets agree that a class polled at a hot DRR port is not bursty downstream: it leaves
  in turns at the link rate and the next port waits 5-30 % less than for Poisson arrivals
  (``reference.port_sim.simulate_port_pair``, tests/engine/test_qos.py, io.gnnet's notes).
* Delay variance (jitter) per hop: the waiting time is zero with probability 1 - r and
  roughly exponential otherwise, r the probability that an arrival finds the server busy
  (the port's carried load, whatever the class: non-preemptive), so Var W = W^2 (2 - r) / r
  (the class's own load on the capacity left to it was the first choice of r: 58.6 % jitter
  MAPE on NSFNET against 35.5 %). That is exponential sizes' spread: the sizes' third moment
  sets it (Takacs's M/G/1 second moment, E[W^2] = 2 W^2 + lambda E[S^3] / (3 (1 - rho))), so
  Var W = W^2 (1 + 4/3 kappa (1 - r) / r), kappa = E[S^3] E[S] / E[S^2]^2 of the port's
  packets (3/2 exponential, the default without a third moment; 1.11 for GNNet's two
  equally likely sizes of 300 / 1,700 bits). Jitter MAPE (NSFNET / GEANT2 even) 6.70 / 8.89 %
  -> 5.28 / 7.05 %, through overloaded ports 11.85 / 14.60 -> 11.63 / 14.30 %: the sd was
  5-9 % high for ToS 0 and 1 at ports that are not full. A full finite queue (the M/M/1/K
  above, mean service s = E[S] / (1 - I)): an admitted packet finds n = 0..K-1 ahead with
  probability ~ rho^n and waits their n services, Var W = E[N_a] Var S_eff + Var N_a s^2
  (``queueing.mm1k_admitted_wait_moments``: E[N_a] + Var N_a for exponential services; it was K s^2,
  right only far past capacity: near rho = 1 the queue length is uniform, Var N_a =
  (K^2 - 1) / 12). S_eff, a packet's service on the capacity left to it, is its
  transmission stretched by the interfering classes' work arriving meanwhile (completion
  time): Var S_eff = Var S / f^2 + E[S] I E[S_I^2] / E[S_I] / f^3, f = 1 - I floored at
  ``COMPLETION_FREE_FLOOR`` (chosen on NSFNET). Waiting times at successive hops are taken as
  independent; the demand's own transmission times L / C_i are one L at every hop, so their
  sds add up (``path_totals``). On GNNet (sd of the delay, MAPE, NSFNET / GEANT2 held out,
  compared as the 20 s horizon lets the simulator see them, ``io.gnnet.observed_delay_sd``):
  paths through a port past capacity 24.7 / 25.8 % with K s^2, 15.4 / 17.2 % with the
  M/M/1/K variance, 12.0 / 14.2 % with the completion time; paths without loss or overload,
  own transmission times independent 12.4 / 17.8 %, correlated 5.8 / 6.9 %.

Choices (made on the NSFNET samples of the GNNet 2020 data set; GEANT2 is the unseen topology;
per-pair mean-delay MAPE on NSFNET, delays seen up to the data set's 20 s): WFQ as a GPS-fluid
share like DRR 6.2 %, as strict priority by rho / phi 3.2 %, as the virtual clock above 2.95 %;
with arrival variability 2.6 % (applied to full queues too: 2.8 %); classes beyond their weight
sharing by weight once saturated (rather than strictly by rho / phi) 2.2 %; DRR's saturated
classes at their GPS share 2.16 %, with the turns the others wait behind them 2.09 %.
WFQ with coarse turns (chosen on NSFNET and the even-numbered GEANT2 samples, the odd ones held
out): one-hop WFQ pairs at loads 0.5-0.95 that the simulator lost nothing of err by ToS in a
way that grows with the link rate, as DRR's did before its quantum grew with it (GEANT2 even,
loads 0.5-0.8, bias ToS 0 / 1 / 2: 10 kbit/s +1.8 / -0.3 / -0.1 %, 40 kbit/s -0.4 / -1.8 /
+2.2 %, 100 kbit/s -4.4 / -3.6 / +2.5 %): on faster links the simulator's WFQ separates
the classes less, closer to FIFO. With k the DRR turn in mean packets (``io.gnnet.
DRR_QUANTUM_S`` of the link rate) the waits move toward FIFO's by (1 - (1.7 / k)^g) (1 - rho)
below port load 0.95 (an empirical form: at high load the classes stay backlogged across
turns and share by weight, so the step fades with 1 - rho, and FIFO's R / (1 - rho) times it
stays finite). Mean-delay MAPE NSFNET / GEANT2 even from 1.869 / 2.635 %: g = 0.1 / 0.2 /
0.3 / 0.5 1.855 / 1.846 / 1.842 / 1.844 % and 2.459 / 2.420 / 2.472 / 2.661 %; g = 0.2
without the (1 - rho) factor 1.876 / 6.26 % (a light class of heavy weight given FIFO's wait
near capacity); with it but past load 0.95 too 1.846 / 2.386 % (jitter through overloaded
ports 14.90 % against 14.58 %: not taken). Jitter (after the third-moment spread) 5.28 / 7.05
-> 5.31 / 7.52 %, through overloaded ports 11.63 / 14.30 -> 11.64 / 14.58 %.
The loss fixed point is damped (it swung between two states every other round: jitter MAPE 35 %
or 41 % by the parity of the round count).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from nettwin.engine.drr import (
    DRR_OTHERS_DRAIN,
    DRR_PACKETS_PER_TURN,
    conserved_split,
    saturated_polling,
)
from nettwin.engine.qna import link_spacing, network_arrival_variability, port_service_scv
from nettwin.engine.queueing import mm1k_admitted_wait_moments, mm1k_blocking_and_mean
from nettwin.engine.wfq import coarse_turns, virtual_clock_waiting, water_fill

OVERLOAD_SWITCH = 0.9
# the completion-time variance of a full queue's packets grows as 1 / free^3; a class left less
# than this share is starved by classes that are themselves losing, whose work is bounded by
# their buffers: chosen on NSFNET (GEANT2 held out), see "Delay variance" above
COMPLETION_FREE_FLOOR = 0.3
DAMP = 0.5  # of the loss fixed point


class Scheduler(enum.IntEnum):
    """Scheduling policy of an output port."""

    FIFO = 0
    SP = 1
    WFQ = 2
    DRR = 3


@dataclass(frozen=True)
class ClassQueues:
    """Outcome per port and class."""

    waiting_s: np.ndarray  # [ports, classes]
    waiting_var_s2: np.ndarray  # [ports, classes]
    loss: np.ndarray  # [ports, classes]
    utilisation: np.ndarray  # [ports], offered


def evaluate_class_queues(arrival_pps: np.ndarray, service_s: np.ndarray,
                          service_sq_s2: np.ndarray, scheduler: np.ndarray,
                          weights: np.ndarray, buffer_packets: np.ndarray,
                          carried_fraction: np.ndarray | None = None,
                          arrival_scv: np.ndarray | None = None,
                          drr_turn_packets: np.ndarray | None = None,
                          service_cube_s3: np.ndarray | None = None,
                          drr_saturated_turn_packets: np.ndarray | None = None) -> ClassQueues:
    """Waiting time and loss of every class queue of every port (all arrays [ports, classes]
    but ``scheduler`` [ports]); ``carried_fraction`` is 1 - loss from a previous round;
    ``arrival_scv`` [ports], the squared coefficient of variation of the arrivals (1:
    Poisson, the default), scales the waiting of queues that are not full (see
    ``arrival_variability``); ``drr_turn_packets`` [ports], the DRR quantum of the heaviest
    weight in mean packets (default ``DRR_PACKETS_PER_TURN``, a quantum of the largest
    packet; where given, WFQ's turn too); ``service_cube_s3`` [ports, classes], E[S^3], sets
    the spread of the waits (default: exponential sizes, E[S^3] = 6 E[S]^3, see "Delay
    variance"); ``drr_saturated_turn_packets`` [ports], the same quantum where a class is
    saturated, for the turns the others are polled between (default ``drr_turn_packets``)."""
    lam = np.asarray(arrival_pps, dtype=np.float64)
    x = np.asarray(service_s, dtype=np.float64)
    x2 = np.asarray(service_sq_s2, dtype=np.float64)
    sched = np.asarray(scheduler)
    rho = lam * x
    keep = carried_fraction if carried_fraction is not None else 1.0
    carried = rho * keep
    own = lam * keep * x2 / 2
    residual = own.sum(axis=1)[:, None]  # packets actually served
    phi = np.maximum(np.asarray(weights, dtype=np.float64), 1e-9)
    fifo_p = (sched == Scheduler.FIFO)[:, None]
    sp_p = (sched == Scheduler.SP)[:, None]
    wfq_p = (sched == Scheduler.WFQ)[:, None]
    # DRR (GPS view): load interfering with c while c is backlogged
    share = np.minimum(carried[:, None, :], rho[:, :, None] * phi[:, None, :] / phi[:, :, None])
    gps_load = share.sum(axis=2) - np.diagonal(share, axis1=1, axis2=2)
    # strict priority: the classes before c
    before = np.cumsum(carried, axis=1) - carried
    others = carried.sum(axis=1, keepdims=True) - carried  # FIFO: everyone else
    interfering = np.where(fifo_p, others, np.where(sp_p, before, gps_load))
    waiting_wfq = np.zeros_like(rho)
    if wfq_p.any():
        rows = np.nonzero(wfq_p[:, 0])[0]
        w, ahead = virtual_clock_waiting(rho[rows], carried[rows], x[rows], phi[rows],
                                          residual[rows], own[rows])
        waiting_wfq[rows] = w
        interfering[rows] = ahead
        if drr_turn_packets is not None:
            waiting_wfq[rows] = coarse_turns(
                w, carried[rows], residual[rows],
                np.asarray(drr_turn_packets, dtype=np.float64)[rows, None])
    drr_p = (sched == Scheduler.DRR)[:, None]
    vacation = np.zeros_like(rho)  # waiting that the arrivals' variability does not scale
    polled = np.zeros(rho.shape, dtype=bool)
    if drr_p.any():  # past capacity, GPS rates: a saturated class is served at its share
        gps_share, saturated = water_fill(rho, phi, np.broadcast_to(drr_p, rho.shape),
                                          np.ones(rho.shape[0]))
        interfering = np.where(saturated, 1.0 - gps_share, interfering)
    interfering = np.minimum(interfering, 0.999)
    free = 1.0 - interfering
    with np.errstate(divide="ignore", invalid="ignore"):
        cobham = residual / (free * np.maximum(free - rho, 1e-3))
        gps = (own / free + (residual - own) / free ** DRR_OTHERS_DRAIN) / np.maximum(
            free - rho, 1e-3)
        fifo = residual / np.maximum(1.0 - carried.sum(axis=1, keepdims=True) + carried - rho,
                                     1e-3)
    if drr_p.any():
        turn = np.full(rho.shape[0], DRR_PACKETS_PER_TURN) if drr_turn_packets is None else \
            np.asarray(drr_turn_packets, dtype=np.float64)
        gps = conserved_split(gps, carried, phi, residual, saturated, turn[:, None])
        # the others at a port with a saturated class: a polling queue with vacations
        sat_turn = turn if drr_saturated_turn_packets is None else np.asarray(
            drr_saturated_turn_packets, dtype=np.float64)
        polled_w, vacation, polled_var, polled, polled_share = saturated_polling(
            lam * keep, x, x2, carried, phi, saturated, sat_turn[:, None])
        polled &= drr_p
        gps = np.where(polled, polled_w, gps)
        vacation = np.where(polled, vacation, 0.0)
    waiting = np.where(fifo_p, fifo, np.where(sp_p, cobham, np.where(wfq_p, waiting_wfq, gps)))
    if drr_p.any():  # a polled class's capacity is its turn's share of its round
        free = np.where(polled, np.clip(polled_share, 1e-3, 1.0), free)
    rho_eff = rho / free
    # an arrival waits when the server is busy, whatever the class (non-preemptive)
    load = np.clip(np.broadcast_to(carried.sum(axis=1, keepdims=True), rho.shape), 1e-6, 0.999)
    variance = waiting ** 2 * (1.0 + 4.0 / 3.0 * _size_skew(lam, x, x2, service_cube_s3)
                               * (1.0 - load) / load)
    if drr_p.any():
        variance = np.where(polled, polled_var, variance)
    blocking, mean_n = mm1k_blocking_and_mean(rho_eff, np.asarray(buffer_packets) + 1.0)
    admitted = lam * (1.0 - blocking)
    service_left = x / free
    with np.errstate(divide="ignore", invalid="ignore"):
        finite = np.where(admitted > 0, mean_n / admitted - service_left, 0.0)
    full = rho_eff >= OVERLOAD_SWITCH
    # jitter of a full queue: the admitted packets' wait in the same M/M/1/K, in services
    ahead_n, ahead_var = mm1k_admitted_wait_moments(rho_eff, np.asarray(buffer_packets) + 1.0)
    # a packet's service on the capacity left to it is its own transmission stretched by the
    # interfering classes' work that arrives meanwhile (completion time: variance
    # Var S / free^2 + E[S] I E[S_I^2] / E[S_I] / free^3, S_I the port's packets)
    with np.errstate(divide="ignore", invalid="ignore"):
        work = (lam * x).sum(axis=1, keepdims=True)
        m2_m1 = np.where(work > 0, (lam * x2).sum(axis=1, keepdims=True) / work, 0.0)
    service_var = (np.maximum(x2 - x * x, 0.0) / free ** 2
                   + x * interfering * m2_m1 / np.maximum(free, COMPLETION_FREE_FLOOR) ** 3)
    if fifo_p.any():  # one shared order: the port's whole load is one M/M/1/K
        total = rho.sum(axis=1, keepdims=True)
        n_all = lam.sum(axis=1, keepdims=True)
        mean_x = (lam * x).sum(axis=1, keepdims=True) / np.maximum(n_all, 1e-300)
        k_port = np.max(np.broadcast_to(np.asarray(buffer_packets, dtype=np.float64),
                                        rho.shape), axis=1, keepdims=True) + 1.0
        b_all, n_sys = mm1k_blocking_and_mean(total, k_port)
        with np.errstate(divide="ignore", invalid="ignore"):
            shared = np.where(n_all > 0, n_sys / (n_all * (1.0 - b_all)) - mean_x, 0.0)
        blocking = np.where(fifo_p, b_all, blocking)
        finite = np.where(fifo_p, shared, finite)
        service_left = np.where(fifo_p, mean_x, service_left)
        full = np.where(fifo_p, total >= OVERLOAD_SWITCH, full)
        port_n, port_var = mm1k_admitted_wait_moments(total, k_port)
        ahead_n = np.where(fifo_p, port_n, ahead_n)
        ahead_var = np.where(fifo_p, port_var, ahead_var)
        service_var = np.where(fifo_p, port_service_scv(lam, x, x2)[:, None] * mean_x ** 2,
                               service_var)
    if arrival_scv is not None:
        service_scv = port_service_scv(lam, x, x2)
        scale = (np.asarray(arrival_scv) + service_scv) / (1.0 + service_scv)
        # a port that a full class keeps busy: an arrival finds a packet in service however
        # smooth the arrivals, so the residual R stays whole (as DRR's time away does)
        busy = full.any(axis=1, keepdims=True) & ~full & ~polled
        unscaled = np.where(busy, np.minimum(residual, waiting), vacation)
        waiting = (waiting - unscaled) * scale[:, None] + unscaled
    waiting = np.where(full, np.maximum(finite, 0.0), waiting)
    # W = the services of the N_a packets found: E[N_a] Var S + Var N_a E[S]^2 (ahead_var is
    # E[N_a] + Var N_a, the exponential service's)
    full_var = ahead_n * service_var + (ahead_var - ahead_n) * service_left ** 2
    variance = np.where(full, full_var, variance)
    waiting = np.where(lam > 0, waiting, 0.0)
    variance = np.where(lam > 0, variance, 0.0)
    return ClassQueues(waiting, variance, np.where(lam > 0, blocking, 0.0), rho.sum(axis=1))


def _size_skew(lam: np.ndarray, x: np.ndarray, x2: np.ndarray, x3: np.ndarray | None
               ) -> np.ndarray:
    """E[S^3] E[S] / E[S^2]^2 of all a port's packets [ports, 1]: Takacs's M/G/1 waiting has
    Var W = W^2 (1 + 4/3 this (1 - r) / r); 3/2 for exponential sizes (without ``x3``), which
    gives W^2 (2 - r) / r."""
    if x3 is None:
        return np.full((lam.shape[0], 1), 1.5)
    m1 = (lam * x).sum(axis=1, keepdims=True)
    m2 = (lam * x2).sum(axis=1, keepdims=True)
    m3 = (lam * np.asarray(x3, dtype=np.float64)).sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = np.where(m2 > 0, m3 * m1 / np.maximum(m2 * m2, 1e-300), 1.5)
    return out


@dataclass(frozen=True, eq=False)
class PathDemands:
    """Demands pinned to explicit paths (segment routing, static routes, simulator routing)."""

    path_ptr: np.ndarray  # arcs of demand d: path_arc[path_ptr[d]:path_ptr[d+1]]
    path_arc: np.ndarray
    traffic_class: np.ndarray  # [demands]
    packets_per_s: np.ndarray  # [demands]
    size_mean_bits: np.ndarray  # [demands]
    size_second_moment_bits2: np.ndarray  # [demands]
    # [demands], E[L^3]: the spread of the waits (None: exponential sizes, E[L^3] = 6 E[L]^3)
    size_third_moment_bits3: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class PathResult:
    delay_s: np.ndarray  # mean delay of delivered packets, per demand
    delay_var_s2: np.ndarray  # variance of the delay (jitter), per demand
    loss: np.ndarray  # per demand
    queues: ClassQueues


def path_reach(ptr: np.ndarray, passed: np.ndarray) -> np.ndarray:
    """Share of a path's traffic that reaches each of its arcs: ``passed`` per arc in path
    order, paths laid end to end as ``ptr`` says (path i: ``ptr[i]:ptr[i+1]``)."""
    keep = np.log(np.maximum(passed, 1e-300))
    cum = np.cumsum(keep)
    start = np.repeat(cum[ptr[:-1]] - keep[ptr[:-1]], np.diff(ptr))
    out: np.ndarray = np.exp(cum - keep - start)
    return out


def path_follows(ptr: np.ndarray) -> np.ndarray:
    """Per arc of paths laid end to end (``ptr``): whether an arc of the same path comes
    before it — the arc pairs ``(arc[i - 1], arc[i])`` a path's traffic turns through."""
    follows = np.ones(int(ptr[-1]), bool)
    follows[ptr[:-1][ptr[:-1] < ptr[-1]]] = False
    return follows


def path_totals(owner: np.ndarray, paths: int, hop_delay_s: np.ndarray,
                hop_var_s2: np.ndarray, hop_passed: np.ndarray,
                hop_common_sd_s: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per path (``owner`` of each hop): delay and its variance summed over the hops, hops
    taken as independent, and the share lost on the way. ``hop_common_sd_s``: the standard
    deviation of a part of each hop's delay that is one random quantity scaled per hop (a
    packet's own transmission time, L / C_i: the same L at every hop), fully correlated
    along the path: its variance is (sum of the sds)^2, not the sum of the variances."""
    delay = np.bincount(owner, weights=hop_delay_s, minlength=paths)
    variance = np.bincount(owner, weights=hop_var_s2, minlength=paths)
    if hop_common_sd_s is not None:
        variance = variance + np.bincount(owner, weights=hop_common_sd_s, minlength=paths) ** 2
    survive = np.exp(np.bincount(owner, weights=np.log(np.maximum(hop_passed, 1e-300)),
                                 minlength=paths))
    return delay, variance, 1.0 - survive


def simulate_paths(demands: PathDemands, capacity_bps: np.ndarray, scheduler: np.ndarray,
                   weights: np.ndarray, buffer_packets: np.ndarray, *, rounds: int = 20,
                   smooth_arrivals: bool = True, drr_quantum_bits: np.ndarray | None = None,
                   drr_saturated_quantum_bits: np.ndarray | None = None) -> PathResult:
    """Per-class loads, waiting and loss on every port, then per-demand delay and loss
    (``smooth_arrivals=False``: every port's arrivals taken as Poisson; ``drr_quantum_bits``
    [ports], the DRR quantum of the heaviest weight, by default one largest packet;
    ``drr_saturated_quantum_bits`` [ports], that quantum where a class is saturated, by
    default the same)."""
    n_arcs, classes = weights.shape
    lengths = np.diff(demands.path_ptr)
    owner = np.repeat(np.arange(lengths.size), lengths)
    arcs = demands.path_arc
    cls = demands.traffic_class[owner]
    pps = demands.packets_per_s[owner]
    cap = np.asarray(capacity_bps, dtype=np.float64)
    # per-port, per-class size moments: traffic-weighted over the demands in the class
    bits = np.zeros((n_arcs, classes))
    bits2 = np.zeros((n_arcs, classes))
    count = np.zeros((n_arcs, classes))
    np.add.at(count, (arcs, cls), pps)
    np.add.at(bits, (arcs, cls), pps * demands.size_mean_bits[owner])
    np.add.at(bits2, (arcs, cls), pps * demands.size_second_moment_bits2[owner])
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, bits / count, 0.0)
        second = np.where(count > 0, bits2 / count, 0.0)
    x = mean / cap[:, None]
    x2 = second / cap[:, None] ** 2
    x3 = None
    if demands.size_third_moment_bits3 is not None:
        bits3 = np.zeros((n_arcs, classes))
        np.add.at(bits3, (arcs, cls), pps * demands.size_third_moment_bits3[owner])
        with np.errstate(divide="ignore", invalid="ignore"):
            x3 = np.where(count > 0, bits3 / count, 0.0) / cap[:, None] ** 3
    with np.errstate(divide="ignore", invalid="ignore"):  # quanta in the port's mean packets
        port_bits = np.where(count.sum(axis=1) > 0, bits.sum(axis=1) / count.sum(axis=1),
                             np.inf)
    turn, sat_turn = (None if q is None else np.asarray(q, dtype=np.float64) / port_bits
                      for q in (drr_quantum_bits, drr_saturated_quantum_bits))
    reach = np.ones(arcs.size)  # share of a demand's packets that reach each hop
    carried = np.ones((n_arcs, classes))
    queues = None
    for r in range(max(1, rounds)):
        lam = np.zeros((n_arcs, classes))
        np.add.at(lam, (arcs, cls), pps * reach)
        queues = evaluate_class_queues(lam, x, x2, scheduler, weights, buffer_packets, carried,
                                       drr_turn_packets=turn, service_cube_s3=x3,
                                       drr_saturated_turn_packets=sat_turn)
        # damped: a class that stops losing frees capacity that makes another lose, and back
        before = carried
        carried = 1.0 - queues.loss if r == 0 else DAMP * carried + (1.0 - DAMP) * (
            1.0 - queues.loss)
        if r > 0 and np.abs(carried - before).max() < 1e-9:
            break
        reach = path_reach(demands.path_ptr, carried[arcs, cls])
    assert queues is not None
    scv = None
    if smooth_arrivals:  # arrivals smoothed by the ports before: evaluated once more
        step = np.nonzero(path_follows(demands.path_ptr))[0]
        pair, inverse = np.unique(arcs[step - 1] * n_arcs + arcs[step], return_inverse=True)
        port_pps = np.bincount(arcs, weights=pps * reach, minlength=n_arcs)
        scv = network_arrival_variability(
            port_pps, (lam * x).sum(axis=1), port_service_scv(lam, x, x2), pair // n_arcs,
            pair % n_arcs, np.bincount(inverse, weights=(pps * reach)[step]),
            stream_spacing=link_spacing(cap[pair // n_arcs], cap[pair % n_arcs]))
    queues = evaluate_class_queues(lam, x, x2, scheduler, weights, buffer_packets, carried,
                                   scv, turn, x3, sat_turn)
    own_var = np.maximum(demands.size_second_moment_bits2[owner]
                         - demands.size_mean_bits[owner] ** 2, 0.0) / cap[arcs] ** 2
    delay, variance, loss = path_totals(
        owner, lengths.size, queues.waiting_s[arcs, cls] + demands.size_mean_bits[owner]
        / cap[arcs], queues.waiting_var_s2[arcs, cls], 1.0 - queues.loss[arcs, cls],
        np.sqrt(own_var))
    return PathResult(delay, variance, loss, queues)
